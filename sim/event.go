package sim

// evKind says what an event means to the model.
type evKind uint8

const (
	evArrival      evKind = iota // an open-loop load issues a request (idx: load)
	evUserWake                   // a closed-loop user issues a request (idx: load, gen: user)
	evGatewayIn                  // a client request reaches the gateway (ex)
	evArrive                     // an attempt reaches its replica (att)
	evServiceDone                // a replica finished its own work on att (gen)
	evContinue                   // a paused replica resumes att after its calls (gen)
	evResponse                   // an attempt's answer reaches its proxy (att)
	evAttTimer                   // a per-try timer list is due (idx: list)
	evExTimer                    // a request-timeout timer list is due (idx: list)
	evWake                       // a lifecycle's Wait is due: a retry's back-off or a hedge's delay (ex, gen)
	evFaultStart                 // a fault begins (idx: fault)
	evFaultEnd                   // a fault ends (idx: fault)
	evResume                     // a paused replica may resume (idx: replica)
	evSweep                      // outlier detection's interval (idx: cluster)
	evHealthCheck                // an active health check is sent (idx: cluster, gen: endpoint)
	evHealthPass                 // a health check answered (idx: cluster, gen: endpoint)
	evHealthFail                 // a health check failed (idx: cluster, gen: endpoint)
	evRegList                    // the gateway lists the registry (discovery.go)
	evFaultHold                  // the gateway's fault filter releases a delayed request (ex, gen)
	evIntrospected               // the authorization server answers a request's introspection (ex, gen)
	evCPU                        // the host's next CPU job completes (gen: the host's schedule)
	evTest                       // tests: calls model.testEvent (idx)
	evCacheHit                   // the gateway's cache answer leaves it, after its calibrated cost (ex, gen)
	evHostMark                   // the measured window begins (gen 0) or ends (gen 1): the host's busy time is read
)

// event is the engine's payload: 24 bytes, one pointer, no closures, so
// scheduling allocates nothing and the queue moves little memory. Attempts
// are named by pointer, everything else by index (exchanges by their
// permanent id in the model's table). gen guards against events that
// outlive the object they name: pooled objects bump their generation when
// recycled or when the work an event belongs to is abandoned.
type event struct {
	att  *attempt
	gen  uint32
	idx  int32
	kind evKind
}

// Package local is meshbench's local backend: a scenario plan run for real
// on this machine, on loopback only. Each run (one variant, one repeat)
// starts the payment fleet in process, puts the real proxy in front of it
// as gateway and mesh, offers the load with vegeta (package bench/load),
// injects the faults for real, audits the ledger, and stops everything it
// started. Runs share the machine, so they run one at a time.
//
// # The fleet
//
// Every replica of every service is a bench/fleet Service (an M/G/c/K
// station: concurrency workers, a FIFO queue of queue places answering 503
// queue_full beyond it, serviceTime per request, errorRate answered 500)
// served on its own 127.0.0.1 port, named "service[i]" in
// X-Meshbench-Instance. Services are mapped onto the fleet's roles by
// name:
//
//	payments   role payments, when risk, fraud and ledger exist to call;
//	           its calls are the fleet's payment flow (risk ‖ fraud, then
//	           ledger), whatever the scenario's calls list; its lookups
//	           (GET /v1/payments/{id}: the ledger only) take the service
//	           time of the scenario's operation that matches them, if any
//	risk       role risk (no calls)
//	fraud      role fraud (no calls)
//	ledger     role ledger (no calls), one bbolt file per replica
//	any other  generic: a risk worker (service time, queue, errors, faults)
//	           that answers any path, then makes the scenario's calls stage
//	           by stage; it does not hold its worker while calls are out,
//	           and it cannot call the ledger
//
// The ledger is sharded: a ledger replica's idempotency covers its own
// file, so the callers' proxies hash the payment's id (X-Payment-Id, a
// function of its Idempotency-Key; maglev) to pick the ledger replica,
// whatever the variant's balancer, and a lookup of a payment by id
// reaches the replica that recorded it. The audit reads every
// ledger replica and checks the acknowledged payments against all of them.
// Ledger files are written without fsync (the disk is not what is
// measured) in a temporary folder removed after the run.
//
// # The data plane
//
// The gateway is the proxy (package proxy) in gateway mode: one route per
// scenario route, in order, to one cluster per routed service. Callers in
// the mesh get their own proxy in sidecar mode, one per replica, with one
// cluster per callee: with mesh sidecar it listens on loopback and the
// replica calls http://127.0.0.1:PORT/<service>/...; with mesh proxyless it
// is linked into the replica, which calls it as its http.RoundTripper (the
// proxy exposes an http.Handler, which handlerTransport serves in the
// caller's goroutine). A variant's policy maps onto the proxy as the
// simulator reads it (sim/plan.go):
//
//	balancer            cluster balancer (type, choices, decayTime, ring and
//	                    table sizes, slowStart, locality with the caller's
//	                    zone as local zone); hash balancers without a
//	                    hashKey hash the load's key (X-Meshbench-Key)
//	timeouts.connect    cluster connectTimeout
//	timeouts.request    route / outbound timeout (0: none); a route's own
//	                    timeout wins at the gateway
//	timeouts.perTry,    retry.perTryTimeout (also without retries)
//	retries.perTryTimeout
//	retries             retry attempts, retryOn, retriableStatusCodes,
//	                    backoff; no budget block means no budget (the proxy
//	                    would otherwise apply Linkerd's)
//	retries.budget      retry.budget
//	retries.hedging     hedge delay, or percentile (×100) with a 50ms delay
//	                    until enough samples; gateway only, as in the sim
//	circuitBreaker      cluster circuitBreaker and Envoy thresholds; without
//	                    it the thresholds are unbounded (the sim has none)
//	outlierDetection    cluster outlier: 0 turns a detector off, successRate
//	                    and failurePercentage on only when present,
//	                    consecutiveGatewayFailure enforced when set
//	healthCheck         cluster healthCheck, gateway only, startHealthy
//	rateLimit           gateway only: global and per-client (client_ip,
//	                    api_key, jwt_sub, keyed by X-Meshbench-Client) are
//	                    one limiter before routing; route is one limiter per
//	                    route; concurrency and adaptive_concurrency are the
//	                    gateway clusters' concurrency limiter
//	route auth          presence checks as the simulator's (an API key in
//	                    its header, listed when keys are listed; a bearer
//	                    token): 401
//	route rateLimit     the route's own limiter
//	security.mtls       a CA made for the run (proxy/mtls) gives the gateway
//	                    and every replica (shared with its sidecar) a SPIFFE
//	                    ID; the replicas listen in the mode (STRICT,
//	                    PERMISSIVE), the gateway's and sidecars' clusters
//	                    are https with mutual TLS; every certificate is
//	                    renewed every rotateEvery, after which the proxies
//	                    close their idle upstream connections (mtls.go)
//
// The gateway's cluster transports count each request's tries by its
// X-Request-Id, so Results carry the gateway's retries and hedges.
//
// # The network and the faults
//
// Loopback is the network unless the plan needs more: a partition, a
// latency fault, a hop whose mean latency is a millisecond or more, or a
// hop with loss. Then every hop from a caller (the gateway, a replica's
// data plane) to a replica goes through its own toxiproxy
// (github.com/Shopify/toxiproxy/v2, in process, on loopback), each
// direction ending in a delay toxic of this package that draws the hop's
// latency from the scenario's distribution and loses each message (a
// request on the way in, an answer on the way back) with the hop's loss
// probability, as the simulator does: the connection then holds on to the
// lost message and everything after it until the caller's timeout.
// Faults run on the plan's timeline (see timeline): kill crashes replicas
// (requests reset, new connections refused, the hops into them closed),
// restart brings them back on the same port and ledger file, pause hangs
// them (the fleet's hang fault), slow and errors set the fleet's fault,
// latency adds a delay toxic on the hops into the target, and partition
// cuts hops with toxiproxy's timeout toxic.
//
// # Not modelled
//
// The client-to-gateway hop's latency (and loss, which the simulator does
// not model either); per-hop latency below
// a millisecond (loopback and the proxies cost about that); inbound
// sidecars; JWT signatures and claims; a per-route rate limit of a
// concurrency type.
//
// Clients send payments without Idempotency-Key when the workload's target
// says idempotencyKeys: false (per variant, through a variant's load
// override); payments then accepts requests without a key and gives each
// a fresh one, so a retry is a second charge, which the audit counts.
package local

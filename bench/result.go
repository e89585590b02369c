// Package bench executes scenario plans and measures them: the common Result
// record every backend emits, the streaming aggregation that turns a stream of
// results into summary.json, SLO evaluation, and the backend registry that the
// CLI's run command dispatches to.
//
// Nothing downstream of a backend knows which backend produced a Result: the
// simulator (virtual time) and the real backends (wall time) emit the same
// record, and the same Aggregator reduces it.
package bench

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// Kind classifies how a request ended. KindOK is a success; every other kind is
// an error and is counted under its name in summary.json's errors map.
type Kind uint8

// The kinds of request outcome. Their String names are part of summary v1 and
// must not change meaning.
const (
	KindOK          Kind = iota // a 2xx/3xx answer, or a business answer such as 402 (payment declined)
	KindTimeout                 // no answer before the deadline (per-try or overall)
	KindReset                   // the connection was reset or closed mid-request
	KindRefused                 // the connection was refused (nothing listening)
	KindStatus5xx               // an upstream or the proxy answered 5xx (other than the kinds below)
	KindStatus429               // a rate limiter rejected the request
	KindStatus4xx               // a 4xx answer other than 402 and 429: a malformed or unauthorised request
	KindBreakerOpen             // a circuit breaker or admission threshold rejected the request (503)
	KindNoEndpoint              // no healthy endpoint was available (503)
	KindQueueFull               // a replica's bounded queue overflowed (503)
	KindOther                   // any other transport error
	numKinds
)

var kindNames = [numKinds]string{
	KindOK:          "ok",
	KindTimeout:     "timeout",
	KindReset:       "reset",
	KindRefused:     "refused",
	KindStatus5xx:   "status_5xx",
	KindStatus429:   "status_429",
	KindStatus4xx:   "status_4xx",
	KindBreakerOpen: "breaker_open",
	KindNoEndpoint:  "no_endpoint",
	KindQueueFull:   "queue_full",
	KindOther:       "other",
}

// String returns the kind's name as used in summary.json.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown result kind %q", s)
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// KindFromStatus classifies an HTTP status code. A payment declined (402) is a
// valid answer of a working system, so it counts as success; 429 is a rate
// limit; other 4xx mean the request itself was refused; 5xx are failures.
func KindFromStatus(status int) Kind {
	switch {
	case status >= 200 && status < 400, status == 402:
		return KindOK
	case status == 429:
		return KindStatus429
	case status >= 400 && status < 500:
		return KindStatus4xx
	default:
		return KindStatus5xx
	}
}

// KindOf classifies an answer by the reason the proxy or the fleet gave
// for it (X-Meshbench-Reason), where it has one, and otherwise by its
// status. The simulator files its proxies' answers with it and the real
// backends file what their clients receive, so both name an outcome alike:
//
//	circuit_open, overflow, concurrency_limited   breaker_open
//	no_healthy_upstream                           no_endpoint
//	queue_full                                    queue_full
//	upstream_reset                                reset
//	upstream_connect_failure                      refused
//	upstream_connect_timeout, upstream_timeout,
//	request_timeout, and any other 504            timeout
//	rate_limited, consumer_rate_limited           status_429
func KindOf(status int, reason string) Kind {
	switch reason {
	case lifecycle.CircuitOpen, lifecycle.OverflowReason, lifecycle.ConcurrencyLimited:
		return KindBreakerOpen
	case lifecycle.NoHealthyUpstream:
		return KindNoEndpoint
	case "queue_full":
		return KindQueueFull
	case lifecycle.UpstreamReset:
		return KindReset
	case lifecycle.ConnectFailure:
		return KindRefused
	case lifecycle.ConnectTimeoutReason, lifecycle.UpstreamTimeout, lifecycle.RequestTimeout:
		return KindTimeout
	case lifecycle.RateLimited, lifecycle.ConsumerRateLimited:
		return KindStatus429
	}
	if status == 504 {
		return KindTimeout
	}
	return KindFromStatus(status)
}

// Result is the outcome of one client request, end to end, as the load
// generator saw it. Every backend emits exactly one Result per request, with
// the same meaning:
//
//   - Start is when the request was issued, measured from the start of the run
//     (virtual time in the simulator, wall time on real backends). For an
//     open-loop request (Scheduled) it is the intended send time, the time
//     its arrival process scheduled it for, whether or not the load
//     generator managed to send it then.
//   - Latency is from Start to the final answer or error, retries and hedges
//     included: for an open-loop request, from the intended send time, so a
//     load generator that falls behind its schedule adds its delay to the
//     latency instead of hiding it (coordinated omission).
//   - Instance names the replica of the entry service that produced the final
//     answer ("payments[2]"); empty when none did (rejected at the gateway, no
//     endpoint, refused).
//   - Workload names the scenario workload that sent the request, and Route
//     the gateway route its target matches (bench.RouteOf: computed from the
//     scenario on the client side, the same on every backend; "" when none
//     does).
//   - Scheduled is true for an open-loop request, one sent by an arrival
//     process; Lag is then how late it was actually sent (actual − intended
//     send time; in the simulator 0, or the calibration profile's lag). A closed-loop request (users)
//     has no schedule: Scheduled false, Lag 0.
type Result struct {
	Start     time.Duration
	Latency   time.Duration
	Lag       time.Duration // open loop: actual − intended send time
	Status    int           // final HTTP status; 0 when no response arrived
	Kind      Kind          // KindOK on success
	Instance  string        // replica of the entry service that answered, or ""
	Workload  string        // the workload that sent the request
	Route     string        // the gateway route the request matched, or ""
	Retries   uint16        // retry attempts made by the gateway for this request
	Hedges    uint16        // hedged attempts made by the gateway for this request
	Scheduled bool          // an open-loop request: Start is its intended send time
}

// OK reports whether the request succeeded.
func (r Result) OK() bool { return r.Kind == KindOK }

// Sink consumes a stream of results. The Aggregator is the sink every backend
// feeds; Record is called from one goroutine at a time.
type Sink interface {
	Record(r Result)
}

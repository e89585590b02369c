package sim

import (
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// outcome is how an attempt, or a whole exchange, ended: an HTTP status or a
// transport failure, and the bench.Kind a client would file it under. For a
// transport failure status is what the proxy answers downstream when it
// gives up (lifecycle's answers: 502 for a reset, 503 for a refused
// connect, 504 for a timeout or a connect timeout).
type outcome struct {
	status int32
	fail   lifecycle.Failure
	kind   bench.Kind
}

// The outcomes a replica, the network or a host produce. A transport
// failure's status is the one the proxy answers with when it is the last.
var (
	outcomeOK        = outcome{status: 200, kind: bench.KindOK}
	outcomeTimeout   = outcome{status: 504, fail: lifecycle.Timeout, kind: bench.KindTimeout}
	outcomeReset     = outcome{status: 502, fail: lifecycle.Reset, kind: bench.KindReset}
	outcomeRefused   = outcome{status: 503, fail: lifecycle.Refused, kind: bench.KindRefused}
	outcomeConnectTO = outcome{status: 504, fail: lifecycle.ConnectTimeout, kind: bench.KindTimeout}
	outcomeQueueFull = outcome{status: 503, kind: bench.KindQueueFull}
	outcomeNoRoute   = outcome{status: 404, kind: bench.KindStatus4xx}
	outcomeUnauth    = outcome{status: 401, kind: bench.KindStatus4xx}
)

// statusOutcome is an HTTP answer with the given status.
func statusOutcome(status int) outcome {
	return outcome{status: int32(status), kind: bench.KindFromStatus(status)}
}

// respondOutcome is the proxy's own answer, filed by its reason as the
// real backends file it.
func respondOutcome(a *lifecycle.Action) outcome {
	return outcome{status: int32(a.Status), fail: a.Failure, kind: bench.KindOf(a.Status, a.Reason)}
}

// failed reports whether the outcome counts against the upstream: a 5xx or
// no response at all. 4xx answers are the client's problem, as Envoy's
// outlier detection and circuit breakers see it.
func (o outcome) failed() bool { return o.fail != lifecycle.NoFailure || o.status >= 500 }

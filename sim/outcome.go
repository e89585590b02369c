package sim

import (
	"errors"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/retry"
)

// outcome is how an attempt, or a whole exchange, ended: an HTTP status or a
// transport failure, and the bench.Kind a client would file it under. For a
// transport failure status is what the proxy answers downstream when it
// gives up (Envoy: 503 for a reset or connect failure, 504 for a timeout).
type outcome struct {
	status int32
	err    retry.Kind
	kind   bench.Kind
}

var (
	outcomeOK           = outcome{status: 200, kind: bench.KindOK}
	outcomeTimeout      = outcome{status: 504, err: retry.Timeout, kind: bench.KindTimeout}
	outcomeReset        = outcome{status: 503, err: retry.Reset, kind: bench.KindReset}
	outcomeRefused      = outcome{status: 503, err: retry.ConnectFailure, kind: bench.KindRefused}
	outcomeConnectTO    = outcome{status: 503, err: retry.ConnectFailure, kind: bench.KindTimeout}
	outcomeQueueFull    = outcome{status: 503, kind: bench.KindQueueFull}
	outcomeBreaker      = outcome{status: 503, kind: bench.KindBreakerOpen}
	outcomeNoEndpoint   = outcome{status: 503, kind: bench.KindNoEndpoint}
	outcomeLimited      = outcome{status: 429, kind: bench.KindStatus429}
	outcomeNoRoute      = outcome{status: 404, kind: bench.KindStatus4xx}
	outcomeUnauthorised = outcome{status: 401, kind: bench.KindStatus4xx}
)

// statusOutcome is an HTTP answer with the given status.
func statusOutcome(status int) outcome {
	return outcome{status: int32(status), kind: bench.KindFromStatus(status)}
}

// failed reports whether the outcome counts against the upstream: a 5xx or
// no response at all. 4xx answers are the client's problem, as Envoy's
// outlier detection and circuit breakers see it.
func (o outcome) failed() bool { return o.err != retry.None || o.status >= 500 }

func (o outcome) retryOutcome() retry.Outcome {
	return retry.Outcome{Status: int(o.status), Err: o.err}
}

// Errors handed to balancer Pick.Done; the balancers ignore them today, but
// they are what the proxy passes too.
var (
	errAttemptFailed    = errors.New("sim: attempt failed")
	errAttemptCancelled = errors.New("sim: attempt cancelled")
)

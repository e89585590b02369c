package lifecycle

import (
	"strconv"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/retry"
)

// ActionKind says what an Action asks the caller to do.
type ActionKind uint8

const (
	// None is the zero Action's kind; Actions never returns it.
	None ActionKind = iota
	// Send: start try Try on Endpoint; its answer's head is due within
	// Timeout (zero: no limit).
	Send
	// Wait: call Wake after Timeout. A later Wait replaces an earlier one.
	Wait
	// Cancel: stop try Try and drop what it brought (drain or close its
	// connection). Its outcome has been accounted for.
	Cancel
	// Forward: answer the client with try Try's answer and report the end
	// of its body with Ended.
	Forward
	// Respond: answer the client with Status and Reason; no try's answer
	// is used.
	Respond
)

var actionNames = [...]string{None: "none", Send: "send", Wait: "wait", Cancel: "cancel", Forward: "forward", Respond: "respond"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return "ActionKind(" + strconv.Itoa(int(k)) + ")"
}

// Action is one thing the caller is to do, from Request.Actions.
type Action struct {
	Kind ActionKind
	// PerTry says Send's Timeout is the per-try timeout rather than what
	// is left of the request's own deadline.
	PerTry bool
	// Retry and Hedge say why Send sends: a retry after a failed round, or
	// a hedged copy within one.
	Retry, Hedge bool
	// Failure is what the last try ended with when Respond answers for it;
	// NoFailure for refusals.
	Failure Failure
	// Try is the try Send starts, Cancel stops or Forward answers with;
	// tries are numbered from 1 in the order they are sent.
	Try int
	// Status and Reason are Respond's answer: a refusal (429, 503), the
	// failure of the last try (502, 503, 504), or 499 client_closed when
	// the client left before an answer (nothing is to be written then).
	Status int
	Reason string
	// Endpoint is where Send sends the try. It is the balancer's own copy:
	// read it, do not change it.
	Endpoint *balancer.Endpoint
	// Timeout is, for Send, how long the try may wait for its answer's
	// head (zero: no limit) and, for Wait, when to call Wake; both count
	// from the time of the call that produced the action.
	Timeout time.Duration
	// RetryAfter is when a rate-limited client may try again (429).
	RetryAfter time.Duration
}

// Failure is how a try ended without an answer, as its caller saw it.
type Failure uint8

const (
	// NoFailure: the try answered.
	NoFailure Failure = iota
	// Timeout: no answer head by the try's deadline. Whether it was the
	// per-try timeout or the request's deadline the Request tells by the
	// time of the report.
	Timeout
	// Reset: the connection broke, or was closed, before an answer.
	Reset
	// Refused: no connection could be made (refused, unreachable).
	Refused
	// ConnectTimeout: the connect timeout passed first.
	ConnectTimeout
	// Overflow: refused locally by the connection thresholds
	// (max_connections with max_pending full). It ends the request with
	// 503 overflow and blames nobody.
	Overflow
	// BadBody: reading the client's body failed. It ends the request with
	// 400 and blames nobody upstream.
	BadBody
	// BodyTooLarge: the client's body passed the proxy's limit: 413.
	BodyTooLarge
)

var failureNames = [...]string{
	NoFailure: "none", Timeout: "timeout", Reset: "reset", Refused: "refused",
	ConnectTimeout: "connect_timeout", Overflow: "overflow", BadBody: "bad_body", BodyTooLarge: "body_too_large",
}

func (f Failure) String() string {
	if int(f) < len(failureNames) {
		return failureNames[f]
	}
	return "Failure(" + strconv.Itoa(int(f)) + ")"
}

// retryKind is the failure as the retry policy judges it.
func (f Failure) retryKind() retry.Kind {
	switch f {
	case Timeout:
		return retry.Timeout
	case Reset:
		return retry.Reset
	case Refused, ConnectTimeout:
		return retry.ConnectFailure
	}
	return retry.None
}

// answer is the status and reason the proxy answers with when the last try
// failed so.
func (f Failure) answer() (int, string) {
	switch f {
	case Timeout:
		return 504, UpstreamTimeout
	case Reset:
		return 502, UpstreamReset
	case Refused:
		return 503, ConnectFailure
	case ConnectTimeout:
		return 504, ConnectTimeoutReason
	case Overflow:
		return 503, OverflowReason
	case BadBody:
		return 400, BadRequest
	case BodyTooLarge:
		return 413, BodyTooLargeReason
	}
	return 502, UpstreamReset
}

// fatal reports whether the failure ends the request whatever the retry
// policy says: a local refusal or the client's own fault.
func (f Failure) fatal() bool { return f == Overflow || f == BadBody || f == BodyTooLarge }

// Reasons the lifecycle answers with, sent in X-Meshbench-Reason by the
// proxy and filed by the simulator under the same result kinds. They play
// the role of Envoy's response flags.
const (
	RateLimited          = "rate_limited"             // 429: a route limiter
	ConsumerRateLimited  = "consumer_rate_limited"    // 429: a per-consumer limiter
	ConcurrencyLimited   = "concurrency_limited"      // 503: the cluster's concurrency limiter
	OverflowReason       = "overflow"                 // 503: an Envoy threshold is full
	CircuitOpen          = "circuit_open"             // 503: the outcome breaker is open
	NoHealthyUpstream    = "no_healthy_upstream"      // 503: no endpoint is available
	UpstreamReset        = "upstream_reset"           // 502: the connection broke before an answer
	ConnectFailure       = "upstream_connect_failure" // 503: no try could connect
	ConnectTimeoutReason = "upstream_connect_timeout" // 504: the connect timeout passed
	UpstreamTimeout      = "upstream_timeout"         // 504: the per-try timeout passed
	RequestTimeout       = "request_timeout"          // 504: the request's deadline passed
	RetryBudget          = "retry_budget_exhausted"   // a retry the budget refused (counted, not answered)
	ClientClosed         = "client_closed"            // 499: the client left
	BadRequest           = "bad_request"              // 400: the body could not be read
	BodyTooLargeReason   = "body_too_large"           // 413: the body is over the limit
)

// StatusClientClosed is what a request whose client left is logged with
// (nginx's 499); nothing is written.
const StatusClientClosed = 499

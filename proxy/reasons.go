package proxy

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// Reasons the proxy answers by itself, sent in HeaderReason and logged.
// They play the role of Envoy's response flags; those of the request's
// lifecycle are proxy/lifecycle's.
const (
	ReasonNoRoute            = "no_route"                     // 404: no route or service matched
	ReasonRateLimited        = lifecycle.RateLimited          // 429: the route's limiter refused
	ReasonConsumerLimited    = lifecycle.ConsumerRateLimited  // 429: the consumer's limiter refused
	ReasonConcurrencyLimited = lifecycle.ConcurrencyLimited   // 503: the cluster's concurrency limiter refused
	ReasonCircuitOpen        = lifecycle.CircuitOpen          // 503: the outcome breaker is open
	ReasonOverflow           = lifecycle.OverflowReason       // 503: an Envoy threshold is full (x-envoy-overloaded)
	ReasonNoHealthyUpstream  = lifecycle.NoHealthyUpstream    // 503: no endpoint available
	ReasonConnectFailure     = lifecycle.ConnectFailure       // 503: no try could connect (refused, unreachable)
	ReasonConnectTimeout     = lifecycle.ConnectTimeoutReason // 504: the connect timeout fired
	ReasonUpstreamReset      = lifecycle.UpstreamReset        // 502: the connection broke before a response
	ReasonUpstreamTimeout    = lifecycle.UpstreamTimeout      // 504: the per-try timeout fired
	ReasonRequestTimeout     = lifecycle.RequestTimeout       // 504: the route timeout or caller's deadline passed
	ReasonBadRequest         = lifecycle.BadRequest           // 400: the request cannot be forwarded
	ReasonBodyTooLarge       = lifecycle.BodyTooLargeReason   // 413: the body exceeds server.maxBodyBytes
	ReasonBodyTimeout        = "body_timeout"                 // 408: the client stopped sending its body (server.bodyTimeout)
	ReasonInternal           = "internal_error"               // 500: a bug (a recovered panic)
	ReasonClientClosed       = lifecycle.ClientClosed         // 499 in logs only: the client went away
	ReasonRetryBudget        = lifecycle.RetryBudget          // metrics only: a retry was denied by the budget
)

var (
	errBadDeadline   = errors.New("malformed " + HeaderDeadline)
	errPerTryTimeout = errors.New("per-try timeout")
	errRouteTimeout  = errors.New("route timeout")
	errHedgeLost     = errors.New("another hedged try answered first")
	errPanicInTry    = errors.New("panic in upstream try")
)

// writeError answers a request with a short plain-text error and the reason
// header.
func writeError(w http.ResponseWriter, st *reqState, status int, reason string) {
	st.reason = reason
	h := w.Header()
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = nosniff
	h[HeaderReason] = []string{reason}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}

// RecordRejection records that a route middleware answered r by itself
// for reason, as the proxy records its own refusals: the access log names
// the reason and meshbench_proxy_rejections_total counts it under route.
// The middleware writes the answer, with HeaderReason set to reason.
func (p *Proxy) RecordRejection(r *http.Request, route, reason string) {
	if st := stateFrom(r.Context()); st != nil {
		st.reason = reason
	}
	p.env.metrics.rejected(route, reason)
}

// RefuseRateLimited answers r with 429 as the route's own limiter does:
// Retry-After (whole seconds, at least 1), HeaderReason set to reason, a
// plain-text body, the reason in the access log and a rejection counted
// under route. It is for limiters in route middlewares, such as
// proxy/secure's consumerLimit.
func (p *Proxy) RefuseRateLimited(w http.ResponseWriter, r *http.Request, route, reason string, retryAfter time.Duration) {
	st := stateFrom(r.Context())
	if st == nil {
		st = &reqState{}
	}
	p.env.metrics.rejected(route, reason)
	w.Header()["Retry-After"] = []string{retryAfterSeconds(retryAfter)}
	writeError(w, st, http.StatusTooManyRequests, reason)
}

var (
	textPlain = []string{"text/plain; charset=utf-8"}
	nosniff   = []string{"nosniff"}
)

// retryAfterSeconds formats a Retry-After value (RFC 9110 §10.2.3): whole
// seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	if d <= 0 {
		return "1"
	}
	s := math.Ceil(d.Seconds())
	if s > 86400 {
		s = 86400
	}
	return strconv.Itoa(int(s))
}

// statusText holds the status codes as strings for metric labels.
var statusText = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func codeLabel(status int) string {
	if status >= 0 && status < len(statusText) {
		return statusText[status]
	}
	return strconv.Itoa(status)
}

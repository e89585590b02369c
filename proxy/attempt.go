package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/retry"
)

// attempt is one try of an exchange against one endpoint.
type attempt struct {
	x      *exchange
	ep     *endpoint
	pick   balancer.Pick
	picked bool
	hedge  bool

	start  time.Time
	ctx    context.Context
	cancel context.CancelCauseFunc // nil when the try runs in the exchange's context
	timer  *time.Timer             // per-try timeout, until response headers
	reqOut *http.Request

	resp   *http.Response
	relay  bool // the fast path relayed an answer of status, with no resp
	err    error
	kind   retry.Kind
	status int    // the upstream's status when answered, else the one the proxy answers with
	reason string // and its reason

	final       bool // not retryable: the exchange answers with this try
	fatal       bool // ends the exchange whatever other tries do
	noRecord    bool // says nothing about the endpoint (client left, hedge lost, local refusal)
	blameClient bool // the client left or sent a bad body: nothing to learn upstream
	finished    bool
}

// tries runs the tries of an exchange: one, or more when the route retries
// (Envoy's retry policy: retry_on conditions, num_retries, jittered back-off)
// within a Finagle retry budget and Envoy's max_retries threshold. With
// hedging each try is a race of hedged copies.
func (x *exchange) tries() *attempt {
	rt, c := x.rt, x.c
	m := rt.env.metrics
	held := false
	for try := 1; ; try++ {
		var a *attempt
		if rt.hedger != nil && x.replayable {
			a = x.hedged(try)
		} else {
			a = x.startTry(try, false)
			if a.picked {
				a.roundTrip()
			}
		}
		x.st.attempts = try
		x.noOutcome = a.blameClient
		if held {
			c.admission.Release(breaker.Retries)
			held = false
		}
		if a.final || rt.retry == nil || !x.replayable {
			return a
		}
		o := retry.Outcome{Status: a.status, Err: a.kind}
		if a.resp != nil {
			o = retry.Outcome{Status: a.resp.StatusCode}
		}
		if !rt.retry.ShouldRetry(try, o) || x.ctx.Err() != nil {
			return a
		}
		now := time.Now()
		wait := rt.retry.BackoffFor(try, x.st.rng)
		if x.hasDeadline && now.Add(wait).After(x.deadline) {
			return a
		}
		if !rt.budget.TryWithdraw(now) {
			m.rejected(rt.name, ReasonRetryBudget)
			return a
		}
		if !c.admission.Acquire(breaker.Retries) {
			m.rejected(rt.name, ReasonOverflow)
			return a
		}
		held = true
		m.retries.WithLabelValues(rt.name, c.name).Inc()
		a.discard()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-x.ctx.Done():
				t.Stop()
			}
		}
	}
}

// startTry picks an endpoint and prepares a try; it does not send it. A
// failed pick returns a final attempt answering 503.
func (x *exchange) startTry(try int, hedge bool) *attempt {
	a := &attempt{x: x, hedge: hedge}
	now := time.Now()
	pick, err := x.c.bal.Pick(now, x.key, x.st.rng)
	if err != nil {
		a.status, a.reason, a.final, a.noRecord = http.StatusServiceUnavailable, ReasonNoHealthyUpstream, true, true
		a.err = err
		return a
	}
	a.pick, a.picked = pick, true
	a.ep = x.c.endpointFor(pick.Endpoint())
	a.ep.inflight.Add(1)
	a.start = now
	a.ctx = x.ctx
	perTry := time.Duration(0)
	if x.rt.retry != nil {
		perTry = x.rt.retry.PerTryTimeout
	}
	if perTry > 0 || x.rt.hedger != nil {
		a.ctx, a.cancel = context.WithCancelCause(x.ctx)
		if perTry > 0 {
			cancel := a.cancel
			a.timer = time.AfterFunc(perTry, func() { cancel(errPerTryTimeout) })
		}
	}
	x.st.endpoint = a.ep.id
	a.reqOut = x.newRequest(a, try > 1 || hedge)
	return a
}

// roundTrip sends the try and classifies what came back.
func (a *attempt) roundTrip() {
	x := a.x
	resp, err := x.c.rt.RoundTrip(a.reqOut)
	if a.timer != nil && !a.timer.Stop() && err == nil {
		// The per-try timeout fired as the headers arrived; the body's
		// context is cancelled, so the response cannot be used.
		resp.Body.Close()
		resp, err = nil, errPerTryTimeout
	}
	a.resp, a.err = resp, err
	if err == nil {
		a.status = resp.StatusCode
		a.final = x.rt.retry == nil || !x.rt.retry.Retryable(retry.Outcome{Status: resp.StatusCode})
		if x.rt.hedger != nil {
			x.rt.hedger.Observe(time.Now(), time.Since(a.start))
		}
		return
	}
	a.classify(err)
}

// classify turns a transport error into the status the proxy would answer
// with, the retry.Kind the retry policy judges, and whether the endpoint is
// to blame (outlier detection). Failures that end the whole exchange (the
// client left or sent a bad body, the route timeout passed, a local limit)
// are fatal; the others are final unless the retry policy covers them.
func (a *attempt) classify(err error) {
	x := a.x
	var mbe *http.MaxBytesError
	bodyErr := x.stream.failure()
	switch {
	case x.in.Context().Err() != nil:
		a.clientClosed()
	case a.cancel != nil && context.Cause(a.ctx) == errHedgeLost:
		a.status, a.reason, a.fatal, a.noRecord = statusClientClosed, ReasonClientClosed, true, true
	case errors.As(err, &mbe) || errors.As(bodyErr, &mbe):
		a.status, a.reason, a.fatal, a.noRecord, a.blameClient = http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, true, true, true
	case bodyErr != nil:
		a.status, a.reason, a.fatal, a.noRecord, a.blameClient = http.StatusBadRequest, ReasonBadRequest, true, true, true
	case context.Cause(x.ctx) == errRouteTimeout || errors.Is(x.ctx.Err(), context.DeadlineExceeded):
		a.routeTimedOut()
	case errors.Is(err, errPerTryTimeout) || (a.cancel != nil && context.Cause(a.ctx) == errPerTryTimeout):
		a.tryTimedOut()
	default:
		a.transportFailed(err)
	}
	a.settle()
}

// The outcomes classify (and the fast path's fastClassify) give a try.

func (a *attempt) clientClosed() {
	a.status, a.reason, a.fatal, a.noRecord, a.blameClient = statusClientClosed, ReasonClientClosed, true, true, true
}

func (a *attempt) routeTimedOut() {
	a.status, a.reason, a.kind, a.fatal = http.StatusGatewayTimeout, ReasonRequestTimeout, retry.Timeout, true
}

func (a *attempt) tryTimedOut() {
	a.status, a.reason, a.kind = http.StatusGatewayTimeout, ReasonUpstreamTimeout, retry.Timeout
}

// transportFailed classifies a failure of the dial or the connection: a
// local overflow, a connect timeout or failure, else a reset.
func (a *attempt) transportFailed(err error) {
	var de *h1.DialError
	switch {
	case errors.As(err, &de) && de.Overflow:
		a.status, a.reason, a.fatal, a.noRecord = http.StatusServiceUnavailable, ReasonOverflow, true, true
	case errors.As(err, &de) && isTimeout(de.Err):
		a.status, a.reason, a.kind = http.StatusGatewayTimeout, ReasonConnectTimeout, retry.ConnectFailure
	case errors.As(err, &de):
		a.status, a.reason, a.kind = http.StatusServiceUnavailable, ReasonConnectFailure, retry.ConnectFailure
	default:
		a.status, a.reason, a.kind = http.StatusBadGateway, ReasonUpstreamReset, retry.Reset
	}
}

// settle decides whether a failed try ends the exchange: it does when it
// is fatal or the route's retry policy does not cover its kind.
func (a *attempt) settle() {
	a.final = a.fatal || a.x.rt.retry == nil || !a.x.rt.retry.Retryable(retry.Outcome{Err: a.kind})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// finish ends the try: the pick's Done (balancer feedback), outlier
// detection, endpoint counters and metrics. It runs once, when the try's
// response has been consumed or abandoned. bodyErr is a failure while
// streaming the response body.
func (a *attempt) finish(bodyErr error) {
	if a.finished {
		return
	}
	a.finished = true
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.cancel != nil {
		a.cancel(context.Canceled)
	}
	if !a.picked {
		return
	}
	x := a.x
	c := x.c
	now := time.Now()
	lat := now.Sub(a.start)
	err := a.err
	if err == nil {
		err = bodyErr
	}
	a.pick.Done(now, lat, err)
	a.ep.inflight.Add(-1)
	if a.noRecord {
		return
	}
	a.ep.requests.Add(1)
	a.ep.observe(lat)
	code := upstreamCode(a)
	c.env.metrics.upstream(c.name, a.ep.id, code, lat)
	o := outlier.Success
	switch {
	case !a.answered() || bodyErr != nil:
		o = outlier.LocalOriginFailure
	default:
		o = outlier.FromStatus(a.status)
	}
	if o != outlier.Success {
		a.ep.failures.Add(1)
	}
	if c.outlier != nil {
		c.applyOutlier(c.outlier.Record(now, a.ep.id, o))
	}
}

// answered reports whether the upstream answered the try, with a.status.
func (a *attempt) answered() bool { return a.resp != nil || a.relay }

// upstreamCode is the code label of an upstream try: the status, or the
// kind of transport failure.
func upstreamCode(a *attempt) string {
	if a.answered() {
		return codeLabel(a.status)
	}
	switch a.kind {
	case retry.Timeout:
		return "timeout"
	case retry.ConnectFailure:
		return "connect_failure"
	default:
		return "reset"
	}
}

// discard abandons a try that will not answer the request: its response
// body is drained a little (so a small error body does not cost the
// connection) and closed, and the try finished.
func (a *attempt) discard() {
	if a.resp != nil {
		_, _ = io.CopyN(io.Discard, a.resp.Body, 4<<10)
		a.resp.Body.Close()
	}
	a.finish(nil)
}

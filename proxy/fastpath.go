package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/retry"
)

// The fast path proxies the common request — HTTP/1.1, a plain path, no
// body or a short one already read, no protocol upgrade or 100-continue —
// to a route without middlewares, hedging or cookie hash keys whose
// clusters are all plain-text HTTP/1.1. It works from the request head as
// read and writes the upstream request and the answer field by field,
// without an http.Request, header maps or a context and timer per request,
// which is most of what the general path spends (see the proxy README's
// Benchmark section). The route's policies are the same objects the general
// path uses — limiters, admission thresholds, concurrency limiter, breaker,
// balancer, outlier detection, retry policy and budget — called in the same
// order, and so are metrics and the access log.
//
// Whatever it does not take goes to the general path untouched: the fast
// path decides before anything has happened (no token taken, no endpoint
// picked), so the general path still answers every malformed or unusual
// request itself. Once the request is under way, the proxy's own answers
// (rejections, upstream failures) and answers other than a plain one with a
// Content-Length are written by the general path's code, given a minimal
// http.Request; fastpath_test.go checks that both paths put the same bytes
// on the wire (but for the order of fields, which the general path writes
// in map order).
//
// This file is the request's course through the route's policies and its
// tries; fastrequest.go reads the client's head and writes the upstream's,
// fastanswer.go reads a plain answer and relays it. The connections are
// proxy/h1's: the server hands the fast path each head (h1.ServerConfig.Fast)
// and the cluster's h1.Client its upstream connections.

// fastRoute reports whether the fast path can serve a route: it only
// forwards (retrying or not, but without hedges; hashing by header or
// client address, not by cookie), to plain-text HTTP/1.1 clusters whose
// client is the proxy's own.
func fastRoute(rt *route) bool {
	if rt.handler != nil || rt.hedger != nil || rt.useHashKey && rt.hashKey.Cookie != "" {
		return false
	}
	for _, c := range rt.clusters {
		if _, ok := c.rt.(*h1.Client); !ok || c.scheme != "http" {
			return false
		}
	}
	return true
}

// fastConn is a connection's fast-path state, reused across its requests
// (the server keeps it as the connection's FastState).
type fastConn struct {
	c       *h1.Conn
	q       fastReq
	x       exchange
	a       attempt
	r       *http.Request // the general path's stand-in request, once made
	answer  []rawField    // the answer's fields, reused
	ans     plainAnswer   // the last try's plain answer
	started bool          // the answer has begun on the connection
}

// fast serves a request from its head when it can (see the top of this
// file): the HTTP/1.1 server's Fast hook for an entry without handler
// middlewares.
func (e *entry) fast(c *h1.Conn, head string) (keep, handled bool) {
	fc, _ := c.FastState.(*fastConn)
	if fc == nil {
		fc = &fastConn{c: c}
		c.FastState = fc
	}
	q := &fc.q
	if !q.parse(head, len(c.Buffered())) {
		return false, false
	}
	p := e.p
	snap := p.acquire()
	if snap == nil {
		return false, false
	}
	if limit := snap.cfg.Server.MaxBodyBytes; limit > 0 && q.contentLength > limit {
		snap.release()
		return false, false
	}
	rt, path := snap.findBy(q.method, hostKey(q.host), q.path, q, e.inbound)
	if rt == nil || !rt.fast {
		snap.release()
		return false, false
	}
	upPath := rt.rewrite.rewritePath(path)
	if !plainPath(upPath) {
		snap.release()
		return false, false
	}

	st := statePool.Get().(*reqState)
	*st = reqState{start: time.Now(), rng: p.rand(), snap: snap}
	m := p.env.metrics
	m.fastPath.Inc()
	m.active.Inc()
	st.clientIP = clientIP(c.RemoteAddr())
	st.id = q.requestID
	if st.id == "" {
		st.id = newRequestID(st.rng)
	}
	st.route, st.path = rt.name, path
	keep = e.fastServe(fc, st, rt, upPath)
	if q.contentLength > 0 {
		c.Discard(int(q.contentLength))
	}
	m.active.Dec()
	// Logged before the end of the answer goes out, as on the general path,
	// so that a client holding the whole answer finds its record written.
	p.record(snap, st, requestLine{method: q.method, host: q.host, path: q.path, proto: "HTTP/1.1"})
	keep = e.fastFinish(fc, st, keep)
	snap.release()
	p.rngs.Put(st.rng)
	*st = reqState{}
	statePool.Put(st)
	return keep, true
}

// fastServe runs the request through the route, recovering a panic as the
// general path does: a 500 if nothing was sent, else the connection ends.
// The answer is left in the connection's buffer for fastFinish.
func (e *entry) fastServe(fc *fastConn, st *reqState, rt *route, upPath string) (keep bool) {
	c := fc.c
	fc.r, fc.started = nil, false
	defer func() {
		if v := recover(); v != nil {
			e.p.env.log.Error("panic serving request", "panic", v, "request_id", st.id, "stack", string(debug.Stack()))
			if pc := c.Unwatch(); pc != nil {
				pc.Close()
			}
			if fc.started || st.wroteHeader {
				st.abort = true
			} else {
				e.general(fc, st)
				writeError(st, st, http.StatusInternalServerError, ReasonInternal)
			}
			keep = false
		}
	}()
	keep = e.fastRoute(fc, st, rt, upPath)
	c.Unwatch()
	return keep
}

// fastFinish sends what is left of the answer and reports whether the
// connection can go on. An aborted answer (the upstream broke it off) is
// not sent further: the connection ends.
func (e *entry) fastFinish(fc *fastConn, st *reqState, keep bool) bool {
	c := fc.c
	if st.abort || c.ClientGone() {
		return false
	}
	if st.w != nil {
		// The general path's writer answered.
		return c.FinishResponse() && keep
	}
	return c.Writer().Flush() == nil && keep
}

// general switches the response to the general path's writer, with a
// minimal request standing for the one the fast path did not build: what
// the writer, respond and writeError read of it.
func (e *entry) general(fc *fastConn, st *reqState) *http.Request {
	if st.w != nil {
		return fc.r
	}
	c, q := fc.c, &fc.q
	r := &http.Request{
		Method:     q.method,
		URL:        &url.URL{Path: q.path, RawQuery: q.query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       q.host,
		RemoteAddr: c.RemoteAddr(),
		RequestURI: q.target,
		Close:      q.close,
		TLS:        c.TLS(),
	}
	r = r.WithContext(c.Context())
	fc.r = r
	st.w = c.ResponseWriter(r)
	st.idHeader = []string{st.id}
	st.w.Header()[HeaderRequestID] = st.idHeader
	return r
}

// fastRoute is route.serve and exchange.run for the fast path: limits,
// admission, the try, and its bookkeeping. It reports whether the
// connection can go on.
func (e *entry) fastRoute(fc *fastConn, st *reqState, rt *route, upPath string) bool {
	q := &fc.q
	now := st.start
	m := rt.env.metrics
	if rt.limiter != nil {
		if d := rt.limiter.Allow(now); !d.Allowed {
			m.rejected(rt.name, ReasonRateLimited)
			e.general(fc, st)
			st.Header()["Retry-After"] = []string{retryAfterSeconds(d.RetryAfter)}
			writeError(st, st, http.StatusTooManyRequests, ReasonRateLimited)
			return true
		}
	}
	if rt.consumer != nil {
		key := st.clientIP
		if rt.consumerHdr != "" {
			key = q.first(rt.consumerHdr)
		}
		if d := rt.consumer.Allow(now, key); !d.Allowed {
			m.rejected(rt.name, ReasonConsumerLimited)
			e.general(fc, st)
			st.Header()["Retry-After"] = []string{retryAfterSeconds(d.RetryAfter)}
			writeError(st, st, http.StatusTooManyRequests, ReasonConsumerLimited)
			return true
		}
	}
	cl := rt.pickCluster(st)
	st.cluster = cl.name
	x := &fc.x
	*x = exchange{rt: rt, c: cl, st: st}
	if !cl.admission.Acquire(breaker.Requests) {
		m.rejected(rt.name, ReasonOverflow)
		e.general(fc, st)
		writeError(st, st, http.StatusServiceUnavailable, ReasonOverflow)
		return true
	}
	defer cl.admission.Release(breaker.Requests)
	if cl.conc != nil {
		if !cl.conc.Acquire(now) {
			m.rejected(rt.name, ReasonConcurrencyLimited)
			e.general(fc, st)
			writeError(st, st, http.StatusServiceUnavailable, ReasonConcurrencyLimited)
			return true
		}
		defer func() {
			end := time.Now()
			cl.conc.Release(end, end.Sub(now), x.success)
		}()
	}
	if cl.breaker != nil {
		if !cl.breaker.Allow(now) {
			m.rejected(rt.name, ReasonCircuitOpen)
			e.general(fc, st)
			writeError(st, st, http.StatusServiceUnavailable, ReasonCircuitOpen)
			return true
		}
		defer x.recordBreaker()
	}
	timeout := rt.timeout
	if q.hasBudget && (timeout <= 0 || q.budget < timeout) {
		timeout = q.budget
	}
	if timeout > 0 {
		x.deadline, x.hasDeadline = now.Add(timeout), true
	}
	// The body waits in the read buffer until the exchange ends; it is
	// replayed when the general path would have buffered it.
	x.replayable = q.contentLength == 0 || rt.replays && q.contentLength <= rt.bufferBytes
	if rt.useHashKey {
		x.key = fastHashKey(rt.hashKey, q, fc.c.RemoteAddr(), st)
	}
	if rt.budget != nil {
		rt.budget.Deposit(now)
	}
	return e.fastTries(fc, st, x, upPath)
}

// fastHashKey is httpkey.Of for the fast path (a route hashing by cookie
// does not take it): the header's first value, else the client address,
// else a random key.
func fastHashKey(h balancer.HashKey, q *fastReq, remote string, st *reqState) uint64 {
	if h.Header != "" {
		if v := q.first(h.Header); v != "" {
			return balancer.HashKeyString(v)
		}
	}
	if h.SourceIP {
		if k, ok := httpkey.SourceIP(remote); ok {
			return k
		}
	}
	return st.rng.Uint64()
}

// tryResult is how a fast-path try ended.
type tryResult int

const (
	tryFailed  tryResult = iota // no answer: a.status and a.reason say what the proxy answers
	tryPlain                    // an answer the fast path relays itself (fastConn.ans)
	tryGeneral                  // an answer for respond (a.resp)
)

// fastTries runs the tries of an exchange as tries does for the general
// path: one, or more when the route retries (within its budget and the
// cluster's max_retries threshold, after a jittered back-off), replaying
// the body from the read buffer; then it answers with the last.
func (e *entry) fastTries(fc *fastConn, st *reqState, x *exchange, upPath string) bool {
	rt, cl := x.rt, x.c
	m := rt.env.metrics
	ctx := fc.c.Context()
	a := &fc.a
	held := false
	for try := 1; ; try++ {
		*a = attempt{x: x}
		res, pc := e.fastTry(fc, st, x, a, try, upPath)
		st.attempts = try
		x.noOutcome = a.blameClient
		if held {
			cl.admission.Release(breaker.Retries)
			held = false
		}
		if a.final || rt.retry == nil || !x.replayable {
			return e.fastRespond(fc, st, x, a, res, pc)
		}
		o := retry.Outcome{Status: a.status, Err: a.kind}
		if res != tryFailed {
			o = retry.Outcome{Status: a.status}
		}
		now := time.Now()
		if !rt.retry.ShouldRetry(try, o) || ctx.Err() != nil || x.hasDeadline && !now.Before(x.deadline) {
			return e.fastRespond(fc, st, x, a, res, pc)
		}
		wait := rt.retry.BackoffFor(try, st.rng)
		if x.hasDeadline && now.Add(wait).After(x.deadline) {
			return e.fastRespond(fc, st, x, a, res, pc)
		}
		if !rt.budget.TryWithdraw(now) {
			m.rejected(rt.name, ReasonRetryBudget)
			return e.fastRespond(fc, st, x, a, res, pc)
		}
		if !cl.admission.Acquire(breaker.Retries) {
			m.rejected(rt.name, ReasonOverflow)
			return e.fastRespond(fc, st, x, a, res, pc)
		}
		held = true
		m.retries.WithLabelValues(rt.name, cl.name).Inc()
		e.fastDiscard(fc, x, a, res, pc)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
}

// fastTry picks an endpoint, sends the request and reads the answer's
// head. A failed try is classified as classify does and its connection
// closed; an answer leaves its connection to fastRelay, fastDiscard or the
// answer's body.
func (e *entry) fastTry(fc *fastConn, st *reqState, x *exchange, a *attempt, try int, upPath string) (tryResult, *h1.UpstreamConn) {
	c, q := fc.c, &fc.q
	now := st.start
	if try > 1 {
		now = time.Now()
	}
	pick, err := x.c.bal.Pick(now, x.key, st.rng)
	if err != nil {
		a.status, a.reason, a.final, a.noRecord, a.err = http.StatusServiceUnavailable, ReasonNoHealthyUpstream, true, true, err
		return tryFailed, nil
	}
	a.pick, a.picked = pick, true
	a.ep = x.c.endpointFor(pick.Endpoint())
	a.ep.inflight.Add(1)
	a.start = now
	st.endpoint = a.ep.id

	// The try's deadline: the exchange's, or the per-try timeout until the
	// answer's head when that comes first.
	dl, hasDL, perTry := x.deadline, x.hasDeadline, false
	if rt := x.rt; rt.retry != nil && rt.retry.PerTryTimeout > 0 {
		if t := now.Add(rt.retry.PerTryTimeout); !hasDL || t.Before(dl) {
			dl, hasDL, perTry = t, true, true
		}
	}

	hc := x.c.rt.(*h1.Client)
	addr := a.ep.addr
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		addr = net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(addr, ":"), "["), "]"), "80")
	}
	host := q.host
	switch {
	case x.rt.rewrite.hostFromEndpoint:
		host = a.ep.addr
	case x.rt.rewrite.host != "":
		host = x.rt.rewrite.host
	}

	var takeBy time.Time // no deadline for taking a connection without one for the try
	if hasDL {
		takeBy = dl
	}
	cause := errRouteTimeout
	if perTry {
		cause = errPerTryTimeout
	}
	pc, err := hc.Take(c.Context(), addr, takeBy, cause)
	if err != nil {
		e.fastClassify(fc, x, a, err, nil, perTry && !time.Now().Before(dl))
		return tryFailed, nil
	}
	if hasDL {
		_ = pc.SetDeadline(dl)
	}
	c.Watch(pc)
	if !httpguts.ValidHostHeader(host) {
		e.fastClassify(fc, x, a, errors.New("write request: invalid Host"), pc, false)
		return tryFailed, nil
	}
	bw := pc.Writer()
	e.writeUpstream(fc, x, a, bw, host, upPath)
	if err := bw.Flush(); err != nil {
		e.fastClassify(fc, x, a, err, pc, perTry && !time.Now().Before(dl))
		return tryFailed, nil
	}
	head, err := pc.ReadAnswerHead(q.method)
	if err != nil {
		e.fastClassify(fc, x, a, err, pc, perTry && !time.Now().Before(dl))
		return tryFailed, nil
	}
	if perTry {
		// The per-try timeout covers the wait for the head; the body is
		// bounded by the exchange's deadline.
		_ = pc.SetDeadline(x.deadline)
	}
	retryable := func(code int) bool {
		return x.rt.retry != nil && x.rt.retry.Retryable(retry.Outcome{Status: code})
	}
	if ans, ok := parseAnswer(head, q.method, &fc.answer); ok {
		fc.ans = ans
		a.relay, a.status, a.final = true, ans.code, !retryable(ans.code)
		return tryPlain, pc
	}
	// Anything else is parsed and answered by the general path's code; its
	// body gives the connection back when read, as the client's does.
	release := func() bool {
		c.Unwatch()
		if x.hasDeadline && (!time.Now().Before(x.deadline) || pc.SetDeadline(time.Time{}) != nil) {
			return false
		}
		return !c.ClientGone()
	}
	resp, err := pc.Response(c.Context(), head, &http.Request{Method: q.method}, release)
	if err != nil {
		e.fastClassify(fc, x, a, err, pc, false)
		return tryFailed, nil
	}
	a.resp, a.status, a.final = resp, resp.StatusCode, !retryable(resp.StatusCode)
	return tryGeneral, nil
}

// fastRespond answers with the exchange's last try.
func (e *entry) fastRespond(fc *fastConn, st *reqState, x *exchange, a *attempt, res tryResult, pc *h1.UpstreamConn) bool {
	if res == tryPlain {
		return e.fastRelay(fc, st, x, a, pc)
	}
	r := e.general(fc, st)
	ctx := fc.c.Context()
	x.in, x.w, x.ctx = r, st, ctx
	if res == tryGeneral && x.hasDeadline {
		// respond tells the route timeout from a broken body by the
		// context's cause.
		var cancel context.CancelFunc
		x.ctx, cancel = context.WithDeadlineCause(ctx, x.deadline, errRouteTimeout)
		defer cancel()
	}
	x.respond(a)
	return true
}

// fastClassify classifies a try that got no answer as classify does: the
// status and reason the proxy would answer with, the retry.Kind, and what
// the endpoint is blamed for. pc, when not nil, is the upstream connection,
// which cannot be reused. perTryFired says the try's own timeout passed.
func (e *entry) fastClassify(fc *fastConn, x *exchange, a *attempt, err error, pc *h1.UpstreamConn, perTryFired bool) {
	if pc != nil {
		fc.c.Unwatch()
		pc.Close()
	}
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case fc.c.Context().Err() != nil:
		a.clientClosed()
	case err == errRouteTimeout || timedOut && x.hasDeadline && !time.Now().Before(x.deadline):
		a.routeTimedOut()
	case err == errPerTryTimeout || timedOut && perTryFired:
		a.tryTimedOut()
	default:
		a.transportFailed(err)
	}
	a.err = err
	a.settle()
}

package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/lifecycle"
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
// An HTTP/2 request without a body takes the same course (fastH2): its
// header block is taken apart as the HTTP/1.1 head is, the upstream gets
// the same HTTP/1.1 request the general path would send it, and a plain
// answer is relayed as HEADERS and DATA through the stream's own writer,
// which sends an answer of up to 16 KiB in one write.
//
// This file is the request's course through the route's policies and its
// tries; fastrequest.go reads the client's head and writes the upstream's,
// fastanswer.go reads a plain answer and relays it. The connections are
// proxy/h1's: the server hands the fast path each head (h1.ServerConfig.Fast
// and FastH2) and the cluster's h1.Client its upstream connections.

// HeadChecker is implemented by the handler a Middleware returns (around
// the rest of the route) when it can decide on a request from its head,
// so that the fast path may serve the routes it guards: proxy/auth's API
// key check is one. CheckHead reports whether the request would pass the
// middleware and reach the rest of the route unchanged but for the header
// fields it removes with strip; field returns the first value of the field
// named name (case-insensitively) and how many fields have that name. It
// must reach its verdict with the same code as ServeHTTP and have no other
// effect. False sends the request to the general path, where ServeHTTP
// decides (and answers, when it refuses): the fast path judges before
// anything has happened.
type HeadChecker interface {
	http.Handler
	CheckHead(field func(name string) (value string, n int), strip func(name string)) bool
}

// fastRoute reports whether the fast path can serve a route: it only
// forwards (retrying or not, but without hedges), to plain-text HTTP/1.1
// clusters whose client is the proxy's own, behind no middlewares but
// HeadCheckers.
func fastRoute(rt *route) bool {
	if rt.handler != nil && rt.checks == nil || rt.lc.Hedger != nil {
		return false
	}
	for _, c := range rt.clusters {
		if _, ok := c.rt.(*h1.Client); !ok || c.scheme != "http" {
			return false
		}
	}
	return true
}

// fastClient is the client's side of a fast-path request: an HTTP/1.1
// connection (*h1.Conn) or an HTTP/2 stream (*h1.H2Request).
type fastClient interface {
	Context() context.Context
	RemoteAddr() string
	TLS() *tls.ConnectionState
	Watch(up *h1.UpstreamConn)
	Unwatch() *h1.UpstreamConn
	ClientGone() bool
}

// fastConn is an HTTP/1.1 connection's fast-path state, reused across its
// requests (the server keeps it as the connection's FastState), or an
// HTTP/2 request's, from a pool.
type fastConn struct {
	c       fastClient
	h1c     *h1.Conn      // the HTTP/1.1 connection, or nil
	h2      *h1.H2Request // the HTTP/2 stream, or nil
	q       fastReq
	x       exchange
	a       attempt
	r       *http.Request // the general path's stand-in request, once made
	answer  []rawField    // the answer's fields, reused
	ans     plainAnswer   // the last try's plain answer
	started bool          // the answer has begun on the connection

	field func(string) (string, int) // q.field and q.strip, for HeadCheckers
	strip func(string)
}

// passes reports whether the request passes all of a route's middlewares
// (HeadChecker), removing the fields they remove.
func (fc *fastConn) passes(rt *route) bool {
	for _, hc := range rt.checks {
		if !hc.CheckHead(fc.field, fc.strip) {
			return false
		}
	}
	return true
}

// fast serves a request from its head when it can (see the top of this
// file): the HTTP/1.1 server's Fast hook for an entry without handler
// middlewares.
func (e *entry) fast(c *h1.Conn, head string) (keep, handled bool) {
	fc, _ := c.FastState.(*fastConn)
	if fc == nil {
		fc = newFastConn()
		fc.c, fc.h1c = c, c
		c.FastState = fc
	}
	if !fc.q.parse(head, len(c.Buffered())) {
		return false, false
	}
	return e.fastServeHead(fc)
}

func newFastConn() *fastConn {
	fc := &fastConn{}
	fc.field, fc.strip = fc.q.field, fc.q.strip
	return fc
}

// fastH2Conns keeps the HTTP/2 requests' fast-path state.
var fastH2Conns = sync.Pool{New: func() any { return newFastConn() }}

// fastH2 serves an HTTP/2 request without a body from its header block
// when it can: the HTTP/2 server's FastH2 hook for an entry without handler
// middlewares. An answer the upstream broke off resets the stream, as the
// general path's handler does.
func (e *entry) fastH2(r *h1.H2Request) bool {
	fc := fastH2Conns.Get().(*fastConn)
	fc.c, fc.h2 = r, r
	handled, keep := false, true
	if fc.q.parseH2(r) {
		keep, handled = e.fastServeHead(fc)
	}
	// The stream's context ends with its answer: a watch left on would
	// interrupt an upstream connection back in its pool.
	r.Unwatch()
	fc.c, fc.h2, fc.r = nil, nil, nil
	fastH2Conns.Put(fc)
	if handled && !keep {
		panic(http.ErrAbortHandler)
	}
	return handled
}

// fastServeHead serves the request fc.q holds, taken apart from its head,
// if its route lets the fast path take it.
func (e *entry) fastServeHead(fc *fastConn) (keep, handled bool) {
	q := &fc.q
	p := e.p
	snap := p.acquire()
	if snap == nil {
		return false, false
	}
	if limit := snap.cfg.Server.MaxBodyBytes; limit > 0 && q.contentLength > limit {
		snap.release()
		return false, false
	}
	rt, path, err := snap.findBy(q.method, config.HostKey(q.host), q.path, q, e.inbound)
	if rt == nil || !rt.fast || err != nil {
		snap.release()
		return false, false
	}
	upPath := rt.rewrite.Path(path)
	if !plainPath(upPath) || !fc.passes(rt) {
		snap.release()
		return false, false
	}

	st := statePool.Get().(*reqState)
	*st = reqState{start: time.Now(), rng: p.rand(), snap: snap}
	m := p.env.metrics
	m.fastPath.Inc()
	m.active.Inc()
	st.clientIP = clientIP(fc.c.RemoteAddr())
	st.id = q.requestID
	if st.id == "" {
		st.id = newRequestID(st.rng)
	}
	st.route, st.path = rt.name, path
	keep = e.fastServe(fc, st, rt, upPath)
	if q.contentLength > 0 {
		fc.h1c.Discard(int(q.contentLength))
	}
	m.active.Dec()
	// Logged before the end of the answer goes out, as on the general path,
	// so that a client holding the whole answer finds its record written.
	proto := "HTTP/1.1"
	if fc.h2 != nil {
		proto = "HTTP/2.0"
	}
	p.record(snap, st, requestLine{method: q.method, host: q.host, path: q.path, proto: proto})
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
// not sent further: the connection ends. An HTTP/2 stream's answer is
// ended by its server; an aborted one is reset.
func (e *entry) fastFinish(fc *fastConn, st *reqState, keep bool) bool {
	if fc.h2 != nil {
		return !st.abort
	}
	c := fc.h1c
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
	if fc.h2 != nil {
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	}
	r = r.WithContext(c.Context())
	fc.r = r
	if fc.h2 != nil {
		st.w = fc.h2.ResponseWriter()
	} else {
		st.w = fc.h1c.ResponseWriter(r)
	}
	st.idHeader = []string{st.id}
	st.w.Header()[HeaderRequestID] = st.idHeader
	return r
}

// fastRoute is route.serve for the fast path: the request's lifecycle
// from its arrival to its answer. It reports whether the connection can go
// on.
func (e *entry) fastRoute(fc *fastConn, st *reqState, rt *route, upPath string) bool {
	q := &fc.q
	x := &fc.x
	x.rt, x.c, x.st, x.w, x.in, x.ctx = rt, nil, st, nil, nil, nil
	// The body waits in the read buffer until the exchange ends; it is
	// replayed when the general path would have buffered it.
	in := lifecycle.Arrival{Budget: q.budget, HasBudget: q.hasBudget,
		Replayable: q.contentLength == 0 || rt.replays && q.contentLength <= rt.bufferBytes}
	if rt.useHashKey {
		if k, ok := httpkey.Key(rt.hashKey, q, fc.c.RemoteAddr()); ok {
			in.Key = k
		} else {
			in.Key = st.rng.Uint64()
		}
	}
	if rt.consumerHdr != "" {
		in.Consumer = q.Get(rt.consumerHdr)
	} else {
		in.Consumer = st.clientIP
	}
	x.req.UseBuffer(&x.acts)
	x.req.Begin(&rt.lc, st.start, in, st.rng)
	if x.c = rt.clusterOf(x.req.Cluster()); x.c != nil {
		st.cluster = x.c.name
	}
	return e.fastDrive(fc, st, x, st.start, upPath)
}

// tryResult is how a fast-path try ended.
type tryResult int

const (
	tryFailed  tryResult = iota // no answer
	tryPlain                    // an answer the fast path relays itself (fastConn.ans)
	tryGeneral                  // an answer for the general path's forward (a.resp)
)

// fastDrive carries out the lifecycle's actions, as exchange.run does for
// the general path, with one try at a time (the fast path takes no hedging
// routes) on the connection's goroutine; now is the time of the event that
// produced the actions. It reports whether the connection can go on.
func (e *entry) fastDrive(fc *fastConn, st *reqState, x *exchange, now time.Time, upPath string) bool {
	a := &fc.a
	var (
		res tryResult
		pc  *h1.UpstreamConn
	)
	for {
		var send lifecycle.Action
		var wait time.Duration
		waiting := false
		for _, act := range x.req.Actions() {
			switch act.Kind {
			case lifecycle.Send:
				send = act
			case lifecycle.Wait:
				wait, waiting = act.Timeout, true
			case lifecycle.Cancel:
				e.fastDiscard(fc, x, a, res, pc)
				res, pc = tryFailed, nil
			case lifecycle.Forward:
				return e.fastRespond(fc, st, x, a, res, pc)
			case lifecycle.Respond:
				e.general(fc, st)
				x.w, x.ctx = st, fc.c.Context()
				x.respondOwn(&act)
				return true
			}
		}
		switch {
		case send.Kind == lifecycle.Send:
			*a = attempt{x: x, try: send.Try}
			res, pc = e.fastTry(fc, st, x, a, &send, now, upPath)
			now = time.Now()
			switch {
			case res != tryFailed:
				x.req.Answered(now, a.try, a.status)
			case a.gone:
				a.drop()
				x.req.ClientGone(now)
			case a.fail == lifecycle.Overflow:
				a.drop()
				x.req.Failed(now, a.try, a.fail)
			default:
				a.finish(now, nil)
				x.req.Failed(now, a.try, a.fail)
			}
		case waiting:
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				now = time.Now()
				x.req.Wake(now)
			case <-fc.c.Context().Done():
				t.Stop()
				now = time.Now()
				x.req.ClientGone(now)
			}
		default:
			// Nothing to do and no answer: the lifecycle has nothing more
			// to say, which it never leaves a request with.
			panic("proxy: the request's lifecycle stopped without an answer")
		}
	}
}

// fastTry sends the request to the endpoint a Send action names and reads
// the answer's head, under the action's timeout counted from now. A failed
// try is classified as the general path's classify does and its connection
// closed; an answer leaves its connection to fastRelay, fastDiscard or the
// answer's body.
func (e *entry) fastTry(fc *fastConn, st *reqState, x *exchange, a *attempt, s *lifecycle.Action, now time.Time, upPath string) (tryResult, *h1.UpstreamConn) {
	c, q := fc.c, &fc.q
	a.ep = x.c.endpointFor(s.Endpoint)
	a.ep.inflight.Add(1)
	a.start = now
	st.endpoint = a.ep.id

	// The try's deadline: the request's, or the per-try timeout until the
	// answer's head when that comes first.
	var dl time.Time
	if s.Timeout > 0 {
		dl = now.Add(s.Timeout)
	}
	hc := x.c.rt.(*h1.Client)
	addr := a.ep.addr
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		addr = net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(addr, ":"), "["), "]"), "80")
	}
	host := q.host
	switch {
	case x.rt.rewrite.HostFromEndpoint():
		host = a.ep.addr
	case x.rt.rewrite.Host() != "":
		host = x.rt.rewrite.Host()
	}

	cause := errRouteTimeout
	if s.PerTry {
		cause = errPerTryTimeout
	}
	pc, err := hc.Take(c.Context(), addr, dl, cause)
	if err != nil {
		e.fastClassify(fc, a, err, nil)
		return tryFailed, nil
	}
	if !dl.IsZero() {
		_ = pc.SetDeadline(dl)
	}
	c.Watch(pc)
	if !httpguts.ValidHostHeader(host) {
		e.fastClassify(fc, a, errors.New("write request: invalid Host"), pc)
		return tryFailed, nil
	}
	bw := pc.Writer()
	e.writeUpstream(fc, x, bw, host, upPath, s.Timeout)
	if err := bw.Flush(); err != nil {
		e.fastClassify(fc, a, err, pc)
		return tryFailed, nil
	}
	head, err := pc.ReadAnswerHead(q.method)
	if err != nil {
		e.fastClassify(fc, a, err, pc)
		return tryFailed, nil
	}
	reqDL, _ := x.req.Deadline()
	if s.PerTry {
		// The per-try timeout covers the wait for the head; the body is
		// bounded by the request's deadline.
		_ = pc.SetDeadline(reqDL)
	}
	if ans, ok := parseAnswer(head, q.method, &fc.answer); ok {
		fc.ans = ans
		a.status = ans.code
		return tryPlain, pc
	}
	// Anything else is parsed and answered by the general path's code; its
	// body gives the connection back when read, as the client's does.
	release := func() bool {
		c.Unwatch()
		if !reqDL.IsZero() && (!time.Now().Before(reqDL) || pc.SetDeadline(time.Time{}) != nil) {
			return false
		}
		return !c.ClientGone()
	}
	resp, err := pc.Response(c.Context(), head, &http.Request{Method: q.method}, release)
	if err != nil {
		e.fastClassify(fc, a, err, pc)
		return tryFailed, nil
	}
	a.resp, a.status = resp, resp.StatusCode
	return tryGeneral, nil
}

// fastRespond answers with the try the lifecycle forwards.
func (e *entry) fastRespond(fc *fastConn, st *reqState, x *exchange, a *attempt, res tryResult, pc *h1.UpstreamConn) bool {
	if res == tryPlain {
		return e.fastRelay(fc, st, x, a, pc)
	}
	r := e.general(fc, st)
	ctx := fc.c.Context()
	x.in, x.w, x.ctx = r, st, ctx
	if dl, ok := x.req.Deadline(); ok {
		// forward tells the request's deadline from a broken body by the
		// context's cause.
		var cancel context.CancelFunc
		x.ctx, cancel = context.WithDeadlineCause(ctx, dl, errRouteTimeout)
		defer cancel()
	}
	x.forward(a)
	return true
}

// fastClassify classifies a try that got no answer as the general path's
// classify does. pc, when not nil, is the upstream connection, which cannot
// be reused.
func (e *entry) fastClassify(fc *fastConn, a *attempt, err error, pc *h1.UpstreamConn) {
	if pc != nil {
		fc.c.Unwatch()
		pc.Close()
	}
	a.err = err
	switch {
	case fc.c.Context().Err() != nil:
		a.gone = true
	case err == errRouteTimeout, err == errPerTryTimeout,
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		a.fail = lifecycle.Timeout
	default:
		a.fail = connFailure(err)
	}
}

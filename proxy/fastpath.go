package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
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

// rawField is a header field as the client sent it: the name as spelled,
// the value trimmed.
type rawField struct {
	name, value string
	skip        bool // not forwarded: hop-by-hop, or written by the proxy itself
}

// fastReq is a request head the fast path took apart. One is kept per
// connection and reused.
type fastReq struct {
	method, target string
	path, query    string // target split at the first '?'
	host           string
	fields         []rawField // every field but Host
	contentLength  int64      // 0 when absent
	close          bool       // Connection: close
	requestID      string     // the client's, when valid and alone
	budget         time.Duration
	hasBudget      bool
	lastXFF        int // index in fields of the last X-Forwarded-For, or -1
	lastVia        int
	hasXFP, hasXFH bool
}

// joined makes fastReq a fieldSource for routing.
func (q *fastReq) joined(name string) (string, bool) {
	v, found := "", false
	for i := range q.fields {
		if f := &q.fields[i]; strings.EqualFold(f.name, name) {
			if found {
				v += "," + f.value
			} else {
				v, found = f.value, true
			}
		}
	}
	return v, found
}

// first returns the first value of the field with the canonical name.
func (q *fastReq) first(name string) string {
	for i := range q.fields {
		if f := &q.fields[i]; strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// parse takes head apart and reports whether the fast path can take the
// request; bufferedBody is how many bytes past the head the connection has
// already read.
func (q *fastReq) parse(head string, bufferedBody int) bool {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, target, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(target, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !h1.ValidMethod(method) || method == http.MethodConnect {
		return false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if !plainPath(path) || hasQuery && !plainQuery(query) || cleanPath(path) != path {
		return false
	}
	*q = fastReq{method: method, target: target, path: path, query: query, fields: q.fields[:0], lastXFF: -1, lastVia: -1}
	hosts, ids := 0, 0
	hasCL, hasDeadline := false, false
	for {
		name, value, next, err := h1.NextField(rest)
		if err != nil {
			return false // obs-fold or a bad field: the general path refuses it
		}
		if name == "" {
			break
		}
		rest = next
		f := rawField{name: name, value: value}
		switch fieldKindOf(name) {
		case fieldHost:
			hosts++
			q.host = value
			continue
		case fieldContentLength:
			n, err := strconv.ParseUint(value, 10, 63)
			if hasCL || err != nil {
				return false
			}
			hasCL, q.contentLength, f.skip = true, int64(n), true
		case fieldTransferEncoding, fieldExpect, fieldUpgrade, fieldTE, fieldTrailer:
			return false
		case fieldConnection:
			for opt := range strings.SplitSeq(value, ",") {
				switch opt = textproto.TrimString(opt); {
				case strings.EqualFold(opt, "close"):
					q.close = true
				case opt == "", strings.EqualFold(opt, "keep-alive"):
				default:
					return false // a field named hop-by-hop: the general path drops it
				}
			}
			f.skip = true
		case fieldHopByHop:
			f.skip = true
		case fieldRequestID:
			ids++
			q.requestID, f.skip = value, true
		case fieldDeadline:
			if !hasDeadline {
				ms, err := strconv.ParseInt(value, 10, 64)
				if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
					return false // refused (400) or already expired (504)
				}
				q.budget, q.hasBudget, hasDeadline = time.Duration(ms)*time.Millisecond, true, true
			}
			f.skip = true
		case fieldXFF:
			q.lastXFF = len(q.fields)
		case fieldVia:
			q.lastVia = len(q.fields)
		case fieldXFP:
			q.hasXFP = true
		case fieldXFH:
			q.hasXFH = true
		}
		q.fields = append(q.fields, f)
	}
	if hosts != 1 || !httpguts.ValidHostHeader(q.host) {
		return false
	}
	if ids != 1 || !validRequestID(q.requestID) {
		q.requestID = ""
	}
	if q.close {
		// "Connection: close" names a field too.
		for i := range q.fields {
			if strings.EqualFold(q.fields[i].name, "Close") {
				q.fields[i].skip = true
			}
		}
	}
	if n := q.contentLength; n > 0 && (n > h1.MaxBody || int64(bufferedBody) < n) {
		return false
	}
	return true
}

// fieldKind sorts the header fields the fast path looks at.
type fieldKind int

const (
	fieldOther fieldKind = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldExpect
	fieldUpgrade
	fieldTE
	fieldTrailer
	fieldConnection
	fieldHopByHop // Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization
	fieldRequestID
	fieldDeadline
	fieldXFF
	fieldXFP
	fieldXFH
	fieldVia
	fieldDate
)

// fieldKindOf sorts a field name, case-insensitively, comparing it only
// with the names of its length.
func fieldKindOf(name string) fieldKind {
	is := func(s string) bool { return strings.EqualFold(name, s) }
	switch len(name) {
	case 2:
		if is("Te") {
			return fieldTE
		}
	case 3:
		if is("Via") {
			return fieldVia
		}
	case 4:
		switch {
		case is("Host"):
			return fieldHost
		case is("Date"):
			return fieldDate
		}
	case 6:
		if is("Expect") {
			return fieldExpect
		}
	case 7:
		switch {
		case is("Upgrade"):
			return fieldUpgrade
		case is("Trailer"):
			return fieldTrailer
		}
	case 10:
		switch {
		case is("Connection"):
			return fieldConnection
		case is("Keep-Alive"):
			return fieldHopByHop
		}
	case 12:
		if is(HeaderRequestID) {
			return fieldRequestID
		}
	case 14:
		if is("Content-Length") {
			return fieldContentLength
		}
	case 15:
		if is("X-Forwarded-For") {
			return fieldXFF
		}
	case 16:
		switch {
		case is("Proxy-Connection"):
			return fieldHopByHop
		case is("X-Forwarded-Host"):
			return fieldXFH
		}
	case 17:
		switch {
		case is("Transfer-Encoding"):
			return fieldTransferEncoding
		case is("X-Forwarded-Proto"):
			return fieldXFP
		}
	case 18:
		if is("Proxy-Authenticate") {
			return fieldHopByHop
		}
	case 19:
		if is("Proxy-Authorization") {
			return fieldHopByHop
		}
	case len(HeaderDeadline):
		if is(HeaderDeadline) {
			return fieldDeadline
		}
	}
	return fieldOther
}

// plainPath reports whether p is an origin-form path of unreserved
// characters and those sub-delimiters a URL keeps unescaped in a path, so
// that it is its own decoded and escaped form.
func plainPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '/',
			c == '$', c == '&', c == '+', c == ',', c == ':', c == ';', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// plainQuery reports whether a query is visible ASCII without '#'.
func plainQuery(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

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

// fastDiscard abandons a try that is retried, as attempt.discard does: a
// short answer body is read so that the connection can be reused.
func (e *entry) fastDiscard(fc *fastConn, x *exchange, a *attempt, res tryResult, pc *h1.UpstreamConn) {
	switch res {
	case tryGeneral:
		a.discard()
		return
	case tryPlain:
		ans := &fc.ans
		reuse := !ans.close && (ans.noBody || ans.length <= discardAnswerBytes)
		if reuse && !ans.noBody {
			reuse = pc.Discard(ans.length) == nil
		}
		fc.c.Unwatch()
		pc.Release(reuse && !fc.c.ClientGone() && (!x.hasDeadline || pc.SetDeadline(time.Time{}) == nil))
	}
	a.finish(nil)
}

// discardAnswerBytes is how much of a retried answer's body is read to keep
// its connection, as attempt.discard reads.
const discardAnswerBytes = 4 << 10

// writeUpstream writes the request head and body to bw as the general
// path's writeRequest would write its outbound request: Host first, the
// client's fields less the hop-by-hop ones, then request id, deadline,
// forwarding fields and Content-Length.
func (e *entry) writeUpstream(fc *fastConn, x *exchange, a *attempt, bw *bufio.Writer, host, upPath string) {
	q := &fc.q
	st := x.st
	bw.WriteString(q.method)
	bw.WriteByte(' ')
	bw.WriteString(upPath)
	if q.query != "" {
		bw.WriteByte('?')
		bw.WriteString(q.query)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	via := viaValue(1, 1)
	xffAt := q.lastXFF
	if st.clientIP == "" {
		xffAt = -1
	}
	writeRawFields(bw, q.fields, xffAt, st.clientIP, q.lastVia, via)
	bw.WriteString(HeaderRequestID + ": ")
	bw.WriteString(st.id)
	bw.WriteString("\r\n")
	if left, ok := x.budgetLeft(a.start); ok {
		bw.WriteString(HeaderDeadline + ": ")
		bw.WriteString(deadlineValue(left))
		bw.WriteString("\r\n")
	}
	if q.lastXFF < 0 && st.clientIP != "" {
		bw.WriteString("X-Forwarded-For: ")
		bw.WriteString(st.clientIP)
		bw.WriteString("\r\n")
	}
	if !q.hasXFP {
		if fc.c.TLS() != nil {
			bw.WriteString("X-Forwarded-Proto: https\r\n")
		} else {
			bw.WriteString("X-Forwarded-Proto: http\r\n")
		}
	}
	if !q.hasXFH && q.host != "" {
		bw.WriteString("X-Forwarded-Host: ")
		bw.WriteString(q.host)
		bw.WriteString("\r\n")
	}
	if q.lastVia < 0 {
		bw.WriteString("Via: ")
		bw.WriteString(via)
		bw.WriteString("\r\n")
	}
	switch {
	case q.contentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(q.contentLength, 10))
		bw.WriteString("\r\n\r\n")
		// The body stays in the read buffer, for retries, until the
		// exchange ends (entry.fast).
		bw.Write(fc.c.Buffered()[:q.contentLength])
	case q.method == http.MethodPost || q.method == http.MethodPut || q.method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n\r\n")
	default:
		bw.WriteString("\r\n")
	}
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

// plainAnswer is what the fast path needs of an answer it relays itself.
type plainAnswer struct {
	code    int
	minor   int   // HTTP/1.minor
	length  int64 // Content-Length, or -1
	noBody  bool
	close   bool // the upstream ends the connection after it
	hasDate bool
	hasID   bool // the upstream set X-Request-Id, which then wins
	lastVia int  // index in the fields of the last Via, or -1
}

// parseAnswer takes an answer's head apart into fields (reused) and
// reports whether the fast path relays it: a final status with a
// Content-Length, or one without a body, whose hop-by-hop fields are the
// usual ones. Anything else — chunked or close-delimited bodies, trailers,
// odd Connection options, a malformed head — goes to UpstreamConn.Response
// and respond, which also refuse what is malformed.
func parseAnswer(head, method string, fields *[]rawField) (plainAnswer, bool) {
	ans := plainAnswer{length: -1, lastVia: -1}
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	proto, status, _ := strings.Cut(line, " ")
	switch proto {
	case "HTTP/1.1":
		ans.minor = 1
	case "HTTP/1.0":
	default:
		return ans, false
	}
	codeText, _, _ := strings.Cut(status, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 3 || code < 200 {
		return ans, false
	}
	ans.code = code
	keepAlive, closeOpt := false, false
	fs := (*fields)[:0]
	for {
		name, value, next, err := h1.NextField(rest)
		if err != nil {
			return ans, false
		}
		if name == "" {
			break
		}
		rest = next
		f := rawField{name: name, value: value}
		switch fieldKindOf(name) {
		case fieldContentLength:
			n, err := strconv.ParseUint(value, 10, 63)
			if ans.length >= 0 || err != nil {
				return ans, false
			}
			ans.length = int64(n)
		case fieldTransferEncoding:
			return ans, false
		case fieldConnection:
			for opt := range strings.SplitSeq(value, ",") {
				switch opt = textproto.TrimString(opt); {
				case strings.EqualFold(opt, "close"):
					ans.close, closeOpt = true, true
				case strings.EqualFold(opt, "keep-alive"):
					keepAlive = true
				case opt == "":
				default:
					return ans, false
				}
			}
			f.skip = true
		case fieldHopByHop, fieldTE, fieldUpgrade, fieldTrailer:
			f.skip = true
		case fieldRequestID:
			ans.hasID = true
		case fieldDate:
			ans.hasDate = true
		case fieldVia:
			ans.lastVia = len(fs)
		}
		fs = append(fs, f)
	}
	*fields = fs
	if ans.minor == 0 && !keepAlive {
		ans.close = true
	}
	if closeOpt {
		// "Connection: close" names a field too.
		for i := range fs {
			if strings.EqualFold(fs[i].name, "Close") {
				fs[i].skip = true
			}
		}
	}
	ans.noBody = method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	return ans, ans.noBody || ans.length >= 0
}

// fastRelay relays a plain answer (fastConn.ans) whose head was read.
func (e *entry) fastRelay(fc *fastConn, st *reqState, x *exchange, a *attempt, pc *h1.UpstreamConn) bool {
	c, q := fc.c, &fc.q
	ans := fc.ans
	st.w = nil // an answer retried before this one may have set up the general writer; it wrote nothing
	fc.started = true
	out := c.Writer()
	h1.WriteStatusLine(out, ans.code)
	if !ans.hasDate {
		out.WriteString("Date: ")
		out.WriteString(h1.Date(a.start))
		out.WriteString("\r\n")
	}
	closeAfter := q.close || c.ShuttingDown()
	if closeAfter {
		out.WriteString("Connection: close\r\n")
	}
	via := viaValue(1, ans.minor)
	writeRawFields(out, fc.answer, -1, "", ans.lastVia, via)
	if !ans.hasID {
		out.WriteString(HeaderRequestID + ": ")
		out.WriteString(st.id)
		out.WriteString("\r\n")
	}
	if ans.lastVia < 0 {
		out.WriteString("Via: ")
		out.WriteString(via)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	st.status, st.wroteHeader = ans.code, true
	x.success = ans.code < 500

	var readErr, writeErr error
	if !ans.noBody {
		var n int64
		n, readErr, writeErr = pc.CopyBody(out, ans.length)
		st.written += n
	}
	c.Unwatch()

	a.relay, a.status = true, ans.code
	switch {
	case readErr != nil:
		// The upstream broke the body after the status went out: the
		// client's answer is cut short too (the connection ends).
		pc.Close()
		if c.Context().Err() != nil {
			x.noOutcome, a.noRecord = true, true
			st.status, st.reason = statusClientClosed, ReasonClientClosed
			readErr = nil
		} else {
			x.success = false
			st.reason = ReasonUpstreamReset
			if x.hasDeadline && !time.Now().Before(x.deadline) {
				st.reason = ReasonRequestTimeout
			}
		}
		a.finish(readErr)
		st.abort = true
		return false
	case writeErr != nil:
		pc.Close()
		x.noOutcome, a.noRecord = true, true
		st.reason = ReasonClientClosed
		a.finish(nil)
		return false
	}
	// The answer has been read: the connection goes back to the pool
	// before the client has all of it, as the general path's does.
	pc.Release(!ans.close && !c.ClientGone() && (!x.hasDeadline || pc.SetDeadline(time.Time{}) == nil))
	a.finish(nil)
	return !closeAfter
}

// writeRawFields writes the fields that are not skipped, with canonical
// names, appending ", "+a to the value of the field at index atA (and b at
// atB); -1 appends nothing.
func writeRawFields(bw *bufio.Writer, fields []rawField, atA int, a string, atB int, b string) {
	for i := range fields {
		f := &fields[i]
		if f.skip {
			continue
		}
		bw.WriteString(h1.CanonicalKey(f.name))
		bw.WriteString(": ")
		bw.WriteString(f.value)
		switch i {
		case atA:
			bw.WriteString(", ")
			bw.WriteString(a)
		case atB:
			bw.WriteString(", ")
			bw.WriteString(b)
		}
		bw.WriteString("\r\n")
	}
}

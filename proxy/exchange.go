package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
	"github.com/meshbench/meshbench/proxy/breaker"
)

// exchange is one downstream request's way through a cluster: admission,
// deadline, body, tries, and the answer.
type exchange struct {
	rt *route
	c  *cluster
	w  http.ResponseWriter
	in *http.Request
	st *reqState

	ctx         context.Context // downstream context bounded by the route timeout and caller deadline
	deadline    time.Time
	hasDeadline bool
	key         uint64

	body       []byte // buffered body, replayed by every try
	stream     *bodyReader
	replayable bool

	tmpl *http.Request // outbound request template: method, header, host, length
	url  url.URL       // outbound URL without host

	success   bool // the answer counts as a success (breaker, adaptive concurrency)
	noOutcome bool // the client left or sent a bad body: nothing to learn
}

// bodyReader remembers why reading the downstream body failed, so a failed
// try can be blamed on the client (400/413) rather than the upstream.
// The transport reads the body on its own goroutine, hence the lock.
type bodyReader struct {
	rc  io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failure returns the first read error other than EOF; nil-safe.
func (b *bodyReader) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *bodyReader) Close() error { return b.rc.Close() }

// run takes the cluster's admission checks, cheapest and least stateful
// first (Envoy's max_requests threshold, the concurrency limiter, then the
// outcome breaker, whose Allow obliges a Record), sends the tries and writes
// the answer.
func (x *exchange) run(now time.Time) {
	c, rt, st := x.c, x.rt, x.st
	m := rt.env.metrics
	if !c.admission.Acquire(breaker.Requests) {
		m.rejected(rt.name, ReasonOverflow)
		writeError(x.w, st, http.StatusServiceUnavailable, ReasonOverflow)
		return
	}
	defer c.admission.Release(breaker.Requests)
	if c.conc != nil {
		if !c.conc.Acquire(now) {
			m.rejected(rt.name, ReasonConcurrencyLimited)
			writeError(x.w, st, http.StatusServiceUnavailable, ReasonConcurrencyLimited)
			return
		}
		defer func() {
			end := time.Now()
			c.conc.Release(end, end.Sub(now), x.success)
		}()
	}
	if c.breaker != nil {
		if !c.breaker.Allow(now) {
			m.rejected(rt.name, ReasonCircuitOpen)
			writeError(x.w, st, http.StatusServiceUnavailable, ReasonCircuitOpen)
			return
		}
		defer x.recordBreaker()
	}

	ctx := x.in.Context()
	timeout := rt.timeout
	if st.hasBudget && (timeout <= 0 || st.budget < timeout) {
		timeout = st.budget
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errRouteTimeout)
		defer cancel()
	}
	x.ctx = ctx
	x.deadline, x.hasDeadline = ctx.Deadline()

	if rt.useHashKey {
		if k, ok := httpkey.Of(rt.hashKey, x.in); ok {
			x.key = k
		} else {
			x.key = st.rng.Uint64()
		}
	}
	if !x.prepareBody() {
		return
	}
	x.prepareRequest(now)
	if rt.budget != nil {
		rt.budget.Deposit(now)
	}
	x.respond(x.tries())
}

// recordBreaker reports the request's outcome to the outcome breaker: a 5xx
// or a failed try is a failure. Requests whose client left report nothing;
// the breaker re-admits probes whose outcome never came after a sleep
// window.
func (x *exchange) recordBreaker() {
	if x.noOutcome {
		return
	}
	now := time.Now()
	if tr := x.c.breaker.Record(now, x.success); tr.Changed() {
		x.c.env.event(Event{Time: now, Kind: EventBreaker, Cluster: x.c.name, Up: tr.To == breaker.Closed, Detail: tr.String()})
	}
}

// prepareBody decides how the request body reaches the upstream. A body is
// buffered, so that retries and hedges can replay it, only when the route
// retries or hedges and the body is at most retry.bufferBytes long (known
// from Content-Length, or found by reading one byte past the limit). A
// longer body is streamed to the first try only, and that request is neither
// retried nor hedged: replaying it would mean holding an unbounded body in
// memory. Without retries and hedges every body streams.
func (x *exchange) prepareBody() bool {
	in, rt := x.in, x.rt
	if in.Body == nil || in.Body == http.NoBody {
		x.replayable = true
		return true
	}
	if !rt.replays || in.ContentLength > rt.bufferBytes {
		x.stream = &bodyReader{rc: in.Body}
		_ = http.NewResponseController(x.w).EnableFullDuplex()
		return true
	}
	data, err := io.ReadAll(io.LimitReader(in.Body, rt.bufferBytes+1))
	if err != nil {
		x.noOutcome = true
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(x.w, x.st, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge)
		} else {
			writeError(x.w, x.st, http.StatusBadRequest, ReasonBadRequest)
		}
		return false
	}
	if int64(len(data)) > rt.bufferBytes {
		x.stream = &bodyReader{rc: readCloser{io.MultiReader(bytes.NewReader(data), in.Body), in.Body}}
		_ = http.NewResponseController(x.w).EnableFullDuplex()
		return true
	}
	x.body = data
	x.replayable = true
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// prepareRequest builds the outbound template once: the path rewritten,
// hop-by-hop fields removed, forwarding fields and request id set, the
// remaining deadline stamped. The downstream header map is reused in place
// (the proxy owns it once routing is done), which saves a copy per request.
func (x *exchange) prepareRequest(now time.Time) {
	in, rt, st := x.in, x.rt, x.st
	h := in.Header
	removeHopByHop(h, true)
	setForwarded(h, in, st.clientIP)
	h[HeaderRequestID] = st.idHeader
	if left, ok := x.budgetLeft(now); ok {
		h[HeaderDeadline] = []string{deadlineValue(left)}
	}

	p := rt.rewrite.rewritePath(st.path)
	x.url = url.URL{Scheme: x.c.scheme, Path: p, RawQuery: in.URL.RawQuery}
	if p == in.URL.Path {
		x.url.RawPath = in.URL.RawPath
	}
	host := in.Host
	if rt.rewrite.host != "" {
		host = rt.rewrite.host
	}
	x.tmpl = &http.Request{
		Method:     in.Method,
		URL:        &x.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       host,
		Trailer:    in.Trailer,
	}
	switch {
	case x.body != nil:
		x.tmpl.ContentLength = int64(len(x.body))
	case x.stream != nil:
		x.tmpl.ContentLength = in.ContentLength
	}
}

// budgetLeft is the time a try may take: what is left of the exchange's
// deadline, cut to the per-try timeout.
func (x *exchange) budgetLeft(now time.Time) (time.Duration, bool) {
	var left time.Duration
	ok := false
	if x.hasDeadline {
		left, ok = x.deadline.Sub(now), true
	}
	if x.rt.retry != nil && x.rt.retry.PerTryTimeout > 0 && (!ok || x.rt.retry.PerTryTimeout < left) {
		left, ok = x.rt.retry.PerTryTimeout, true
	}
	return left, ok
}

// newRequest makes the outbound request of one try. The first try uses the
// template's header; later tries and hedges get a copy with a fresh
// deadline, since concurrent hedges must not share a map being written.
func (x *exchange) newRequest(a *attempt, fresh bool) *http.Request {
	out := x.tmpl.WithContext(a.ctx)
	u := x.url
	u.Host = a.ep.addr
	out.URL = &u
	if x.rt.rewrite.hostFromEndpoint {
		out.Host = a.ep.addr
	}
	if fresh {
		out.Header = x.tmpl.Header.Clone()
		if left, ok := x.budgetLeft(a.start); ok {
			out.Header[HeaderDeadline] = []string{deadlineValue(left)}
		}
	}
	switch {
	case x.body != nil:
		body := x.body
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	case x.stream != nil:
		out.Body = x.stream
	}
	return out
}

package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// reqBody is how a general-path request reaches its upstream: its body
// (buffered for replay, or streamed to one try) and the outbound request
// every try is made from.
type reqBody struct {
	prepared   bool
	body       []byte // buffered body, replayed by every try
	stream     *bodyReader
	replay     *replayBody // a streamed gRPC body kept for replay up to retry.bufferBytes (replay.go)
	replayable bool
	readErr    error // why reading the body to buffer it failed

	tmpl *http.Request // outbound request template: method, header, host, length
	url  url.URL       // outbound URL without host
}

// bodyReader remembers why reading the downstream body failed, so a failed
// try can be blamed on the client (400/413) rather than the upstream.
// The transport reads the body on its own goroutine, hence the lock.
type bodyReader struct {
	rc     io.ReadCloser
	mu     sync.Mutex
	err    error
	closed bool // the transport closed it: later read errors are its doing
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil && !b.closed {
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

// Close closes the downstream body. The transport closes it when the
// upstream's stream ends early (a reset, a cancelled try), which makes a
// read still under way fail: that failure is not the client's.
func (b *bodyReader) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.rc.Close()
}

// bodyTimedOut reports whether the request body failed because the client
// stopped sending it in time (server.bodyTimeout or readTimeout): the
// request is answered 408, as nginx does, not 400.
func (x *exchange) bodyTimedOut() bool {
	err := x.readErr
	if err == nil {
		err = x.stream.failure()
	}
	if err == nil {
		err = x.replay.failure()
	}
	return err != nil && isTimeout(err)
}

// prepareBody decides how the request body reaches the upstream. A body is
// buffered, so that retries and hedges can replay it, only when the route
// retries or hedges and the body is at most retry.bufferBytes long (known
// from Content-Length, or found by reading one byte past the limit). A
// longer body is streamed to the first try only, and that request is neither
// retried nor hedged: replaying it would mean holding an unbounded body in
// memory. Without retries and hedges every body streams. A body that
// cannot be read is the failure it returns.
//
// A gRPC request of unknown length over HTTP/2 (a client or bidirectional
// stream, or a unary call) is neither read ahead nor streamed once: it
// streams to the tries through a replayBody, which keeps its first
// retry.bufferBytes for retries and hedges and commits the request to one
// try when the stream outgrows that. It does on a route without retries
// too: an upstream that refuses the stream unprocessed (GOAWAY past its
// last stream, REFUSED_STREAM; a gRPC server at its MaxConnectionAge) has
// the HTTP/2 transport send it again on another connection, from the kept
// prefix (newRequest's GetBody), as Envoy does with streams a draining
// connection did not take.
func (x *exchange) prepareBody() (lifecycle.Failure, bool) {
	x.prepared = true
	in, rt := x.in, x.rt
	if in.Body == nil || in.Body == http.NoBody || emptyBody(in) {
		x.replayable = true
		return lifecycle.NoFailure, true
	}
	if x.st.grpc && in.ContentLength < 0 && in.ProtoMajor == 2 {
		x.replay = newReplayBody(in.Body, rt.bufferBytes)
		x.replayable = true
		_ = http.NewResponseController(x.w).EnableFullDuplex()
		return lifecycle.NoFailure, true
	}
	if !rt.replays || in.ContentLength > rt.bufferBytes {
		x.stream = &bodyReader{rc: in.Body}
		_ = http.NewResponseController(x.w).EnableFullDuplex()
		return lifecycle.NoFailure, true
	}
	data, err := io.ReadAll(io.LimitReader(in.Body, rt.bufferBytes+1))
	if err != nil {
		x.readErr = err
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return lifecycle.BodyTooLarge, false
		}
		return lifecycle.BadBody, false
	}
	if int64(len(data)) > rt.bufferBytes {
		x.stream = &bodyReader{rc: readCloser{io.MultiReader(bytes.NewReader(data), in.Body), in.Body}}
		_ = http.NewResponseController(x.w).EnableFullDuplex()
		return lifecycle.NoFailure, true
	}
	x.body = data
	x.replayable = true
	return lifecycle.NoFailure, true
}

// emptyBody reports whether a request's body is known to be empty though
// it has one: an HTTP/2 request whose HEADERS ended the stream has a Body
// (golang.org/x/net/http2 gives every request one) with ContentLength 0,
// and so has one that declared content-length: 0, which the server holds
// to it (more DATA resets the stream). Either goes upstream without a body,
// which lets the cluster's own client send it (a body of unknown length
// would go to net/http's Transport, which probes it on a goroutine of its
// own), unless the request announced trailers, which only the body's end
// delivers.
func emptyBody(in *http.Request) bool {
	return in.ProtoMajor == 2 && in.ContentLength == 0 && in.Trailer == nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// prepareRequest builds the outbound template once: the path rewritten,
// hop-by-hop fields removed, forwarding fields and request id set. The
// downstream header map is reused in place (the proxy owns it once routing
// is done), which saves a copy per request.
func (x *exchange) prepareRequest() {
	in, rt, st := x.in, x.rt, x.st
	h := in.Header
	removeHopByHop(h, true)
	setForwarded(h, in, st.clientIP)
	h[HeaderRequestID] = st.idHeader

	x.url = url.URL{Scheme: x.c.scheme, RawQuery: in.URL.RawQuery}
	setPath(&x.url, rt.rewrite.Path(st.path))
	host := in.Host
	if h := rt.rewrite.Host(); h != "" {
		host = h
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
	case x.stream != nil, x.replay != nil:
		x.tmpl.ContentLength = in.ContentLength
	}
}

// newRequest makes the outbound request of one try, stamped with the time
// the try may take (its Timeout: what is left of the deadline, or the
// per-try timeout). The first try uses the template's header; later tries
// and hedges get a copy, since concurrent hedges must not share a map being
// written.
func (x *exchange) newRequest(t *attempt, timeout time.Duration, fresh bool) *http.Request {
	out := x.tmpl.WithContext(t.ctx)
	u := x.url
	u.Host = t.ep.addr
	out.URL = &u
	if x.rt.rewrite.HostFromEndpoint() {
		out.Host = t.ep.addr
	}
	if fresh {
		out.Header = x.tmpl.Header.Clone()
	}
	if timeout > 0 {
		out.Header[HeaderDeadline] = []string{deadlineValue(timeout)}
		if x.st.grpc {
			out.Header[headerGRPCTimeout] = []string{grpcTimeoutValue(timeout)}
		}
	}
	switch {
	case x.body != nil:
		body := x.body
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	case x.stream != nil:
		out.Body = x.stream
	case x.replay != nil:
		replay, try := x.replay, t.try
		out.Body = replay.reader(try)
		// The transport asks for the body again only for a stream the
		// upstream did not process; it can have it while the kept prefix
		// is still the whole body.
		out.GetBody = func() (io.ReadCloser, error) {
			if !replay.whole() {
				return nil, errReplayOverflow
			}
			return replay.reader(try), nil
		}
	}
	return out
}

// setPath makes raw, a path in escaped form (as received, then normalised
// and rewritten as the route says), the path u's RequestURI writes, byte
// for byte: Path and RawPath when that is how url.URL escapes it, else
// Opaque (which a path beginning "//" cannot be: such a path goes out with
// url.URL's escaping of what it decodes to).
func setPath(u *url.URL, raw string) {
	u.Path, u.RawPath = raw, ""
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	}
	if u.EscapedPath() != raw && !strings.HasPrefix(raw, "//") {
		u.Opaque = raw
	}
}

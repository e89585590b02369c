package proxy

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshbench/meshbench/proxy/mtls"
)

// h1server is the data plane's own HTTP/1.x server, for plaintext and TLS
// listeners.
//
// It exists for speed, not features: net/http's server costs the proxy more
// CPU per request than nginx spends in total (bench-proxy), and most of that
// is not HTTP parsing but its per-request machinery — a background read on
// every request to notice a client going away (an extra read syscall and a
// goroutine switch), a cancelable context per request, several read-deadline
// changes, sorted header output. A minimal goroutine-per-connection relay in
// Go spends about what nginx spends on the same bench, so the Go runtime and
// its netpoller are not what costs. This server keeps a goroutine per
// connection and the http.Handler interface the whole proxy is written
// against, and drops the rest:
//
//   - one connection-wide context: requests on a connection are sequential,
//     and a client that goes away takes the connection with it;
//   - a client going away is noticed by a one-byte read started only when a
//     request has been in the handler for clientGoneCheckAfter (net/http
//     starts one for every request);
//   - the idle read deadline is moved at most once a second;
//   - a response whose length is unknown is held up to heldBodyBytes and
//     then sent with a Content-Length, as net/http does, or chunked.
//
// On a TLS listener it runs the handshake itself and serves connections
// that chose HTTP/1.1 (or nothing) by ALPN. Connections that chose h2, and
// plaintext ones that open with the HTTP/2 preface (h2c prior knowledge),
// are handed to net/http, which has the HTTP/2 server. Upgrades are not
// proxied (see hopbyhop.go), so the server has no Hijack.
type h1server struct {
	h   http.Handler
	sc  ServerConfig
	log *slog.Logger
	h2  *http.Server     // serves the HTTP/2 connections; nil: there are none
	hl  *handoffListener // feeds h2
	h2c bool             // plaintext connections may open with the preface

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*h1conn]struct{}
	shut    atomic.Bool
	changed chan struct{} // a connection ended (Shutdown waits on it)

	watchHook func(string) // tests: told "watching" and "pending" by watch

	// fast, when set, may serve a request from its head alone, without an
	// http.Request (see fastpath.go). It reports whether it took the
	// request and, if it did, whether the connection can go on; a request
	// it does not take it has not touched, and the handler gets it.
	fast func(c *h1conn, head string) (keep, handled bool)
}

const (
	// clientGoneCheckAfter is how long a request runs before the server
	// starts watching its connection for the client going away.
	clientGoneCheckAfter = 10 * time.Millisecond
	// heldBodyBytes is how much of a response of unknown length is held so
	// that a short one can still go out with a Content-Length.
	heldBodyBytes = 2048
	// discardBodyBytes is how much of a request body the handler left
	// unread is read and dropped to keep the connection; more closes it.
	discardBodyBytes = 256 << 10
	// idleDeadlineSlack is how stale the idle read deadline may get before
	// it is moved: the idle timeout is honoured to within this.
	idleDeadlineSlack = time.Second
	// maxLeadingBlankLines before a request line are skipped (RFC 9112
	// section 2.2); more is a bad request.
	maxLeadingBlankLines = 4
)

// newH1Server serves h. h2, when not nil, takes the HTTP/2 connections:
// those that chose h2 by ALPN and, with h2c set, plaintext ones that open
// with the HTTP/2 preface.
func newH1Server(h http.Handler, sc ServerConfig, log *slog.Logger, h2 *http.Server, h2c bool) *h1server {
	return &h1server{h: h, sc: sc, log: log, h2: h2, h2c: h2c && h2 != nil, conns: map[*h1conn]struct{}{}, changed: make(chan struct{}, 1)}
}

// Serve accepts connections on ln until Shutdown. It returns
// http.ErrServerClosed after Shutdown, like http.Server.
func (s *h1server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shut.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.ln = ln
	if s.h2 != nil {
		s.hl = newHandoffListener(ln.Addr())
		go func() { _ = s.h2.Serve(s.hl) }()
	}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shut.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off and go on,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "error", err, "after", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := s.track(nc)
		if c == nil {
			nc.Close()
			return http.ErrServerClosed
		}
		go c.serve()
	}
}

func (s *h1server) track(nc net.Conn) *h1conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut.Load() {
		return nil
	}
	c := newH1Conn(s, nc)
	s.conns[c] = struct{}{}
	return c
}

func (s *h1server) untrack(c *h1conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Shutdown stops accepting, closes idle connections, lets each busy one
// finish the request it is serving and then closes it, and returns when
// none is left or ctx is done.
func (s *h1server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut.Store(true)
	ln, hl := s.ln, s.hl
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	var h2err chan error
	if s.h2 != nil && hl != nil {
		h2err = make(chan error, 1)
		go func() { h2err <- s.h2.Shutdown(ctx) }()
	}
	for {
		s.mu.Lock()
		for c := range s.conns {
			c.closeIfIdle()
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if h2err != nil {
		return <-h2err
	}
	return nil
}

// Connection states: a connection is idle between requests, when Shutdown
// may close it; busy while reading or serving one; closed once Shutdown
// has closed it.
const (
	connIdle int32 = iota
	connBusy
	connClosed
)

// h1conn is one downstream connection and the goroutine serving it.
type h1conn struct {
	s      *h1server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	state  atomic.Int32
	ctx    context.Context
	cancel context.CancelCauseFunc

	head     []byte    // the request head being read, reused
	held     []byte    // a response body held before its length is known, reused
	rdl      time.Time // the read deadline currently set (zero: none)
	hdr      http.Header
	first    bool
	resp     h1resp
	watchT   *time.Timer   // starts watch; nil until first needed
	watchOn  bool          // watchT is armed for the current request
	watchEnd chan struct{} // watch sends when it has returned
	pending  int           // a byte watch read, or -1
	pend     [1]byte
	gone     error                // what watch saw: the client went away
	wmu      sync.Mutex           // see h1resp.started
	tls      *tls.ConnectionState // every request's r.TLS on a TLS connection
	// up is the upstream connection the fast path waits on, which watch
	// interrupts when the client goes away.
	up atomic.Pointer[h1Conn]

	// FastState is the fast hook's own state for this connection, kept
	// across its requests; the server never looks at it.
	FastState any
}

var (
	h1ReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	h1WriterPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// errClientGone cancels a connection's context when its client closes it.
var errClientGone = errors.New("client closed the connection")

func newH1Conn(s *h1server, nc net.Conn) *h1conn {
	c := &h1conn{s: s, nc: nc, remote: nc.RemoteAddr().String(), first: true, pending: -1}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

// Read reads from the connection, first handing over a byte the watch
// took while a request was being served.
func (c *h1conn) Read(p []byte) (int, error) {
	if c.pending >= 0 && len(p) > 0 {
		p[0] = byte(c.pending)
		c.pending = -1
		return 1, nil
	}
	return c.nc.Read(p)
}

func (c *h1conn) closeIfIdle() {
	if c.state.CompareAndSwap(connIdle, connClosed) {
		c.nc.Close()
	}
}

func (c *h1conn) serve() {
	c.br = h1ReaderPool.Get().(*bufio.Reader)
	c.br.Reset(c)
	c.bw = h1WriterPool.Get().(*bufio.Writer)
	c.bw.Reset(c.nc)
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("panic in the HTTP/1.1 server", "panic", v, "stack", string(debug.Stack()))
		}
		c.finish()
	}()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	for {
		if !c.awaitRequest() {
			return
		}
		if c.first && c.s.h2c && c.tls == nil && c.h2cPreface() {
			c.handoff()
			return
		}
		c.first = false
		head, herr := c.readHead()
		if herr != nil {
			c.reject(herr)
			return
		}
		if d := c.s.sc.WriteTimeout.D(); d > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(d))
		}
		keep, handled := false, false
		if c.s.fast != nil {
			keep, handled = c.s.fast(c, head)
		}
		if !handled {
			req, herr := c.parseRequest(head)
			if herr != nil {
				c.reject(herr)
				return
			}
			keep = c.serveOne(req)
		}
		if !keep || c.s.shut.Load() {
			return
		}
		if !c.state.CompareAndSwap(connBusy, connIdle) {
			return
		}
		// Shutdown may have looked before this connection went idle.
		if c.s.shut.Load() {
			return
		}
	}
}

// finish closes the connection (unless handed off) and returns buffers.
func (c *h1conn) finish() {
	if c.nc != nil {
		c.nc.Close()
	}
	c.cancel(errClientGone)
	if c.watchT != nil {
		c.watchT.Stop()
	}
	c.br.Reset(nil)
	h1ReaderPool.Put(c.br)
	c.bw.Reset(nil)
	h1WriterPool.Put(c.bw)
	c.s.untrack(c)
}

// awaitRequest waits, within the idle timeout, for the first byte of the
// next request, and marks the connection busy once it has one.
func (c *h1conn) awaitRequest() bool {
	if c.br.Buffered() == 0 && c.pending < 0 {
		if d := c.s.sc.IdleTimeout.D(); d > 0 {
			now := time.Now()
			if dl := now.Add(d); c.rdl.IsZero() || dl.Sub(c.rdl) > idleDeadlineSlack {
				if c.nc.SetReadDeadline(dl) != nil {
					return false
				}
				c.rdl = dl
			}
		} else if !c.rdl.IsZero() {
			if c.nc.SetReadDeadline(time.Time{}) != nil {
				return false
			}
			c.rdl = time.Time{}
		}
		// The next request cannot have come yet; as in
		// h1Conn.ReadAnswerHead, yield before reading so that under load
		// the read finds it.
		runtime.Gosched()
		if _, err := c.br.Peek(1); err != nil {
			return false
		}
	}
	if !c.state.CompareAndSwap(connIdle, connBusy) {
		return false
	}
	// Headers that have not all arrived get the header timeout.
	if d := c.s.sc.ReadHeaderTimeout.D(); d > 0 {
		b, _ := c.br.Peek(c.br.Buffered())
		if !bytes.Contains(b, []byte("\n\r\n")) && !bytes.Contains(b, []byte("\n\n")) {
			dl := time.Now().Add(d)
			if c.nc.SetReadDeadline(dl) != nil {
				return false
			}
			c.rdl = dl
		}
	}
	return true
}

// handshake runs the TLS handshake within the header timeout (the read
// timeout without one, as net/http does) and reports whether this server
// serves the connection: one that chose h2 by ALPN is handed to net/http.
func (c *h1conn) handshake(tc *tls.Conn) bool {
	if d := cmp.Or(c.s.sc.ReadHeaderTimeout.D(), c.s.sc.ReadTimeout.D()); d > 0 {
		dl := time.Now().Add(d)
		_ = tc.SetReadDeadline(dl)
		_ = tc.SetWriteDeadline(dl)
	}
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.s.log.Debug("TLS handshake failed", "remote", c.remote, "error", err)
		// A plaintext request to a TLS port gets a plaintext answer.
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	if cs.NegotiatedProtocol == "h2" {
		if c.s.hl != nil && c.s.hl.deliver(tc) {
			c.nc = nil
		}
		return false
	}
	c.tls = &cs
	return true
}

// looksLikeHTTP reports whether the first bytes of a would-be TLS record
// are the start of an HTTP/1.x request.
func looksLikeHTTP(b [5]byte) bool {
	switch string(b[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// h2Preface opens every HTTP/2 connection (RFC 9113 section 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2cPreface reports whether the connection opens with the HTTP/2 preface,
// reading no further than needed to tell.
func (c *h1conn) h2cPreface() bool {
	for n := 1; n <= len(h2Preface); n++ {
		b, err := c.br.Peek(n)
		if len(b) < n || err != nil || b[n-1] != h2Preface[n-1] {
			return false
		}
	}
	return true
}

// handoff gives the connection, with what has been read of it, to the
// net/http server behind hl.
func (c *h1conn) handoff() {
	rest := make([]byte, c.br.Buffered())
	_, _ = io.ReadFull(c.br, rest)
	if c.rdl != (time.Time{}) {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	if c.s.hl.deliver(mtls.WithPrefix(c.nc, rest)) {
		c.nc = nil
	}
}

// headError is a request head the server refuses, with its status.
type headError struct {
	status int
	msg    string
}

func (e *headError) Error() string { return e.msg }

var (
	headTooLarge = &headError{http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"}
	headClosed   = &headError{0, "connection closed before the request head was complete"}
)

func badRequest(msg string) *headError { return &headError{http.StatusBadRequest, msg} }

// reject answers a request head the server cannot take and closes.
func (c *h1conn) reject(e *headError) {
	if e.status == 0 {
		return
	}
	text := strconv.Itoa(e.status) + " " + http.StatusText(e.status)
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c.bw, "HTTP/1.1 "+text+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(text)+2+len(e.msg)+1)+"\r\n\r\n"+text+": "+e.msg+"\n")
	_ = c.bw.Flush()
}

// readHead reads the request line and header fields into c.head.
func (c *h1conn) readHead() (string, *headError) {
	limit := c.s.sc.MaxHeaderBytes
	if limit <= 0 {
		limit = DefaultMaxHeaderBytes
	}
	head, err := readHeadInto(c.br, &c.head, limit)
	if err == nil {
		return head, nil
	}
	var ne net.Error
	switch {
	case err == errHeadTooLong:
		return "", headTooLarge
	case err == errBlankLines:
		return "", badRequest(err.Error())
	case len(c.head) > 0 && errors.As(err, &ne) && ne.Timeout():
		return "", &headError{http.StatusRequestTimeout, "request head not received in time"}
	}
	return "", headClosed
}

// readRequest reads and checks one request head and builds the request.
func (c *h1conn) readRequest() (*http.Request, *headError) {
	head, herr := c.readHead()
	if herr != nil {
		return nil, herr
	}
	return c.parseRequest(head)
}

// parseRequest checks a request head and builds the request.
func (c *h1conn) parseRequest(head string) (*http.Request, *headError) {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, target, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(target, " ")
	if !ok1 || !ok2 || !validMethod(method) || target == "" {
		return nil, badRequest("malformed request line")
	}
	major, minor := 1, 1
	switch proto {
	case "HTTP/1.1":
	case "HTTP/1.0":
		minor = 0
	default:
		var ok bool
		if major, minor, ok = http.ParseHTTPVersion(proto); !ok {
			return nil, badRequest("malformed HTTP version")
		}
		if major != 1 {
			return nil, &headError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version " + proto}
		}
	}

	h, err := parseFields(rest)
	if err != nil {
		return nil, badRequest("malformed header field")
	}
	// Host is the request's, not a field handlers see (as in net/http).
	hosts := h["Host"]
	delete(h, "Host")
	var host string
	if len(hosts) > 0 {
		host = hosts[0]
	}

	req := http.Request{
		Method:     method,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     h,
		RemoteAddr: c.remote,
		RequestURI: target,
		TLS:        c.tls,
	}
	if len(hosts) > 1 {
		return nil, badRequest("more than one Host field")
	}
	if len(hosts) == 0 && minor >= 1 {
		return nil, badRequest("missing Host field")
	}
	if !httpguts.ValidHostHeader(host) {
		return nil, badRequest("malformed Host field")
	}
	authority := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	raw := target
	if authority {
		raw = "http://" + target
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, badRequest("malformed request target")
	}
	if authority {
		u.Scheme = ""
	}
	req.URL = u
	req.Host = cmp.Or(u.Host, host)
	if !httpguts.ValidHostHeader(req.Host) {
		return nil, badRequest("malformed host in the request target")
	}

	// Framing (RFC 9112 section 6): a Transfer-Encoding other than chunked
	// is not implemented, and one alongside a Content-Length is refused
	// outright rather than guessed at (request smuggling).
	cl := int64(0)
	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		if minor == 0 {
			return nil, badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return nil, &headError{http.StatusNotImplemented, "unsupported transfer coding"}
		}
		if _, ok := h["Content-Length"]; ok {
			return nil, badRequest("both Transfer-Encoding and Content-Length")
		}
		delete(h, "Transfer-Encoding")
		chunked = true
		cl = -1
		req.TransferEncoding = []string{"chunked"}
	} else if vs, ok := h["Content-Length"]; ok {
		for _, v := range vs[1:] {
			if v != vs[0] {
				return nil, badRequest("conflicting Content-Length fields")
			}
		}
		n, err := strconv.ParseUint(vs[0], 10, 63)
		if err != nil {
			return nil, badRequest("malformed Content-Length")
		}
		cl = int64(n)
	}
	req.ContentLength = cl

	conn := h["Connection"]
	if minor == 0 {
		req.Close = !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		req.Close = httpguts.HeaderValuesContainsToken(conn, "close")
	}
	// The one request the handler gets, with the connection's context.
	r := req.WithContext(c.ctx)
	expect := false
	if ex, ok := h["Expect"]; ok && minor >= 1 {
		if len(ex) != 1 || !strings.EqualFold(ex[0], "100-continue") {
			return nil, &headError{http.StatusExpectationFailed, "unsupported expectation"}
		}
		expect = cl != 0
	}

	if cl == 0 {
		r.Body = http.NoBody
	} else {
		b := &h1body{c: c, remain: cl, req: r, expect: expect}
		if chunked {
			b.chunked = httputil.NewChunkedReader(c.br)
			if tr, ok := h["Trailer"]; ok {
				r.Trailer = http.Header{}
				for _, v := range tr {
					for k := range strings.SplitSeq(v, ",") {
						if k = textproto.TrimString(k); k != "" {
							r.Trailer[textproto.CanonicalMIMEHeaderKey(k)] = nil
						}
					}
				}
			}
		}
		r.Body = b
		// The body is read under the read timeout, not the idle or header
		// deadline left from waiting for the head.
		var dl time.Time
		if d := c.s.sc.ReadTimeout.D(); d > 0 {
			dl = time.Now().Add(d)
		}
		if dl != c.rdl {
			_ = c.nc.SetReadDeadline(dl)
			c.rdl = dl
		}
	}
	return r, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

// canonicalKey returns name in canonical form, without allocating when it
// already is (as most clients send them).
func canonicalKey(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if upper && 'a' <= ch && ch <= 'z' || !upper && 'A' <= ch && ch <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(name)
		}
		upper = ch == '-'
	}
	return name
}

// serveOne runs the handler for r and finishes its response. It reports
// whether the connection can take another request.
func (c *h1conn) serveOne(r *http.Request) (keep bool) {
	w := c.newResponse(r)
	body, _ := r.Body.(*h1body)
	if body == nil {
		c.armWatch()
	}
	aborted := c.runHandler(w, r)
	if body != nil {
		body.closeForServer()
	}
	c.disarmWatch()
	c.held = w.held[:0]
	if aborted || c.gone != nil {
		return false
	}
	if !w.finish() {
		return false
	}
	if body != nil && !body.drain() {
		return false
	}
	return !w.closeAfter && !r.Close
}

// newResponse makes the connection's response writer ready for r.
func (c *h1conn) newResponse(r *http.Request) *h1resp {
	if c.hdr == nil {
		c.hdr = make(http.Header, 8)
	} else {
		clear(c.hdr)
	}
	c.resp = h1resp{c: c, req: r, header: c.hdr, cl: -1, held: c.held[:0]}
	return &c.resp
}

// runHandler calls the handler, recovering a panic: http.ErrAbortHandler
// (the handler giving up on a started response) silently, anything else
// logged. Either way the connection is closed, not answered further.
func (c *h1conn) runHandler(w *h1resp, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			aborted = true
			if v != http.ErrAbortHandler {
				c.s.log.Error("panic serving request", "panic", v, "stack", string(debug.Stack()))
			}
		}
	}()
	c.s.h.ServeHTTP(w, r)
	return false
}

// armWatch starts, after clientGoneCheckAfter, a one-byte read that
// notices the client closing the connection while its request is served.
// It is armed only once the request body has been read: before that the
// handler's own reads notice.
func (c *h1conn) armWatch() {
	if c.watchT == nil {
		c.watchEnd = make(chan struct{}, 1)
		c.watchT = time.AfterFunc(clientGoneCheckAfter, c.watch)
	} else {
		c.watchT.Reset(clientGoneCheckAfter)
	}
	c.watchOn = true
}

func (c *h1conn) watch() {
	hook := c.s.watchHook
	if hook != nil {
		hook("watching")
	}
	n, err := c.nc.Read(c.pend[:])
	if n == 1 {
		// The next request (pipelined) has begun: keep its first byte.
		c.pending = int(c.pend[0])
		if hook != nil {
			hook("pending")
		}
	} else if err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			c.gone = err
			c.cancel(errClientGone)
			if pc := c.up.Load(); pc != nil {
				_ = pc.nc.SetDeadline(aLongTimeAgo)
			}
		}
	}
	c.watchEnd <- struct{}{}
}

// disarmWatch stops the watch, or ends a read it has started and waits for
// it, so that the connection is the server's alone again.
func (c *h1conn) disarmWatch() {
	if !c.watchOn {
		return
	}
	c.watchOn = false
	if c.watchT.Stop() {
		return
	}
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
	<-c.watchEnd
	_ = c.nc.SetReadDeadline(time.Time{})
	c.rdl = time.Time{}
}

// Context is the connection's context, which every request on it shares:
// it is cancelled when the client goes away or the connection ends.
func (c *h1conn) Context() context.Context { return c.ctx }

// RemoteAddr is the client's address, as net.Conn.RemoteAddr gives it.
func (c *h1conn) RemoteAddr() string { return c.remote }

// TLS is the connection's TLS state; nil on a plaintext connection.
func (c *h1conn) TLS() *tls.ConnectionState { return c.tls }

// Buffered returns what has been read past the current request head: its
// body, when it came with the head, and any pipelined requests. It is
// valid until the connection is read again.
func (c *h1conn) Buffered() []byte {
	b, _ := c.br.Peek(c.br.Buffered())
	return b
}

// Discard drops the first n buffered bytes: the body of a request served
// from the buffer.
func (c *h1conn) Discard(n int) { _, _ = c.br.Discard(n) }

// Writer is where the answer to the current request is written, under the
// server's write timeout; what is buffered goes out with Flush.
func (c *h1conn) Writer() *bufio.Writer { return c.bw }

// ShuttingDown reports whether the server is shutting down, when an answer
// should close its connection.
func (c *h1conn) ShuttingDown() bool { return c.s.shut.Load() }

// ResponseWriter answers the current request through the server's own
// http.ResponseWriter instead of Writer, for a request the caller built
// itself: the writer reads its Method, ProtoMinor and Close. Its header
// starts empty. FinishResponse completes the answer.
func (c *h1conn) ResponseWriter(r *http.Request) http.ResponseWriter {
	return c.newResponse(r)
}

// FinishResponse completes an answer begun with ResponseWriter, as the
// server does when a handler returns, and reports whether the connection
// can take another request.
func (c *h1conn) FinishResponse() bool {
	c.held = c.resp.held[:0]
	return c.resp.finish() && !c.resp.closeAfter
}

// Watch starts watching for the client going away while the caller waits
// on up, the upstream connection: if it goes, Context is cancelled and
// up's pending reads and writes fail at once. Unwatch ends it.
func (c *h1conn) Watch(up *h1Conn) {
	c.up.Store(up)
	c.armWatch()
}

// Unwatch stops the watch Watch started, waiting for a read it has begun,
// so that the connection is the server's alone again; it returns the
// upstream connection that was watched, if any.
func (c *h1conn) Unwatch() *h1Conn {
	up := c.up.Swap(nil)
	c.disarmWatch()
	return up
}

// ClientGone reports whether the watch saw the client go away. It is
// meaningful after Unwatch.
func (c *h1conn) ClientGone() bool { return c.gone != nil }

// h1body is a request body: Content-Length bytes or a chunked stream. It
// is safe to read from another goroutine than the handler's (a transport
// may still be sending it upstream when the handler returns); once the
// handler has returned, reads fail.
type h1body struct {
	c       *h1conn
	req     *http.Request
	mu      sync.Mutex
	remain  int64     // Content-Length bytes left; -1 when chunked
	chunked io.Reader // the chunked decoder, or nil
	expect  bool      // a 100 Continue is owed before the first read
	err     error     // sticky: io.EOF once the body is done
	closed  bool      // the handler has returned
}

func (b *h1body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *h1body) readLocked(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.expect {
		b.expect = false
		if !b.c.resp.sendContinue() {
			// The answer has begun without reading the body: it will not
			// be read, and the connection will not be reused.
			b.err = io.EOF
			return 0, b.err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.chunked != nil {
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			err = readTrailer(b.c.br, b.c.s.sc.MaxHeaderBytes, &b.req.Trailer)
		}
	} else {
		n, err = readFixed(b.c.br, p, &b.remain)
	}
	if err != nil {
		b.err = err
		if err == io.EOF && !b.closed {
			b.c.armWatch()
		}
	}
	return n, err
}

func (b *h1body) Close() error { return nil }

// closeForServer ends the handler's use of the body.
func (b *h1body) closeForServer() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// drain reads what the handler left of the body, up to discardBodyBytes,
// and reports whether the connection can go on.
func (b *h1body) drain() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == io.EOF {
		return true
	}
	if b.err != nil || b.expect {
		// A client waiting for 100 Continue has not sent the body.
		return false
	}
	var buf [4096]byte
	for left := discardBodyBytes; left > 0; {
		n, err := b.readLocked(buf[:min(len(buf), left)])
		left -= n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// h1resp is the http.ResponseWriter (and http.Flusher) of one request.
type h1resp struct {
	c           *h1conn
	req         *http.Request
	header      http.Header
	status      int
	wroteHeader bool  // a final status has been chosen
	committed   bool  // the head is in the write buffer
	cl          int64 // the declared Content-Length, or -1
	written     int64
	chunked     bool
	closeAfter  bool
	held        []byte // body bytes held before committing, unknown length
	err         error  // sticky write error
	// started (the response has begun) and continued (100 Continue went
	// out) are guarded by c.wmu: a body read on another goroutine may send
	// the 100 Continue while the handler begins the response.
	started, continued bool
}

func (w *h1resp) Header() http.Header { return w.header }

func (w *h1resp) bodyAllowed() bool {
	return !(w.status >= 100 && w.status < 200 || w.status == http.StatusNoContent || w.status == http.StatusNotModified)
}

// WriteHeader sends 1xx informational answers at once and records a final
// status; the head goes out with the first body bytes, a Flush or the end.
func (w *h1resp) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("proxy: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.start()
		w.writeStatusLine(code)
		w.writeFields(false)
		_, _ = w.c.bw.WriteString("\r\n")
		w.setErr(w.c.bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	if vs := w.header["Content-Length"]; len(vs) == 1 {
		if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		}
	}
	if w.cl >= 0 || !w.bodyAllowed() || w.req.Method == http.MethodHead {
		w.commit(false)
	}
}

// sendContinue writes 100 Continue for a body read, unless the response
// has begun.
func (w *h1resp) sendContinue() bool {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if w.started || w.continued {
		return false
	}
	w.continued = true
	_, err := io.WriteString(w.c.nc, "HTTP/1.1 100 Continue\r\n\r\n")
	return err == nil
}

// start marks the response begun, after any 100 Continue in flight.
func (w *h1resp) start() {
	w.c.wmu.Lock()
	w.started = true
	w.c.wmu.Unlock()
}

// statusLines holds the status line of every code with a reason phrase.
var statusLines = func() (lines [600]string) {
	for code := range lines {
		if text := http.StatusText(code); text != "" {
			lines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return lines
}()

// writeStatusLine writes the status line the proxy answers with.
func writeStatusLine(bw *bufio.Writer, code int) {
	if code < len(statusLines) && statusLines[code] != "" {
		_, _ = bw.WriteString(statusLines[code])
		return
	}
	_, _ = bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n")
}

func (w *h1resp) writeStatusLine(code int) { writeStatusLine(w.c.bw, code) }

// commit writes the head. With final set the handler has returned, so a
// held body's length is known.
func (w *h1resp) commit(final bool) {
	if w.committed {
		return
	}
	w.committed = true
	w.start()
	bw := w.c.bw
	w.writeStatusLine(w.status)
	if _, ok := w.header["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.WriteString(httpDate(time.Now()))
		_, _ = bw.WriteString("\r\n")
	}
	head := w.req.Method == http.MethodHead
	trailers := w.header["Trailer"] != nil
	switch {
	case !w.bodyAllowed() || w.cl >= 0:
	case final && !trailers && !head:
		w.cl = int64(len(w.held))
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.WriteString(strconv.Itoa(len(w.held)))
		_, _ = bw.WriteString("\r\n")
	case head:
	case w.req.ProtoMinor >= 1:
		w.chunked = true
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		w.closeAfter = true
	}
	if w.c.s.shut.Load() {
		w.closeAfter = true
	}
	switch {
	case w.closeAfter || w.req.Close:
		_, _ = bw.WriteString("Connection: close\r\n")
	case w.req.ProtoMinor == 0:
		_, _ = bw.WriteString("Connection: keep-alive\r\n")
	}
	w.writeFields(!w.chunked)
	_, _ = bw.WriteString("\r\n")
}

// writeFields writes the header fields except the framing ones the server
// decides, with CR and LF in values turned into spaces.
func (w *h1resp) writeFields(dropTrailer bool) {
	bw := w.c.bw
	for k, vs := range w.header {
		switch k {
		case "Transfer-Encoding", "Connection":
			continue
		case "Trailer":
			if dropTrailer {
				continue
			}
		case "Content-Length":
			if w.cl < 0 {
				continue
			}
		}
		if !strings.HasPrefix(k, http.TrailerPrefix) && httpguts.ValidHeaderFieldName(k) {
			writeField(bw, k, vs)
		}
	}
}

func (w *h1resp) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *h1resp) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if !w.committed {
		if len(w.held)+len(p) <= heldBodyBytes {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.commit(false)
		if err := w.writeBody(w.held); err != nil {
			return 0, err
		}
		w.held = w.held[:0]
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *h1resp) writeBody(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		_, _ = bw.Write(p)
		_, err := bw.WriteString("\r\n")
		w.setErr(err)
		return w.err
	}
	_, err := bw.Write(p)
	w.setErr(err)
	return w.err
}

// Flush sends the head, if not yet sent, and what is buffered.
func (w *h1resp) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
		_ = w.writeBody(w.held)
		w.held = w.held[:0]
	}
	w.setErr(w.c.bw.Flush())
}

// finish completes the response after the handler returned and reports
// whether the connection is still usable.
func (w *h1resp) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
		_ = w.writeBody(w.held)
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers()
		_, _ = bw.WriteString("\r\n")
	}
	if w.cl >= 0 && w.written < w.cl && w.bodyAllowed() && w.req.Method != http.MethodHead {
		// The handler wrote less than it declared: the client would wait
		// for the rest, so the connection ends here.
		w.closeAfter = true
	}
	w.setErr(bw.Flush())
	return w.err == nil
}

// writeTrailers writes the trailer fields: those declared in Trailer and
// set after the body, and those named with http.TrailerPrefix.
func (w *h1resp) writeTrailers() {
	bw := w.c.bw
	emit := func(k string, vs []string) {
		if httpguts.ValidHeaderFieldName(k) {
			writeField(bw, k, vs)
		}
	}
	for _, decl := range w.header["Trailer"] {
		for k := range strings.SplitSeq(decl, ",") {
			k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k))
			if vs, ok := w.header[k]; ok && k != "" {
				emit(k, vs)
			}
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			emit(name, vs)
		}
	}
}

// httpDate formats t for a Date field, once per second.
func httpDate(t time.Time) string {
	sec := t.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateCache{sec: sec, s: t.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.s
}

type dateCache struct {
	sec int64
	s   string
}

var cachedDate atomic.Pointer[dateCache]

// handoffListener hands connections the HTTP/1.1 server will not serve to
// an http.Server.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/h1"
)

// headCase is what FuzzFastPathRequest learns of one connection: its
// first request head, whether the fast path takes it (and as what), and
// the request the general path built from it, if any.
type headCase struct {
	head  string
	taken bool
	q     fastReq
	r     *http.Request
}

// wireConn is a connection whose peer sent raw and closed: reads drain
// raw, writes are kept, deadlines are accepted. closed is closed with it.
type wireConn struct {
	r      *bytes.Reader
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func newWireConn(raw []byte) *wireConn {
	return &wireConn{r: bytes.NewReader(raw), closed: make(chan struct{})}
}

func (c *wireConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *wireConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *wireConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *wireConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80} }
func (c *wireConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234} }
func (c *wireConn) SetDeadline(time.Time) error      { return nil }
func (c *wireConn) SetReadDeadline(time.Time) error  { return nil }
func (c *wireConn) SetWriteDeadline(time.Time) error { return nil }

// wireListener feeds a server wireConns, one at a time.
type wireListener struct {
	ch       chan net.Conn
	done     chan struct{}
	once     sync.Once
	answered string // what the server wrote on the last connection, up to its first line
}

// serveWire serves srv on a wireListener until f ends.
func serveWire(f *testing.F, srv *h1.Server) *wireListener {
	ln := &wireListener{ch: make(chan net.Conn), done: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	f.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-served
	})
	return ln
}

// serve has the server serve a connection that sent raw, and returns once
// the server has closed it.
func (l *wireListener) serve(raw []byte) {
	c := newWireConn(raw)
	l.ch <- c
	<-c.closed
	first, _, _ := bytes.Cut(c.out.Bytes(), []byte("\r\n"))
	l.answered = string(first)
}

func (l *wireListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *wireListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *wireListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80} }

// FuzzFastPathRequest checks the fast path's reading of a request head
// against the general path's: whatever the fast path takes, the general
// path must take too and see the same method, host, path, query, length,
// connection option, request id, deadline and, for routing, the same
// header fields.
func FuzzFastPathRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p?q=1&r=%20 HTTP/1.1\r\nHost: x:80\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabc",
		"GET /a/b/ HTTP/1.1\r\nhost: X\r\nConnection: keep-alive, close\r\nX-Request-Id: r1\r\n" + HeaderDeadline + ": 250\r\n\r\n",
		"GET /? HTTP/1.1\r\nHost: x\r\nVia: 1.1 a\r\nX-Forwarded-For: 1.2.3.4\r\nKeep-Alive: 1\r\n\r\n",
		"GET /u HTTP/1.1\r\nHost: x\r\nX-User: alice\r\nx-user: bob\r\nX-A:\r\n\r\n",
		"DELETE /$&+,:;=@ HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: \u212Aeep-alive\r\n\r\n",
		"GET /a/./b//c/../d HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a/..%2fb%2F HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	// The server offers the first head of each connection to a fast hook
	// that only reads it, then serves it itself; its handler keeps the
	// request the general path built.
	var cur *headCase // the connection being served
	srv := h1.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cur.r == nil {
			cur.r = r
		}
	}), h1.ServerConfig{MaxHeaderBytes: 4096, Fast: func(c *h1.Conn, head string) (keep, handled bool) {
		if c.FastState == nil {
			c.FastState = cur
			cur.head, cur.taken = head, cur.q.parse(head, len(c.Buffered()))
		}
		return false, false
	}})
	ln := serveWire(f, srv)
	f.Fuzz(func(t *testing.T, raw []byte) {
		cur = &headCase{}
		ln.serve(raw)
		if !cur.taken {
			return
		}
		q, r, head := &cur.q, cur.r, cur.head
		if r == nil {
			t.Fatalf("the fast path takes what the general path refuses (%q): %q", ln.answered, head)
		}
		sameRequest(t, q, r)
	})
}

// sameRequest fails t unless the general path's request r is what the
// fast path read as q.
func sameRequest(t *testing.T, q *fastReq, r *http.Request) {
	t.Helper()
	if r.Method != q.method || r.Host != q.host || r.URL.Path != q.path || r.URL.EscapedPath() != q.path ||
		r.URL.RawQuery != q.query || r.ContentLength != q.contentLength || r.Close != q.close {
		t.Fatalf("fast path read %+v, general path %s %q host %q query %q length %d close %v",
			q, r.Method, r.URL.Path, r.Host, r.URL.RawQuery, r.ContentLength, r.Close)
	}
	if receivedPath(r.URL) != q.path {
		t.Fatalf("fast path read the path %q, the general path %q", q.path, receivedPath(r.URL))
	}
	ids := r.Header[HeaderRequestID]
	if wantID := len(ids) == 1 && validRequestID(ids[0]); wantID != (q.requestID != "") || wantID && ids[0] != q.requestID {
		t.Fatalf("request id: fast path %q, general path %q", q.requestID, ids)
	}
	budget, ok, err := parseDeadline(r.Header)
	if err != nil || ok != q.hasBudget || budget != q.budget || ok && budget <= 0 {
		t.Fatalf("deadline: fast path %v %v, general path %v %v %v", q.budget, q.hasBudget, budget, ok, err)
	}
	for k := range r.Header {
		a, aok := headerFields(r.Header).Joined(k)
		b, bok := q.Joined(k)
		if a != b || aok != bok {
			t.Fatalf("field %s: general path %q, fast path %q", k, a, b)
		}
	}
	if _, ok := q.Joined("Host"); ok {
		t.Fatal("Host among the fields routes match")
	}
	for _, hk := range []balancer.HashKey{{Header: "x-user"}, {Header: "X-A", SourceIP: true}, {SourceIP: true}, {Cookie: "sid"}} {
		r.RemoteAddr = "10.1.2.3:4567"
		want, wantOK := httpkey.Key(hk, r.Header, r.RemoteAddr)
		got, ok := httpkey.Key(hk, q, r.RemoteAddr)
		if got != want || ok != wantOK {
			t.Fatalf("hash key %+v: fast path %x %v, general path %x %v", hk, got, ok, want, wantOK)
		}
	}
}

// FuzzFastPathAnswer checks the fast path's reading of an answer head
// against the client's parser (UpstreamConn.Response, as the general path
// reads answers) and respond's field handling: whatever the fast
// path relays itself, the general path must accept with the same status,
// length and connection reuse, and forward the same fields.
func FuzzFastPathAnswer(f *testing.F) {
	for _, seed := range []string{
		plainOK,
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 204 No Content\r\nX-A: 1\r\nx-a: 2\r\nConnection: close\r\nClose: 1\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nVia: 1.0 a\r\nKeep-Alive: 5\r\nTrailer: X\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 599 Whatever\r\nX-Request-Id: u\r\nDate: d\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: \u212Aeep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		// An upstream connection of a client whose dialler connects to
		// an upstream that sent raw.
		conn := newWireConn(raw)
		d := h1.NewDialer(func(context.Context, string, string) (net.Conn, error) { return conn, nil }, breaker.NewAdmission(breaker.Thresholds{}))
		pc, err := h1.NewClient(&http.Transport{}, d, h1.ClientConfig{}).Take(context.Background(), "upstream:80", time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		h, err := pc.ReadAnswerHead(method)
		if err != nil {
			return
		}
		var fields []rawField
		ans, ok := parseAnswer(h, method, &fields)
		if !ok {
			return
		}
		resp, err := pc.Response(context.Background(), h, &http.Request{Method: method}, func() bool { return false })
		if err != nil {
			t.Fatalf("the fast path relays what the client's parser refuses (%v): %q", err, h)
		}
		defer resp.Body.Close()
		if resp.StatusCode != ans.code || resp.Close != ans.close || resp.ProtoMinor != ans.minor {
			t.Fatalf("fast path read %+v, general path %d close %v minor %d", ans, resp.StatusCode, resp.Close, resp.ProtoMinor)
		}
		if !ans.noBody && resp.ContentLength != ans.length {
			t.Fatalf("length: fast path %d, general path %d", ans.length, resp.ContentLength)
		}
		want := resp.Header.Clone()
		removeHopByHop(want, false)
		if resp.StatusCode == http.StatusNoContent {
			delete(want, "Content-Length") // the general path's writer drops it
		}
		got := http.Header{}
		for _, f := range fields {
			if !f.skip {
				k := h1.CanonicalKey(f.name)
				got[k] = append(got[k], f.value)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("forwarded fields: fast path %v, general path %v", got, want)
		}
		for k, vs := range want {
			if !slices.Equal(got[k], vs) {
				t.Fatalf("field %s: fast path %q, general path %q", k, got[k], vs)
			}
		}
		_, hasID := want[HeaderRequestID]
		_, hasDate := want["Date"]
		if hasID != ans.hasID || hasDate != ans.hasDate || (ans.lastVia >= 0) != (want["Via"] != nil) {
			t.Fatalf("fast path %+v against fields %v", ans, want)
		}
	})
}

// FuzzFastPathH2Request is FuzzFastPathRequest for HTTP/2 header blocks:
// whatever parseH2 takes, the HTTP/2 server must hand the general path as
// the same request. fields holds "name: value" lines.
func FuzzFastPathH2Request(f *testing.F) {
	for _, seed := range []struct{ method, path, authority, fields string }{
		{"GET", "/", "x", ""},
		{"GET", "/p?q=1&r=%20", "x:80", "x-a: 1\nx-a: 2\nx-request-id: r1\n" + "x-meshbench-deadline-ms: 250"},
		{"HEAD", "/a/b/", "", "host: X\nvia: 1.1 a\nx-forwarded-for: 1.2.3.4"},
		{"DELETE", "/$&+,:;=@", "[::1]:8080", "content-length: 0\ncookie: sid=1\nx-user: alice"},
		{"GET", "/a/./b//c/../d", "x", "host: y\nhost: z"},
		{"GET", "/a", "x", "content-length: 00\ncontent-length: 0"},
	} {
		f.Add(seed.method, seed.path, seed.authority, seed.fields)
	}
	var mu sync.Mutex
	var cur *headCase
	srv := h1.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur.r = r
		mu.Unlock()
	}), h1.ServerConfig{H2: &http.Server{}, H2C: true, MaxHeaderBytes: 4096, FastH2: func(r *h1.H2Request) bool {
		mu.Lock()
		cur.taken = cur.q.parseH2(r)
		mu.Unlock()
		return false
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	f.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-done
	})
	f.Fuzz(func(t *testing.T, method, path, authority, fields string) {
		req := h2Request{method: method, path: path, authority: authority}
		if fields != "" {
			req.fields = strings.Split(fields, "\n")
		}
		mu.Lock()
		cur = &headCase{}
		mu.Unlock()
		if a := sendH2(t, ln.Addr().String(), req); a.err != nil {
			if ne, ok := a.err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no answer to %+v", req)
			}
		}
		mu.Lock()
		c := cur
		mu.Unlock()
		if !c.taken {
			return
		}
		if c.r == nil {
			t.Fatalf("the fast path takes what the HTTP/2 server refuses: %+v", req)
		}
		if c.r.Body != http.NoBody {
			t.Fatalf("the fast path takes a request with a body: %+v", req)
		}
		sameRequest(t, &c.q, c.r)
	})
}

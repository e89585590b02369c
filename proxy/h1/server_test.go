package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshbench/meshbench/internal/testnet"
)

// serve serves h with a Server on loopback until the test ends and returns
// its address.
func serve(t *testing.T, h http.Handler, cfg ServerConfig) (string, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve returned %v", err)
		}
	})
	return ln.Addr().String(), s
}

// rawConn is a test client speaking HTTP/1.1 by hand.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response to a request with the given method, body and
// all.
func (c *rawConn) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// closed reports whether the server has closed the connection.
func (c *rawConn) closed() bool {
	_, err := c.br.ReadByte()
	// A server that closes with bytes of ours unread resets the
	// connection instead of ending it: closed all the same.
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestServerResponseFraming(t *testing.T) {
	big := strings.Repeat("x", heldBodyBytes+1)
	mux := http.NewServeMux()
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "short") })
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "4")
		io.WriteString(w, "four")
	})
	mux.HandleFunc("/flushed", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/injected", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Bad", "a\r\nSet-Cookie: evil")
	})
	mux.HandleFunc("/short-declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "half")
	})
	addr, _ := serve(t, mux, ServerConfig{})

	c := dialRaw(t, addr)
	tests := []struct {
		path, method string
		cl           int64
		chunked      bool
		body         string
	}{
		{"/short", "GET", 5, false, "short"},
		{"/long", "GET", int64(len(big)), false, big[:0]}, // checked below
		{"/declared", "GET", 4, false, "four"},
		{"/flushed", "GET", -1, true, "ab"},
		{"/trailers", "GET", -1, true, "body"},
		{"/empty", "GET", 0, false, ""},
		{"/short", "HEAD", -1, false, ""},
		{"/declared", "HEAD", 4, false, ""},
	}
	for _, tc := range tests {
		c.send(tc.method + " " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := c.read(tc.method)
		if tc.path == "/long" {
			if len(resp.TransferEncoding) != 1 || body != big {
				t.Errorf("%s: want a chunked body of %d bytes, got TE %v and %d bytes", tc.path, len(big), resp.TransferEncoding, len(body))
			}
			continue
		}
		if resp.ContentLength != tc.cl || (len(resp.TransferEncoding) == 1) != tc.chunked || body != tc.body {
			t.Errorf("%s %s: length %d TE %v body %q, want %d chunked=%v %q", tc.method, tc.path, resp.ContentLength, resp.TransferEncoding, body, tc.cl, tc.chunked, tc.body)
		}
		if resp.Header.Get("Date") == "" {
			t.Errorf("%s: no Date field", tc.path)
		}
		if tc.path == "/trailers" && (resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Late") != "yes") {
			t.Errorf("trailers %v, want X-Sum 42 and X-Late yes", resp.Trailer)
		}
	}
	c.send("GET /injected HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.read("GET"); resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Bad") != "a  Set-Cookie: evil" {
		t.Errorf("a CR LF in a value split the field: %v", resp.Header)
	}
	c.send("GET /short-declared HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := http.ReadResponse(c.br, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c.br); err != nil {
		t.Fatalf("a response shorter than declared must end the connection: %v", err)
	}
}

func TestServerKeepAlive(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	})
	addr, _ := serve(t, h, ServerConfig{})

	t.Run("pipelined requests are answered in order", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nhey\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, want := range []string{"GET /a ", "POST /b hey", "GET /c "} {
			if _, body := c.read("GET"); body != want {
				t.Errorf("body %q, want %q", body, want)
			}
		}
	})
	t.Run("HTTP/1.0 closes unless asked to keep alive", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /a HTTP/1.0\r\n\r\n")
		if resp, _ := c.read("GET"); !resp.Close {
			t.Error("HTTP/1.0 response without Connection: close")
		}
		if !c.closed() {
			t.Error("connection left open after an HTTP/1.0 request")
		}
		c = dialRaw(t, addr)
		c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		for _, want := range []string{"GET /a ", "GET /b "} {
			if resp, body := c.read("GET"); body != want || resp.Header.Get("Connection") != "keep-alive" {
				t.Errorf("body %q Connection %q, want %q and keep-alive", body, resp.Header.Get("Connection"), want)
			}
		}
	})
	t.Run("Connection: close is honoured", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp, _ := c.read("GET"); !resp.Close {
			t.Error("no Connection: close in the answer")
		}
		if !c.closed() {
			t.Error("connection left open")
		}
	})
	t.Run("chunked request with trailers", func(t *testing.T) {
		tr := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s|%s|%d", b, r.Trailer.Get("X-Check"), r.ContentLength)
		})
		addr, _ := serve(t, tr, ServerConfig{})
		c := dialRaw(t, addr)
		c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Check\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Check: ok\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := c.read("POST"); body != "abcde|ok|-1" {
			t.Errorf("body %q, want abcde|ok|-1", body)
		}
		if _, body := c.read("GET"); body != "||0" {
			t.Errorf("the request after a chunked one got %q", body)
		}
	})
	t.Run("an unread body is drained", func(t *testing.T) {
		ignore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
		addr, _ := serve(t, ignore, ServerConfig{})
		c := dialRaw(t, addr)
		c.send("POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, want := range []string{"/one", "/two"} {
			if _, body := c.read("GET"); body != want {
				t.Errorf("body %q, want %q", body, want)
			}
		}
	})
}

func TestServerExpectContinue(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	addr, _ := serve(t, h, ServerConfig{})

	c := dialRaw(t, addr)
	c.send("PUT /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := c.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue", line, err)
	}
	if blank, _ := c.br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("100 Continue not followed by an empty line: %q", blank)
	}
	c.send("data")
	if resp, body := c.read("PUT"); resp.StatusCode != 200 || body != "data" {
		t.Errorf("status %d body %q, want 200 data", resp.StatusCode, body)
	}

	c = dialRaw(t, addr)
	c.send("PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	if resp, _ := c.read("PUT"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403 without a 100 Continue first", resp.StatusCode)
	}
	if !c.closed() {
		t.Error("the connection stayed open with the body neither read nor sent")
	}
}

func TestServerRefusesBadHeads(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ServerConfig{MaxHeaderBytes: 16 << 10})
	tests := []struct {
		name, raw string
		status    int
	}{
		{"conflicting lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"negative length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"HTTP/2 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"garbage version", "GET / HTPT/1.1\r\nHost: x\r\n\r\n", 400},
		{"folded field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"control character", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400},
		{"odd expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417},
		{"request line over the limit", "GET /" + strings.Repeat("a", 17<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
		{"field longer than the read buffer, within the limit", "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + strings.Repeat("b", 9<<10) + "\r\n\r\n", 200},
		{"leading blank lines are skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"lowercase names", "GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testnet.RawExchange(t, addr, tc.raw); got != tc.status {
				t.Errorf("status %d, want %d", got, tc.status)
			}
		})
	}
}

func TestServerNoticesClientGoing(t *testing.T) {
	cause := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cause <- context.Cause(r.Context())
		case <-time.After(10 * time.Second):
			cause <- errors.New("the request was not canceled within 10s of the client leaving")
		}
	})
	addr, _ := serve(t, h, ServerConfig{})
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.nc.Close()
	if err := <-cause; !errors.Is(err, errClientGone) {
		t.Errorf("context cause %v, want %v", err, errClientGone)
	}
}

func TestServerSlowRequestKeepsPipelinedByte(t *testing.T) {
	// A request that outlives clientGoneCheckAfter has its connection
	// watched; a pipelined request arriving meanwhile must survive it.
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	})
	events := make(chan string, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, ServerConfig{})
	s.watchHook = func(ev string) { events <- ev }
	go func() { _ = s.Serve(ln) }()
	defer s.Shutdown(context.Background())
	c := dialRaw(t, ln.Addr().String())
	c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	if ev := <-events; ev != "watching" {
		t.Fatalf("event %q, want watching", ev)
	}
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if ev := <-events; ev != "pending" {
		t.Fatalf("event %q, want pending", ev)
	}
	close(release)
	for _, want := range []string{"/slow", "/next"} {
		if _, body := c.read("GET"); body != want {
			t.Errorf("body %q, want %q", body, want)
		}
	}
}

func TestServerShutdownFinishesRequests(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, ServerConfig{})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	idle := dialRaw(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.read("GET")
	busy := dialRaw(t, addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Error("an idle connection was not closed by Shutdown")
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	if resp, body := busy.read("GET"); body != "done" || !resp.Close {
		t.Errorf("in-flight request got %q (close %v), want done with Connection: close", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestServerPanics(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("bug")
	})
	addr, _ := serve(t, h, ServerConfig{})
	for _, path := range []string{"/abort", "/bug"} {
		c := dialRaw(t, addr)
		c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		if !c.closed() {
			t.Errorf("%s: connection not closed after a panic", path)
		}
	}
	c := dialRaw(t, addr)
	c.send("GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	c.closed()
}

// pipeConn is a net.Conn for parsing tests: reads and writes go nowhere,
// deadlines are accepted.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234} }
func (pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (pipeConn) SetWriteDeadline(time.Time) error { return nil }
func (pipeConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (pipeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (pipeConn) Close() error                     { return nil }

// fuzzServer is the server fuzz targets read requests with.
func fuzzServer() *Server {
	return NewServer(http.NotFoundHandler(), ServerConfig{MaxHeaderBytes: 4096})
}

// fuzzConn is a connection of s that reads raw and writes nowhere.
func fuzzConn(s *Server, raw []byte) *Conn {
	c := s.newConn(pipeConn{})
	c.br = bufio.NewReader(bytes.NewReader(raw))
	c.bw = bufio.NewWriter(io.Discard)
	return c
}

// FuzzServerRequest feeds arbitrary bytes to the request parser: it
// never panics, and what it accepts is a request the handler can trust (a
// token method, a URL, a valid Host, framing it can read to the end).
func FuzzServerRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: T\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"GET http://a.example/x HTTP/1.0\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"\r\nGET / HTTP/1.1\nhost: x\n\n",
	} {
		f.Add([]byte(seed))
	}
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := fuzzConn(s, raw)
		defer c.cancel(nil)
		r, herr := c.readRequest()
		if herr != nil {
			if herr.status != 0 && http.StatusText(herr.status) == "" {
				t.Fatalf("refused with an unknown status %d", herr.status)
			}
			return
		}
		if !ValidMethod(r.Method) || r.URL == nil || !httpguts.ValidHostHeader(r.Host) {
			t.Fatalf("accepted a bad request: method %q URL %v host %q", r.Method, r.URL, r.Host)
		}
		if _, ok := r.Header["Host"]; ok {
			t.Fatal("Host left in the header map")
		}
		if r.Body != http.NoBody {
			c.resp.c, c.resp.req = c, r
			c.resp.started = true // no 100 Continue to a pipe
			n, _ := io.Copy(io.Discard, r.Body)
			if r.ContentLength >= 0 && n > r.ContentLength {
				t.Fatalf("read %d body bytes of a declared %d", n, r.ContentLength)
			}
		}
	})
}

func TestServerTimeouts(t *testing.T) {
	bodyErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			bodyErr <- err
		}
	})
	cfg := ServerConfig{IdleTimeout: 50 * time.Millisecond, ReadTimeout: 50 * time.Millisecond}
	addr, _ := serve(t, h, cfg)

	t.Run("idle keep-alive connections are closed", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.read("GET")
		if !c.closed() {
			t.Error("an idle connection outlived the idle timeout")
		}
	})
	t.Run("a body slower than the read timeout fails the read", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
		err := <-bodyErr
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("body read error %v, want a timeout", err)
		}
		if _, err := io.ReadAll(c.br); err != nil {
			t.Errorf("connection not closed cleanly after the timed-out body: %v", err)
		}
	})
}

// TestH1ServerTLS: on a TLS listener the server runs the handshake, serves
// HTTP/1.1 with r.TLS set, hands connections that chose h2 to net/http, and
// answers a plaintext request with a plaintext 400.
func TestServerTLS(t *testing.T) {
	cert, pool := testnet.SelfSigned(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%v", r.Proto, r.TLS != nil && r.TLS.HandshakeComplete)
	})
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	h2 := &http.Server{Handler: h, TLSConfig: cfg, Protocols: &protos}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, ServerConfig{ReadHeaderTimeout: 5 * time.Second, H2: h2})
	served := make(chan error, 1)
	go func() { served <- s.Serve(tls.NewListener(ln, cfg)) }()
	defer func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	}()
	url := "https://" + ln.Addr().String() + "/"

	for _, tc := range []struct {
		name  string
		h2    bool
		proto string
	}{{"HTTP/1.1 by ALPN", false, "HTTP/1.1"}, {"h2 by ALPN", true, "HTTP/2.0"}} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: tc.h2}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if want := tc.proto + " tls=true"; string(b) != want {
			t.Errorf("%s: %q, want %q", tc.name, b, want)
		}
	}

	if got := testnet.RawExchange(t, ln.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); got != http.StatusBadRequest {
		t.Errorf("plaintext request to the TLS port: status %d, want 400", got)
	}
}

package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// countingServer is an httptest server that counts the connections it has
// accepted.
type countingServer struct {
	*httptest.Server
	conns atomic.Int64
}

func startCounting(t *testing.T, h http.Handler) *countingServer {
	t.Helper()
	s := &countingServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// defaultPool is the pool of an http1 cluster with the proxy's defaults.
var defaultPool = ClientConfig{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}

// newClient returns a client put together as the proxy does for an http1
// cluster (a fallback Transport dialling through the same Dialer), within
// th, closed when the test ends.
func newClient(t *testing.T, th breaker.Thresholds, cfg ClientConfig) *Client {
	t.Helper()
	d := NewDialer((&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext, breaker.NewAdmission(th))
	var protos http.Protocols
	protos.SetHTTP1(true)
	fallback := &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          cfg.MaxIdleConns,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		Protocols:             &protos,
	}
	c := NewClient(fallback, d, cfg)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func newTestClient(t *testing.T) *Client {
	t.Helper()
	return newClient(t, breaker.Thresholds{}, defaultPool)
}

func get(t *testing.T, c http.RoundTripper, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp, string(b)
}

func TestClientReusesConnections(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Len", strings.Repeat("x", len(b)))
		io.WriteString(w, r.Method+" "+r.URL.RequestURI())
	}))
	c := newTestClient(t)
	for i := range 20 {
		var req *http.Request
		if i%2 == 0 {
			req, _ = http.NewRequest(http.MethodGet, s.URL+"/a?b=c", nil)
		} else {
			req, _ = http.NewRequest(http.MethodPost, s.URL+"/pay", strings.NewReader("12345"))
		}
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "GET /a?b=c"
		if i%2 == 1 {
			want = "POST /pay"
			if resp.Header.Get("X-Len") != "xxxxx" {
				t.Fatalf("upstream saw body of %d bytes, want 5", len(resp.Header.Get("X-Len")))
			}
		}
		if string(b) != want || resp.StatusCode != 200 {
			t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, b, want)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests used %d connections, want 1", n)
	}
}

func TestClientAbandonedBodyClosesConnection(t *testing.T) {
	big := strings.Repeat("z", 64<<10)
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) }))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	resp, err := c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(buf); err == nil {
		t.Fatal("Read after Close succeeded")
	}
	_, body := get(t, c, s.URL)
	if body != big {
		t.Fatalf("second answer has %d bytes, want %d", len(body), len(big))
	}
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("a connection whose answer was abandoned was reused: %d connections, want 2", n)
	}
	// Reading to the end keeps the connection.
	get(t, c, s.URL)
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("%d connections after a fully read answer, want still 2", n)
	}
}

func TestClientNoBodyAnswersReleaseAtOnce(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		io.WriteString(w, "hello")
	}))
	c := newTestClient(t)
	for range 3 {
		req, _ := http.NewRequest(http.MethodHead, s.URL, nil)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		// Not read, not closed: a body-less answer gave its connection back.
		_ = resp
		req, _ = http.NewRequest(http.MethodGet, s.URL+"/204", nil)
		resp, err = c.RoundTrip(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("204: %v %v", resp, err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestClientUpstreamConnectionClose(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	c := newTestClient(t)
	for range 3 {
		if _, body := get(t, c, s.URL); body != "bye" {
			t.Fatalf("body %q", body)
		}
	}
	if n := s.conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3: the upstream closes each", n)
	}
}

// rawUpstream accepts connections and hands each to serve.
func rawUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serve(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestClientStaleIdleConnection: an upstream that closes a connection
// after each answer without saying so (an idle timeout, a restart) must not
// fail the next request, a POST included, which can only be sent again
// safely because nothing of it was sent on the dead connection.
func TestClientStaleIdleConnection(t *testing.T) {
	var served atomic.Int64
	addr := rawUpstream(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		served.Add(1)
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// close without Connection: close
	})
	c := newTestClient(t)
	for i := range 5 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader("{}"))
		// Wait until the upstream's close has reached this side, which is
		// the case being tested (otherwise the request races the close).
		if i > 0 {
			waitClosedIdle(t, c, addr)
		}
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d on a connection the upstream had closed: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := served.Load(); n != 5 {
		t.Fatalf("upstream served %d requests, want 5 (each exactly once)", n)
	}
}

// waitClosedIdle waits until the pool's idle connection to addr has been
// closed by its peer.
func waitClosedIdle(t *testing.T, c *Client, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		list := c.idle[addr]
		var pc *UpstreamConn
		if len(list) > 0 {
			pc = list[len(list)-1]
		}
		c.mu.Unlock()
		if pc == nil {
			t.Fatal("no idle connection in the pool")
		}
		var b [1]byte
		_ = pc.nc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := pc.br.Peek(len(b))
		_ = pc.nc.SetReadDeadline(time.Time{})
		if errors.Is(err, io.EOF) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstream never closed the idle connection: %v", err)
		}
	}
}

func TestClientSkipsInformationalAnswers(t *testing.T) {
	addr := rawUpstream(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(nc, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
		}
	})
	c := newTestClient(t)
	for range 2 {
		resp, body := get(t, c, "http://"+addr+"/")
		if resp.StatusCode != 201 || body != "done" {
			t.Fatalf("answer %d %q, want 201 done", resp.StatusCode, body)
		}
	}
}

func TestClientContextCancelWhileWaiting(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer close(release)
	c := newTestClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/hang", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := c.RoundTrip(req)
		errc <- err
	}()
	// Cancel once the request is at the upstream, so the client is
	// blocked reading the answer.
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("RoundTrip after cancel: %v, want context.Canceled", err)
	}
	// The poisoned connection is not reused.
	get(t, c, s.URL+"/")
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestClientFallsBack(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, r.Proto+" "+strings.Join(r.TransferEncoding, ",")+" "+http.StatusText(200)+" "+string(rune('0'+n%10)))
	}))
	c := newTestClient(t)
	for _, tc := range []struct {
		name  string
		req   func() *http.Request
		takes bool
	}{
		{"get", func() *http.Request { r, _ := http.NewRequest("GET", s.URL, nil); return r }, true},
		{"small body", func() *http.Request { r, _ := http.NewRequest("POST", s.URL, strings.NewReader("abc")); return r }, true},
		{"unknown length", func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL, io.NopCloser(strings.NewReader("abc")))
			return r
		}, false},
		{"large body", func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL, strings.NewReader(strings.Repeat("a", MaxBody+1)))
			return r
		}, false},
		{"expect", func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL, strings.NewReader("abc"))
			r.Header.Set("Expect", "100-continue")
			return r
		}, false},
		{"upgrade", func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL, nil)
			r.Header.Set("Upgrade", "websocket")
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			if got := c.takes(req); got != tc.takes {
				t.Fatalf("takes = %v, want %v", got, tc.takes)
			}
			if tc.name == "upgrade" {
				return
			}
			resp, err := c.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasPrefix(string(b), "HTTP/1.1") {
				t.Fatalf("answer %q", b)
			}
		})
	}
}

func TestClientPoolBounds(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	cfg := defaultPool
	cfg.MaxIdleConnsPerHost = 2
	c := newClient(t, breaker.Thresholds{}, cfg)
	// Five answers held open at once need five connections; only two stay.
	var resps []*http.Response
	for range 5 {
		req, _ := http.NewRequest("GET", s.URL, nil)
		resp, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	if idle := idleCount(c); idle != 2 {
		t.Fatalf("%d idle connections, want maxIdleConnsPerHost = 2", idle)
	}
	c.CloseIdleConnections()
	get(t, c, s.URL) // after CloseIdleConnections the pool does not keep connections
	if idle := idleCount(c); idle != 0 {
		t.Fatalf("%d idle connections after CloseIdleConnections, want 0", idle)
	}
}

// TestClientPendingRequests: at maxConnections a request waits for a
// connection (Envoy's pending queue) and gets the one the answer before it
// frees; beyond maxPending a request is refused at once as overflow.
func TestClientPendingRequests(t *testing.T) {
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	}))
	c := newClient(t, breaker.Thresholds{MaxConnections: 1, MaxPending: 1}, defaultPool)

	type result struct {
		body string
		err  error
	}
	do := func() chan result {
		ch := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest("GET", s.URL, nil)
			resp, err := c.RoundTrip(req)
			if err != nil {
				ch <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch <- result{string(b), err}
		}()
		return ch
	}
	first := do()
	<-arrived // the one connection is busy
	second := do()
	waitWaiters(c, 1) // the second request is queued as pending
	third := do()
	r := <-third
	var de *DialError
	if !errors.As(r.err, &de) || !de.Overflow {
		t.Fatalf("third request: %v, want an overflow refusal (maxPending 1 is taken)", r.err)
	}
	close(release)
	for i, ch := range []chan result{first, second} {
		if r := <-ch; r.err != nil || r.body != "ok" {
			t.Fatalf("request %d: %q %v", i+1, r.body, r.err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 (maxConnections)", n)
	}
}

// TestClientPendingInOrder: pending requests get the connection in the
// order they came, as Envoy's pending queue serves them (and as the
// simulator's pools do): with one connection and five requests queued
// behind the one that holds it, the upstream sees them one by one in
// arrival order, and a connection that goes back to the pool is handed to
// the oldest waiter rather than left idle for whoever runs first.
func TestClientPendingInOrder(t *testing.T) {
	arrived := make(chan string, 8)
	release := make(chan struct{})
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Get("X-N")
		<-release
		io.WriteString(w, "ok")
	}))
	c := newClient(t, breaker.Thresholds{MaxConnections: 1, MaxPending: 8}, defaultPool)
	errs := make(chan error, 8)
	do := func(n int) {
		go func() {
			req, _ := http.NewRequest("GET", s.URL, nil)
			req.Header.Set("X-N", strconv.Itoa(n))
			resp, err := c.RoundTrip(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	do(1)
	if got := <-arrived; got != "1" {
		t.Fatalf("first arrival %q", got)
	}
	for n := 2; n <= 6; n++ {
		do(n)
		waitWaiters(c, n-1) // queued behind the ones before
	}
	var order []string
	for range 5 {
		release <- struct{}{}
		order = append(order, <-arrived)
	}
	release <- struct{}{}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"2", "3", "4", "5", "6"}; !slices.Equal(order, want) {
		t.Errorf("pending requests reached the upstream in the order %v, want %v", order, want)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestClientPendingGivesUpWithContext: a pending request whose context
// ends stops waiting and returns the context's error.
func TestClientPendingGivesUpWithContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer close(release)
	c := newClient(t, breaker.Thresholds{MaxConnections: 1, MaxPending: 5}, defaultPool)
	go func() {
		req, _ := http.NewRequest("GET", s.URL, nil)
		if resp, err := c.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
		_, err := c.RoundTrip(req)
		errc <- err
	}()
	waitWaiters(c, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("pending request after cancel: %v", err)
	}
}

func TestClientBoundsAnswerHead(t *testing.T) {
	addr := rawUpstream(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/big" {
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("b", 4096)+"\r\nContent-Length: 2\r\n\r\nok")
				continue
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nX-Small: s\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := newTestClient(t)
	c.maxHeaderBytes = 1024
	// The limit is per answer: many small answers on one connection pass.
	for range 50 {
		get(t, c, "http://"+addr+"/small")
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/big", nil)
	if _, err := c.RoundTrip(req); !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("answer with a 4 KiB header under a 1 KiB limit: %v, want errHeaderTooLarge", err)
	}
}

// TestClientAfterUpstreamDropsConnections: with nothing retried, an
// upstream that closes every connection between requests (a restart, an
// idle timeout) costs no request, POSTs included: the pool notices the
// closed connections before sending on them.
func TestClientAfterUpstreamDropsConnections(t *testing.T) {
	s := startCounting(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	c := newTestClient(t)
	send := func(round int) {
		for i := range 8 {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/pay", strings.NewReader(`{"amount":1}`))
			resp, err := c.RoundTrip(req)
			if err != nil {
				t.Fatalf("round %d request %d: %v", round, i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || string(b) != "ok" {
				t.Fatalf("round %d request %d: %d %q %v", round, i, resp.StatusCode, b, err)
			}
		}
	}
	send(0)
	addr := s.Listener.Addr().String()
	for round := 1; round <= 3; round++ {
		s.CloseClientConnections()
		waitClosedIdle(t, c, addr)
		send(round)
	}
	if n := s.conns.Load(); n != 4 {
		t.Fatalf("%d connections, want 4: one per round", n)
	}
}

// waitWaiters spins until n requests wait for a connection in c.
func waitWaiters(c *Client, n int) {
	for {
		c.mu.Lock()
		w := c.waiters
		c.mu.Unlock()
		if w == n {
			return
		}
		runtime.Gosched()
	}
}

// idleCount is the number of idle connections in c's pool.
func idleCount(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nidle
}

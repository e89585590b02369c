package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rejections collects the reasons a server's Rejected hook is told.
type rejections struct {
	mu sync.Mutex
	n  map[string]int
	ch chan string
}

func newRejections() *rejections {
	return &rejections{n: map[string]int{}, ch: make(chan string, 64)}
}

func (r *rejections) hook(reason string) {
	r.mu.Lock()
	r.n[reason]++
	r.mu.Unlock()
	select {
	case r.ch <- reason:
	default:
	}
}

// await waits for the hook to be told reason, failing after a while.
func (r *rejections) await(t *testing.T, reason string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-r.ch:
			if got == reason {
				return
			}
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %s rejection within 5s; got %v", reason, r.n)
		}
	}
}

// cutWithin reads c until the server closes it and fails when that takes
// longer than d (the client's own deadline).
func cutWithin(t *testing.T, c *rawConn, d time.Duration) string {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c.br)
	if err != nil {
		t.Fatalf("the server did not close the connection within %v: %v (read %q)", d, err, b)
	}
	return string(b)
}

// TestServerHeaderTimeoutOnEveryHead: the header timeout bounds blank lines
// before a request line, and the next head on a kept-alive connection
// whatever deadline the previous request left (a body read with no read
// timeout clears it), not the much longer idle timeout.
func TestServerHeaderTimeoutOnEveryHead(t *testing.T) {
	rej := newRejections()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	cfg := ServerConfig{ReadHeaderTimeout: 150 * time.Millisecond, IdleTimeout: time.Minute, Rejected: rej.hook}
	addr, _ := serve(t, h, cfg)

	t.Run("leading blank lines", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("\r\n\r\n")
		cutWithin(t, c, 3*time.Second)
		rej.await(t, RejectHeaderTimeout)
	})
	t.Run("kept-alive head after a body", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n")
		if resp, _ := c.read("POST"); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		cutWithin(t, c, 3*time.Second)
		rej.await(t, RejectHeaderTimeout)
	})
	t.Run("kept-alive head after the watch", func(t *testing.T) {
		watching := make(chan struct{}, 1)
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-watching })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := NewServer(slow, cfg)
		s.watchHook = func(ev string) {
			if ev == "watching" {
				watching <- struct{}{}
			}
		}
		go func() { _ = s.Serve(ln) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
		})
		c := dialRaw(t, ln.Addr().String())
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.read("GET")
		c.send("\r\n\r\nGET / HTTP/1.1\r\n")
		got := cutWithin(t, c, 3*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Errorf("answer %q, want a 408", got)
		}
		rej.await(t, RejectHeaderTimeout)
	})
}

// TestServerBodyTimeout: a body that stops coming fails the handler's read
// with ErrBodyTimeout after the body timeout, counted, and the connection
// ends.
func TestServerBodyTimeout(t *testing.T) {
	rej := newRejections()
	bodyErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
		if err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
		}
	})
	addr, _ := serve(t, h, ServerConfig{BodyReadTimeout: 150 * time.Millisecond, Rejected: rej.hook})
	c := dialRaw(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	select {
	case err := <-bodyErr:
		if !errors.Is(err, ErrBodyTimeout) {
			t.Fatalf("body read error %v, want ErrBodyTimeout", err)
		}
	case <-time.After(5 * time.Second):
		c.nc.Close()
		t.Fatal("the stalled body's read still waits after 5s")
	}
	if got := cutWithin(t, c, 3*time.Second); !strings.HasPrefix(got, "HTTP/1.1 408") {
		t.Errorf("answer %q, want the handler's 408", got)
	}
	rej.await(t, RejectBodyTimeout)
}

// TestServerAnswerEndsBodyRead: once the handler has returned, a body read
// still waiting on the client (a transport sending it upstream on its own
// goroutine) is cut off, the answer goes out, and the connection ends
// within the body timeout instead of waiting for a body the client does
// not send.
func TestServerAnswerEndsBodyRead(t *testing.T) {
	bodyErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := make(chan struct{})
		go func() {
			close(started)
			_, err := io.ReadAll(r.Body)
			bodyErr <- err
		}()
		<-started
		_, _ = io.WriteString(w, "early answer")
	})
	// No read timeout and a body timeout far longer than the test: only
	// the end of the answer may end the read.
	addr, _ := serve(t, h, ServerConfig{BodyReadTimeout: time.Minute})
	c := dialRaw(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	got := cutWithin(t, c, 3*time.Second)
	if !strings.Contains(got, "early answer") {
		t.Errorf("answer %q, want the handler's", got)
	}
	if err := <-bodyErr; err == nil {
		t.Error("the body read on the other goroutine did not fail")
	}
}

// TestServerSendTimeout: a client that reads nothing of a large answer has
// the handler's writes fail with ErrSendTimeout after the send timeout,
// counted, and its connection closed.
func TestServerSendTimeout(t *testing.T) {
	rej := newRejections()
	writeErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		var err error
		for i := 0; i < 1<<14 && err == nil; i++ { // at most 1 GiB
			_, err = w.Write(chunk)
		}
		writeErr <- err
	})
	addr, _ := serve(t, h, ServerConfig{SendTimeout: 200 * time.Millisecond, Rejected: rej.hook})
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-writeErr:
		if !errors.Is(err, ErrSendTimeout) {
			t.Fatalf("write error %v, want ErrSendTimeout", err)
		}
	case <-time.After(5 * time.Second):
		c.nc.Close()
		<-writeErr
		t.Fatal("the answer's write still waits on a client that reads nothing after 5s")
	}
	rej.await(t, RejectSendTimeout)
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c.br); err != nil {
		t.Errorf("the connection was not closed after the send timeout: %v", err)
	}
}

// TestServerMaxSlowConns: of two connections that stall mid-head with room
// for one slow connection, the second to turn slow is cut (the slow check
// comes at half the header timeout) and the first is cut by the header
// timeout.
func TestServerMaxSlowConns(t *testing.T) {
	rej := newRejections()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	cfg := ServerConfig{ReadHeaderTimeout: 400 * time.Millisecond, MaxSlowConns: 1, Rejected: rej.hook}
	addr, s := serve(t, h, cfg)
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	a.send("GET / HTTP/1.1\r\n")
	b.send("GET / HTTP/1.1\r\n")
	cutWithin(t, a, 3*time.Second)
	cutWithin(t, b, 3*time.Second)
	rej.mu.Lock()
	n := rej.n
	if n[RejectSlowConnections] != 1 || n[RejectHeaderTimeout] != 1 {
		t.Errorf("rejections %v, want one slow_connections and one header_timeout", n)
	}
	rej.mu.Unlock()
	if n := s.slow.Load(); n != 0 {
		t.Errorf("%d connections still counted slow after both ended", n)
	}
}

// TestServerMaxSlowConnsWriting: writes to clients that do not read count
// as slow too: of two such clients with room for one slow connection, one
// is cut as the second slow one and the other by the send timeout.
func TestServerMaxSlowConnsWriting(t *testing.T) {
	rej := newRejections()
	writeErr := make(chan error, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		var err error
		for i := 0; i < 1<<14 && err == nil; i++ { // at most 1 GiB
			_, err = w.Write(chunk)
		}
		writeErr <- err
	})
	cfg := ServerConfig{SendTimeout: 400 * time.Millisecond, MaxSlowConns: 1, Rejected: rej.hook}
	addr, s := serve(t, h, cfg)
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	b.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	var errs []error
	for range 2 {
		select {
		case err := <-writeErr:
			errs = append(errs, err)
		case <-time.After(5 * time.Second):
			a.nc.Close()
			b.nc.Close()
			t.Fatal("answers to clients that read nothing still written after 5s")
		}
	}
	if !(errors.Is(errs[0], ErrSlowConnection) && errors.Is(errs[1], ErrSendTimeout)) {
		t.Errorf("write errors %v, want ErrSlowConnection then ErrSendTimeout", errs)
	}
	rej.mu.Lock()
	if n := rej.n; n[RejectSlowConnections] != 1 || n[RejectSendTimeout] != 1 {
		t.Errorf("rejections %v, want one slow_connections and one send_timeout", n)
	}
	rej.mu.Unlock()
	if n := s.slow.Load(); n != 0 {
		t.Errorf("%d connections still counted slow", n)
	}
}

// TestWaitDeadlineKept: a write keeps the deadline an earlier write set
// only while it is ahead, not later than the one it would set, and at most
// a 64th of the wait (and a second) earlier.
func TestWaitDeadlineKept(t *testing.T) {
	now := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for _, c := range []struct {
		name    string
		old, dl time.Time
		want    bool
	}{
		{"a send timeout's, 10ms older", at(60*time.Second - 10*time.Millisecond), at(60 * time.Second), true},
		{"a send timeout's, a 64th older", at(60*time.Second - 937*time.Millisecond), at(60 * time.Second), true},
		{"a send timeout's, over a 64th older", at(60*time.Second - 938*time.Millisecond), at(60 * time.Second), false},
		{"a long send timeout's, a second older", at(119 * time.Second), at(120 * time.Second), true},
		{"a long send timeout's, over a second older", at(119*time.Second - time.Millisecond), at(120 * time.Second), false},
		{"a slow check's, 15ms older", at(985 * time.Millisecond), at(time.Second), true},
		{"a slow check's, 16ms older", at(984 * time.Millisecond), at(time.Second), false},
		{"later than the new one", at(61 * time.Second), at(60 * time.Second), false},
		{"passed", at(-time.Millisecond), at(time.Millisecond), false},
		{"none", time.Time{}, at(time.Second), false},
	} {
		if got := waitDeadlineKept(now, c.old, c.dl); got != c.want {
			t.Errorf("%s: kept %v, want %v", c.name, got, c.want)
		}
	}
}

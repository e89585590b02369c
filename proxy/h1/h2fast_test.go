package h1

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestH2FastHook: FastH2 is offered each request whose HEADERS end the
// stream, with its header block as received; an answer it makes with
// AnswerField and the ResponseWriter goes out in one write, without the
// fields HTTP/2 does not carry; a request it declines reaches the handler
// as an http.Request built as before (Host from :authority, split cookies
// joined, the target parsed); a request with a body never reaches it; a
// hook that panics with http.ErrAbortHandler has its stream reset.
func TestH2FastHook(t *testing.T) {
	var mu sync.Mutex
	var offered []string // the :path of each request offered
	var handled []*http.Request
	hook := func(r *H2Request) bool {
		mu.Lock()
		offered = append(offered, r.Path)
		mu.Unlock()
		switch r.Path {
		case "/fast":
			for _, f := range r.Fields {
				if f.Name == "x-echo" {
					r.AnswerField("X-Echo", f.Value)
				}
			}
			r.AnswerField("Content-Type", "text/plain")
			r.AnswerField("Connection", "close")
			r.AnswerField("X-Bad", "a\nb")
			w := r.ResponseWriter()
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "fast")
			return true
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		return false
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		handled = append(handled, r)
		mu.Unlock()
		_, _ = io.WriteString(w, "slow:"+string(b))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := countingListener{ln, make(chan *countingConn, 1)}
	s := NewServer(h, ServerConfig{H2: &http.Server{}, H2C: true, FastH2: hook})
	done := make(chan error, 1)
	go func() { done <- s.Serve(cl) }()
	defer func() {
		_ = s.Shutdown(context.Background())
		<-done
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := handshake(t, nc)
	sc := <-cl.conns
	// Let the SETTINGS ACK the handshake sent be answered first.
	_ = c.fr.WritePing(false, [8]byte{1})
	for {
		if p, ok := c.read().(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	writes := func() int {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.writes
	}

	// Taken by the hook.
	before := writes()
	c.headers(1, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/fast", ":authority", "a.test", "x-echo", "hi"))
	var head map[string]string
	var body strings.Builder
	for done := false; !done; {
		switch f := c.read().(type) {
		case *http2.HeadersFrame:
			head = c.decoded(f)
			done = f.StreamEnded()
		case *http2.DataFrame:
			body.Write(f.Data())
			done = f.StreamEnded()
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		}
	}
	if n := writes() - before; n != 1 {
		t.Errorf("answer in %d writes, want 1", n)
	}
	want := map[string]string{":status": "201", "content-type": "text/plain", "x-echo": "hi", "content-length": "4"}
	for k, v := range want {
		if head[k] != v {
			t.Errorf("answer field %s = %q, want %q (head %v)", k, head[k], v, head)
		}
	}
	for _, k := range []string{"connection", "x-bad"} {
		if _, ok := head[k]; ok {
			t.Errorf("answer field %s sent", k)
		}
	}
	if head["date"] == "" || body.String() != "fast" {
		t.Errorf("head %v body %q, want a date and \"fast\"", head, body.String())
	}

	// Declined: the handler gets the request as before.
	c.headers(3, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/slow?q=1", ":authority", "b.test",
		"cookie", "a=1", "cookie", "b=2", "host", "ignored.test"))
	if status, b := streamAnswer(t, c, 3); status != "200" || b != "slow:" {
		t.Errorf("declined request: %q %q", status, b)
	}
	// A body: the hook is not asked.
	c.headers(5, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/fast", ":authority", "b.test"))
	if err := c.fr.WriteData(5, true, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if status, b := streamAnswer(t, c, 5); status != "200" || b != "slow:x" {
		t.Errorf("request with a body: %q %q", status, b)
	}
	// An aborted answer resets the stream.
	c.headers(7, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/abort", ":authority", "b.test"))
	wantReset(t, c, 7, http2.ErrCodeInternal)

	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(offered, " "); got != "/fast /slow?q=1 /abort" {
		t.Errorf("hook offered %q", got)
	}
	if len(handled) != 2 {
		t.Fatalf("handler got %d requests, want 2", len(handled))
	}
	r := handled[0]
	if r.Host != "b.test" || r.URL.Path != "/slow" || r.URL.RawQuery != "q=1" || r.Header.Get("Cookie") != "a=1; b=2" ||
		r.Header.Get("Host") != "" || r.Proto != "HTTP/2.0" || r.Body != http.NoBody {
		t.Errorf("declined request built as %s %q %q host %q cookie %q header host %q body %T",
			r.Proto, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("Cookie"), r.Header.Get("Host"), r.Body)
	}
}

// streamAnswer reads frames until stream id ends and returns its status and
// body.
func streamAnswer(t *testing.T, c *h2Client, id uint32) (status, body string) {
	t.Helper()
	var b strings.Builder
	for {
		switch f := c.read().(type) {
		case *http2.HeadersFrame:
			if f.StreamID != id {
				continue
			}
			status = c.decoded(f)[":status"]
			if f.StreamEnded() {
				return status, b.String()
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			b.Write(f.Data())
			if f.StreamEnded() {
				return status, b.String()
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				t.Fatalf("stream %d reset: %v", id, f.ErrCode)
			}
		}
	}
}

// TestH2UniqueFields: an answer field the server's UniqueFields names goes
// out as a literal without indexing, so that a value new on every answer
// (a request id) never enters the HPACK dynamic table; the answers decode
// as sent, through the header map and AnswerField alike, and the fields
// that repeat stay indexed (one byte each once a hook's answer and a
// handler's have both gone out: from the third answer on). Without
// UniqueFields the same ids are indexed, which the test tells apart, so
// that it can fail.
func TestH2UniqueFields(t *testing.T) {
	for _, unique := range []bool{true, false} {
		n := 0
		hook := func(r *H2Request) bool {
			if r.Path != "/fast" {
				return false
			}
			n++
			r.AnswerField("Content-Type", "text/plain")
			r.AnswerField("X-Request-Id", fmt.Sprintf("id-%04d", n))
			w := r.ResponseWriter()
			w.Header().Set("Date", "Mon, 07 Dec 2026 12:00:00 GMT")
			_, _ = io.WriteString(w, "ok")
			return true
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header().Set("X-Request-Id", fmt.Sprintf("id-%04d", n))
			w.Header().Set("Date", "Mon, 07 Dec 2026 12:00:00 GMT")
		})
		cfg := ServerConfig{FastH2: hook}
		if unique {
			cfg.UniqueFields = []string{"x-request-id"}
		}
		c := handshake(t, h2cServer(t, h, cfg)())
		for i := 1; i <= 6; i++ {
			path := "/fast"
			if i%2 == 0 {
				path = "/general"
			}
			id := uint32(2*i - 1)
			c.headers(id, true, c.fields(":method", "GET", ":scheme", "http", ":path", path, ":authority", "a.test"))
			var block []byte
			var head map[string]string
			for head == nil {
				if f, ok := c.read().(*http2.HeadersFrame); ok && f.StreamID == id {
					block = append([]byte(nil), f.HeaderBlockFragment()...)
					head = c.decoded(f)
				}
			}
			want := fmt.Sprintf("id-%04d", i)
			if head["x-request-id"] != want || head[":status"] != "200" {
				t.Fatalf("unique=%v answer %d: head %v, want x-request-id %s", unique, i, head, want)
			}
			literal := "\x00\x0cx-request-id\x07" + want
			if got := bytes.Contains(block, []byte(literal)); got != unique {
				t.Errorf("unique=%v answer %d: literal without indexing %v in block %q", unique, i, got, block)
			}
			if rest := bytes.Replace(block, []byte(literal), nil, 1); unique && i > 2 {
				// Every other field is in the dynamic table by now: one
				// byte, an index (its high bit set), each.
				for _, b := range rest {
					if b&0x80 == 0 {
						t.Errorf("answer %d: block %q, want the repeating fields indexed", i, block)
						break
					}
				}
			}
		}
	}
}

// TestH2WatchAndGone: a watched upstream connection's reads fail at once
// when the stream goes (a reset, the connection's end); a stream already
// gone interrupts a connection watched after it; one unwatched before is
// left alone.
func TestH2WatchAndGone(t *testing.T) {
	pipe := func() (*UpstreamConn, net.Conn) {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return &UpstreamConn{nc: a, fd: -1}, b
	}
	c := &h2Conn{}
	st := &h2Stream{c: c}
	st.bodyCond.L = &c.mu
	st.ctx, st.cancel = context.WithCancel(context.Background())
	r := &H2Request{st: st}

	kept, peer := pipe()
	r.Watch(kept)
	if got := r.Unwatch(); got != kept {
		t.Fatalf("Unwatch returned %p, want the watched %p", got, kept)
	}
	watched, _ := pipe()
	r.Watch(watched)
	if r.ClientGone() {
		t.Error("ClientGone true before the stream went")
	}
	c.mu.Lock()
	st.gone(errH2ConnClosed)
	c.mu.Unlock()
	if !r.ClientGone() {
		t.Error("ClientGone false after the stream went")
	}
	late, _ := pipe()
	r.Watch(late)
	for name, up := range map[string]*UpstreamConn{"watched": watched, "watched after": late} {
		if _, err := up.nc.Read(make([]byte, 1)); !isTimeout(err) {
			t.Errorf("%s: read returned %v, want an interrupted read", name, err)
		}
	}
	go func() { _, _ = peer.Write([]byte("y")) }()
	if n, err := kept.nc.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Errorf("unwatched before the stream went: read %d, %v; want its byte", n, err)
	}
}

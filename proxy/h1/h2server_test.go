package h1

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Frame-level tests of the server's own HTTP/2: a client writing frames by
// hand (h2Client, h2_test.go) against an h2c Server.

// h2cServer serves h with h2c until the test ends and returns a dialer.
func h2cServer(t *testing.T, h http.Handler, cfg ServerConfig) func() net.Conn {
	t.Helper()
	cfg.H2, cfg.H2C = &http.Server{Handler: h}, true
	addr, _ := serve(t, h, cfg)
	return func() net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		return nc
	}
}

// fields encodes a header block of name, value pairs as given.
func (c *h2Client) fields(kv ...string) []byte {
	c.hb.Reset()
	for i := 0; i < len(kv); i += 2 {
		if err := c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			c.t.Fatal(err)
		}
	}
	return bytes.Clone(c.hb.Bytes())
}

func (c *h2Client) headers(id uint32, end bool, block []byte) {
	c.t.Helper()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: end, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// decoded is a header block's fields, decoded.
func (c *h2Client) decoded(f *http2.HeadersFrame) map[string]string {
	c.t.Helper()
	m := map[string]string{}
	c.dec.SetEmitFunc(func(hf hpack.HeaderField) { m[hf.Name] = hf.Value })
	defer c.dec.SetEmitFunc(func(hf hpack.HeaderField) {
		if hf.Name == ":status" {
			c.status = hf.Value
		}
	})
	if _, err := c.dec.Write(f.HeaderBlockFragment()); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// TestH2ServerSettings: the server's first frame is its SETTINGS, with the
// limits it enforces, and a WINDOW_UPDATE raises the connection's window.
func TestH2ServerSettings(t *testing.T) {
	dial := h2cServer(t, http.NotFoundHandler(), ServerConfig{MaxHeaderBytes: 8 << 10})
	nc := dial()
	io.WriteString(nc, http2.ClientPreface)
	fr := http2.NewFramer(nc, nc)
	fr.WriteSettings()
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	want := map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: 250,
		http2.SettingMaxFrameSize:         16 << 10,
		http2.SettingInitialWindowSize:    1 << 20,
		http2.SettingMaxHeaderListSize:    8 << 10,
	}
	for id, v := range want {
		if got, ok := sf.Value(id); !ok || got != v {
			t.Errorf("%v = %d (%v), want %d", id, got, ok, v)
		}
	}
	f, err = fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if wu, ok := f.(*http2.WindowUpdateFrame); !ok || wu.StreamID != 0 || wu.Increment != 4<<20-65535 {
		t.Errorf("second frame %v, want the connection's WINDOW_UPDATE", f)
	}
}

// TestH2SendFlowControl: the server sends no more DATA than the client's
// windows allow, and goes on when WINDOW_UPDATE opens them, on the stream
// and on the connection; a SETTINGS_INITIAL_WINDOW_SIZE change applies to
// open streams.
func TestH2SendFlowControl(t *testing.T) {
	body := strings.Repeat("x", 100)
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}), ServerConfig{})
	c := handshake(t, dial(), http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c.headers(1, true, c.block())
	got := 0
	for got < 10 {
		switch f := c.read().(type) {
		case *http2.DataFrame:
			got += len(f.Data())
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("%v", f)
		}
	}
	if got != 10 {
		t.Fatalf("%d bytes within a window of 10", got)
	}
	// Raise the initial window: the open stream gets 20 more.
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 30})
	for got < 30 {
		if f, ok := c.read().(*http2.DataFrame); ok {
			got += len(f.Data())
		}
	}
	if got != 30 {
		t.Fatalf("%d bytes within a window of 30", got)
	}
	c.fr.WriteWindowUpdate(1, 70)
	for {
		if f, ok := c.read().(*http2.DataFrame); ok {
			got += len(f.Data())
			if f.StreamEnded() {
				break
			}
		}
	}
	if got != 100 {
		t.Fatalf("body of %d bytes, want 100", got)
	}
}

// TestH2ReceiveFlowControl: a request body larger than the initial windows
// gets through, the server giving the windows back as the handler reads;
// DATA beyond a window is refused.
func TestH2ReceiveFlowControl(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		io.WriteString(w, strings.Repeat("n", int(n%7)))
	}), ServerConfig{})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x"))
	chunk := bytes.Repeat([]byte("b"), 16<<10)
	sent := 0
	var mu sync.Mutex
	windows := map[uint32]int64{0: 4 << 20, 1: 1 << 20}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sent < 6<<20 {
			mu.Lock()
			ok := windows[0] >= int64(len(chunk)) && windows[1] >= int64(len(chunk))
			if ok {
				windows[0] -= int64(len(chunk))
				windows[1] -= int64(len(chunk))
			}
			mu.Unlock()
			if !ok {
				time.Sleep(time.Millisecond)
				continue
			}
			if err := c.fr.WriteData(1, false, chunk); err != nil {
				t.Error(err)
				return
			}
			sent += len(chunk)
		}
		c.fr.WriteData(1, true, nil)
	}()
	for {
		switch f := c.read().(type) {
		case *http2.WindowUpdateFrame:
			mu.Lock()
			windows[f.StreamID] += int64(f.Increment)
			mu.Unlock()
			continue
		case *http2.HeadersFrame:
			<-done
			return
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("%v", f)
		}
	}
}

// TestH2WindowErrors: WINDOW_UPDATE of 0, or beyond 2^31-1, and DATA
// beyond the stream's window, are the errors RFC 9113 section 6.9 names.
func TestH2WindowErrors(t *testing.T) {
	block := make(chan struct{})
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}), ServerConfig{})
	t.Cleanup(func() { close(block) })
	for _, tc := range []struct {
		name  string
		send  func(c *h2Client)
		rst   http2.ErrCode
		goway http2.ErrCode
	}{
		{"connection increment 0", func(c *h2Client) { c.fr.WriteWindowUpdate(0, 0) }, 0, http2.ErrCodeProtocol},
		{"stream increment 0", func(c *h2Client) { c.fr.WriteWindowUpdate(1, 0) }, http2.ErrCodeProtocol, 0},
		{"connection overflow", func(c *h2Client) { c.fr.WriteWindowUpdate(0, 1<<31-1) }, 0, http2.ErrCodeFlowControl},
		{"stream overflow", func(c *h2Client) { c.fr.WriteWindowUpdate(1, 1<<31-1) }, http2.ErrCodeFlowControl, 0},
		{"initial window overflow", func(c *h2Client) {
			c.fr.WriteWindowUpdate(1, 1<<31-1-65535)
			c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
		}, 0, http2.ErrCodeFlowControl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := handshake(t, dial())
			c.fr.AllowIllegalWrites = true
			c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x"))
			tc.send(c)
			_, _, rst, goaway, _ := c.answer()
			if rst != tc.rst || goaway != tc.goway {
				t.Errorf("RST_STREAM %v GOAWAY %v, want %v and %v", rst, goaway, tc.rst, tc.goway)
			}
		})
	}
}

// TestH2StreamErrors: frames on idle or closed streams, stream identifiers
// out of order, PUSH_PROMISE and a first frame other than SETTINGS end the
// connection with the errors RFC 9113 sections 5.1 and 8.4 name.
func TestH2StreamErrors(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), ServerConfig{})
	for _, tc := range []struct {
		name string
		send func(c *h2Client)
		want http2.ErrCode
	}{
		{"DATA on an idle stream", func(c *h2Client) { c.fr.WriteData(1, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"RST_STREAM on an idle stream", func(c *h2Client) { c.fr.WriteRSTStream(1, http2.ErrCodeCancel) }, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE on an idle stream", func(c *h2Client) { c.fr.WriteWindowUpdate(1, 1) }, http2.ErrCodeProtocol},
		{"even stream", func(c *h2Client) { c.headers(2, true, c.block()) }, http2.ErrCodeProtocol},
		{"decreasing stream", func(c *h2Client) {
			c.headers(5, true, c.block())
			c.answer()
			c.headers(3, true, c.block())
		}, http2.ErrCodeProtocol},
		{"HEADERS on a closed stream", func(c *h2Client) {
			c.headers(1, true, c.block())
			c.answer()
			c.headers(1, true, c.block())
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE", func(c *h2Client) {
			c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: c.block(), EndHeaders: true})
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := handshake(t, dial())
			tc.send(c)
			wantGoAway(t, c.fr, tc.want)
		})
	}
	t.Run("first frame not SETTINGS", func(t *testing.T) {
		nc := dial()
		io.WriteString(nc, http2.ClientPreface)
		fr := http2.NewFramer(nc, nc)
		fr.WritePing(false, [8]byte{})
		wantGoAway(t, fr, http2.ErrCodeProtocol)
	})
}

// TestH2MalformedRequests: requests RFC 9113 section 8 calls malformed are
// reset with PROTOCOL_ERROR before a handler sees them, and the connection
// goes on.
func TestH2MalformedRequests(t *testing.T) {
	var ran atomic.Int32
	dialer := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}), ServerConfig{})
	dial := func(*testing.T) net.Conn { return dialer() }
	for _, tc := range []struct {
		name   string
		fields []string
		end    bool
		data   []string // DATA frames after the HEADERS, the last ending the stream
	}{
		{"uppercase field name", []string{":method", "GET", ":scheme", "http", ":path", "/", "X-Up", "1"}, true, nil},
		{"no :method", []string{":scheme", "http", ":path", "/"}, true, nil},
		{"no :path", []string{":method", "GET", ":scheme", "http"}, true, nil},
		{"empty :path", []string{":method", "GET", ":scheme", "http", ":path", ""}, true, nil},
		{"no :scheme", []string{":method", "GET", ":path", "/"}, true, nil},
		{"duplicate :method", []string{":method", "GET", ":method", "GET", ":scheme", "http", ":path", "/"}, true, nil},
		{"pseudo after regular", []string{":method", "GET", ":scheme", "http", "x-a", "1", ":path", "/"}, true, nil},
		{"response pseudo", []string{":method", "GET", ":scheme", "http", ":path", "/", ":status", "200"}, true, nil},
		{"unknown pseudo", []string{":method", "GET", ":scheme", "http", ":path", "/", ":what", "1"}, true, nil},
		{"connection-specific", []string{":method", "GET", ":scheme", "http", ":path", "/", "connection", "close"}, true, nil},
		{"content-length above the body", []string{":method", "POST", ":scheme", "http", ":path", "/", "content-length", "5"}, false, []string{"abc"}},
		{"content-length below the body", []string{":method", "POST", ":scheme", "http", ":path", "/", "content-length", "2"}, false, []string{"ab", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := handshake(t, dial(t))
			before := ran.Load()
			c.headers(1, tc.end, c.fields(tc.fields...))
			for i, d := range tc.data {
				c.fr.WriteData(1, i == len(tc.data)-1, []byte(d))
			}
			if _, _, rst, goaway, _ := c.answer(); rst != http2.ErrCodeProtocol || goaway != 0 {
				t.Fatalf("RST_STREAM %v GOAWAY %v, want RST_STREAM PROTOCOL_ERROR", rst, goaway)
			}
			if tc.data == nil && ran.Load() != before {
				t.Error("the handler ran")
			}
			c.headers(3, true, c.block())
			for {
				f := c.read()
				if hf, ok := f.(*http2.HeadersFrame); ok && hf.StreamID == 3 {
					break
				}
				if _, ok := f.(*http2.GoAwayFrame); ok {
					t.Fatal("GOAWAY after a stream error")
				}
			}
		})
	}
}

// TestH2ConcurrencyLimit: a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS
// is refused (REFUSED_STREAM); one opened after a stream ended is served.
func TestH2ConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-release
		}
		io.WriteString(w, "ok")
	}), ServerConfig{})
	c := handshake(t, dial())
	id := uint32(1)
	for ; id < 2*h2MaxStreams; id += 2 {
		c.headers(id, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/wait", ":authority", "x"))
	}
	c.headers(id, true, c.block())
	for {
		f := c.read()
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			if rst.StreamID != id || rst.ErrCode != http2.ErrCodeRefusedStream {
				t.Fatalf("RST_STREAM %d %v, want %d REFUSED_STREAM", rst.StreamID, rst.ErrCode, id)
			}
			break
		}
	}
	close(release)
	ended := 0
	for ended < h2MaxStreams {
		switch f := c.read().(type) {
		case *http2.HeadersFrame:
			c.decoded(f)
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended++
			}
		}
	}
	c.headers(id+2, true, c.block())
	if status, body, rst, _, _ := c.answer(); status != "200" || body != "ok" {
		t.Fatalf("after the others ended: %q %q RST_STREAM %v", status, body, rst)
	}
}

// TestH2Trailers: request trailers reach r.Trailer once the body is read;
// answer trailers (declared with Trailer, and with http.TrailerPrefix) go
// out in a HEADERS frame ending the stream.
func TestH2Trailers(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Checksum")
		w.WriteHeader(200)
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", r.Trailer.Get("X-Sum"))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	}), ServerConfig{})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "trailer", "x-sum"))
	c.fr.WriteData(1, false, []byte("abc"))
	c.headers(1, true, c.fields("x-sum", "42"))
	var heads []map[string]string
	var body string
	for {
		switch f := c.read().(type) {
		case *http2.HeadersFrame:
			heads = append(heads, c.decoded(f))
			if f.StreamEnded() {
				if len(heads) != 2 {
					t.Fatalf("%d header blocks, want head and trailers", len(heads))
				}
				if _, ok := heads[0]["content-length"]; ok {
					t.Error("content-length with trailers")
				}
				if heads[1]["x-checksum"] != "42" || heads[1]["grpc-status"] != "0" || body != "body" {
					t.Errorf("trailers %v body %q", heads[1], body)
				}
				return
			}
		case *http2.DataFrame:
			body += string(f.Data())
			if f.StreamEnded() {
				t.Fatal("DATA ended the stream before the trailers")
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("%v", f)
		}
	}
}

// TestH2TrailersWithoutEndStream: a second HEADERS frame that does not end
// the stream is malformed (RFC 9113 section 8.1).
func TestH2TrailersWithoutEndStream(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}), ServerConfig{})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x"))
	c.headers(1, false, c.fields("x-sum", "42"))
	if _, _, rst, goaway, _ := c.answer(); rst != http2.ErrCodeProtocol {
		t.Fatalf("RST_STREAM %v GOAWAY %v, want RST_STREAM PROTOCOL_ERROR", rst, goaway)
	}
}

// TestH2Answers: what the answer's head carries for whole answers, HEAD,
// 204, and bodies too long to hold.
func TestH2Answers(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
			if _, err := io.WriteString(w, "x"); err != http.ErrBodyNotAllowed {
				t.Errorf("write to a 204: %v", err)
			}
		case "/big":
			io.WriteString(w, strings.Repeat("b", 3*h2HeldBody))
		default:
			w.Header().Set("Connection", "close")
			io.WriteString(w, "hello")
		}
	}), ServerConfig{})
	c := handshake(t, dial())
	for i, tc := range []struct {
		method, path string
		status, cl   string
		body         int
	}{
		{"GET", "/", "200", "5", 5},
		{"HEAD", "/", "200", "5", 0},
		{"GET", "/204", "204", "", 0},
		{"GET", "/big", "200", "", 3 * h2HeldBody},
	} {
		id := uint32(2*i + 1)
		c.headers(id, true, c.fields(":method", tc.method, ":scheme", "http", ":path", tc.path, ":authority", "x"))
		var head map[string]string
		n := 0
	read:
		for {
			switch f := c.read().(type) {
			case *http2.HeadersFrame:
				head = c.decoded(f)
				if f.StreamEnded() {
					break read
				}
			case *http2.DataFrame:
				n += len(f.Data())
				if f.StreamEnded() {
					break read
				}
			case *http2.RSTStreamFrame, *http2.GoAwayFrame:
				t.Fatalf("%v", f)
			}
		}
		if head[":status"] != tc.status || head["content-length"] != tc.cl || n != tc.body || head["date"] == "" {
			t.Errorf("%s %s: head %v, %d body bytes; want %s, content-length %q, %d bytes and a date", tc.method, tc.path, head, n, tc.status, tc.cl, tc.body)
		}
		if _, ok := head["connection"]; ok {
			t.Errorf("%s %s: connection field sent", tc.method, tc.path)
		}
	}
}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

type countingListener struct {
	net.Listener
	conns chan *countingConn
}

func (l countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: nc}
	l.conns <- cc
	return cc, nil
}

// TestH2WholeAnswerOneWrite: an answer the handler completes without
// flushing goes out in one write: HEADERS and DATA ending the stream.
func TestH2WholeAnswerOneWrite(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "whole") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := countingListener{ln, make(chan *countingConn, 1)}
	s := NewServer(h, ServerConfig{H2: &http.Server{}, H2C: true})
	done := make(chan error, 1)
	go func() { done <- s.Serve(cl) }()
	defer func() {
		s.Shutdown(context.Background())
		<-done
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := handshake(t, nc)
	sc := <-cl.conns
	// Let the SETTINGS ACK the handshake sent be answered first.
	c.fr.WritePing(false, [8]byte{1})
	for {
		if p, ok := c.read().(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	sc.mu.Lock()
	before := sc.writes
	sc.mu.Unlock()
	c.headers(1, true, c.block())
	if status, body, _, _, _ := c.answer(); status != "200" || body != "whole" {
		t.Fatalf("answer %q %q", status, body)
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if n := sc.writes - before; n != 1 {
		t.Errorf("answer in %d writes, want 1", n)
	}
}

// TestH2ResetCancelsRequest: RST_STREAM from the client cancels the
// request's context and fails its body reads; a panicking handler gets its
// stream reset with INTERNAL_ERROR; the connection goes on.
func TestH2ResetCancelsRequest(t *testing.T) {
	canceled := make(chan error, 1)
	entered := make(chan struct{}, 1)
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic(http.ErrAbortHandler)
		case "/wait":
			entered <- struct{}{}
			<-r.Context().Done()
			_, err := r.Body.Read(make([]byte, 1))
			canceled <- err
		default:
			io.WriteString(w, "ok")
		}
	}), ServerConfig{})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/wait", ":authority", "x"))
	<-entered
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	if err := <-canceled; err == nil {
		t.Error("body read after RST_STREAM succeeded")
	}
	c.headers(3, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/panic", ":authority", "x"))
	wantReset(t, c, 3, http2.ErrCodeInternal)
	c.headers(5, true, c.block())
	for {
		if hf, ok := c.read().(*http2.HeadersFrame); ok && hf.StreamID == 5 {
			return
		}
	}
}

// TestH2Continue: a request with Expect: 100-continue gets 100 when the
// handler first reads the body.
func TestH2Continue(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}), ServerConfig{})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "expect", "100-continue"))
	for {
		f := c.read()
		if hf, ok := f.(*http2.HeadersFrame); ok {
			if st := c.decoded(hf)[":status"]; st != "100" {
				t.Fatalf("status %s, want 100 first", st)
			}
			break
		}
	}
	c.fr.WriteData(1, true, []byte("go"))
	if status, body, _, _, _ := c.answer(); status != "200" || body != "go" {
		t.Fatalf("answer %q %q", status, body)
	}
}

// TestH2IdleTimeout: a connection without streams for the idle timeout
// gets GOAWAY and is closed.
func TestH2IdleTimeout(t *testing.T) {
	dial := h2cServer(t, http.NotFoundHandler(), ServerConfig{IdleTimeout: 100 * time.Millisecond})
	c := handshake(t, dial())
	start := time.Now()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			break
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok && ga.ErrCode != http2.ErrCodeNo {
			t.Errorf("GOAWAY %v", ga.ErrCode)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %v", d)
	}
}

// bytesConn is a net.Conn that reads from a byte slice and discards what
// is written.
type bytesConn struct {
	net.Conn
	r *bytes.Reader
}

func (c bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c bytesConn) Close() error                     { return nil }
func (c bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c bytesConn) SetDeadline(t time.Time) error    { return nil }

// FuzzH2Frames serves arbitrary frames after the preface: the connection
// must neither panic nor leave a goroutine behind (goleak).
func FuzzH2Frames(f *testing.F) {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
	f.Add(bytes.Clone(b.Bytes()))
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {"content-length", "4"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes()[:3], PadLength: 2})
	_ = fr.WriteContinuation(1, true, hb.Bytes()[3:])
	_ = fr.WriteData(1, true, []byte("body"))
	_ = fr.WriteWindowUpdate(1, 5)
	_ = fr.WriteRSTStream(1, http2.ErrCodeCancel)
	f.Add(bytes.Clone(b.Bytes()))
	f.Add([]byte{0, 0, 5, 0x1, 0x20 | 0x8, 0, 0, 0, 1, 9})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	s := NewServer(h, ServerConfig{H2: &http.Server{}, H2C: true})
	f.Fuzz(func(t *testing.T, frames []byte) {
		in := append([]byte(http2.ClientPreface), frames...)
		nc := bytesConn{r: bytes.NewReader(in)}
		s.serveH2(s.newConn(nc), nc, nil)
	})
}

// TestH2RapidReset: a client that opens and resets streams without end
// gets GOAWAY ENHANCE_YOUR_CALM (CVE-2023-44487).
func TestH2RapidReset(t *testing.T) {
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), ServerConfig{})
	c := handshake(t, dial())
	go func() {
		for id := uint32(1); id < 2*(h2MaxResets+200); id += 2 {
			if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(), EndStream: true, EndHeaders: true}) != nil ||
				c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				return
			}
		}
	}()
	wantGoAway(t, c.fr, http2.ErrCodeEnhanceYourCalm)
}

// TestH2ClientTimeouts: a stream whose body stalls fails its read with
// ErrBodyTimeout, and a client that reads nothing loses the connection to
// the send timeout; both are counted as rejections.
func TestH2ClientTimeouts(t *testing.T) {
	var mu sync.Mutex
	rejected := map[string]int{}
	bodyErr := make(chan error, 1)
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			_, err := io.ReadAll(r.Body)
			bodyErr <- err
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), ServerConfig{BodyReadTimeout: 100 * time.Millisecond, SendTimeout: 200 * time.Millisecond, Rejected: func(reason string) {
		mu.Lock()
		rejected[reason]++
		mu.Unlock()
	}})
	c := handshake(t, dial())
	c.headers(1, false, c.fields(":method", "POST", ":scheme", "http", ":path", "/body", ":authority", "x"))
	if err := <-bodyErr; err != ErrBodyTimeout {
		t.Errorf("stalled body: %v, want ErrBodyTimeout", err)
	}
	// A client with a large window that reads nothing.
	nc := dial()
	c = handshake(t, nc, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	c.fr.WriteWindowUpdate(0, 1<<30)
	c.headers(1, true, c.fields(":method", "GET", ":scheme", "http", ":path", "/flood", ":authority", "x"))
	time.Sleep(time.Second)
	// Once the server gave up, reading drains what the socket buffers held
	// and then ends.
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Errorf("connection not closed: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if rejected[RejectBodyTimeout] != 1 || rejected[RejectSendTimeout] != 1 {
		t.Errorf("rejections %v, want one body_timeout and one send_timeout", rejected)
	}
}

// TestH2LargeAnswerHead: an answer head larger than the client's
// SETTINGS_MAX_FRAME_SIZE goes out as HEADERS and CONTINUATION frames.
func TestH2LargeAnswerHead(t *testing.T) {
	big := strings.Repeat("v", 40<<10)
	dial := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", big)
		io.WriteString(w, "ok")
	}), ServerConfig{})
	c := handshake(t, dial())
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.headers(1, true, c.block())
	for {
		switch f := c.read().(type) {
		case *http2.MetaHeadersFrame:
			if f.PseudoValue("status") != "200" || f.Truncated {
				t.Fatalf("status %q truncated %v", f.PseudoValue("status"), f.Truncated)
			}
			for _, hf := range f.RegularFields() {
				if hf.Name == "x-big" && hf.Value == big {
					return
				}
			}
			t.Fatal("x-big missing")
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("%v", f)
		}
	}
}

// wantGoAway reads fr until a GOAWAY, which must carry code; the
// connection ending first is a failure.
// wantReset reads c's frames up to the RST_STREAM of stream id, and
// checks its code.
func wantReset(t *testing.T, c *h2Client, id uint32, code http2.ErrCode) {
	t.Helper()
	for {
		if rst, ok := c.read().(*http2.RSTStreamFrame); ok && rst.StreamID == id {
			if rst.ErrCode != code {
				t.Errorf("stream %d: RST_STREAM %v, want %v", id, rst.ErrCode, code)
			}
			return
		}
	}
}

func wantGoAway(t *testing.T, fr *http2.Framer, code http2.ErrCode) {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != code {
				t.Errorf("GOAWAY %v, want %v", ga.ErrCode, code)
			}
			return
		}
	}
}

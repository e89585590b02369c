package h1

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshbench/meshbench/internal/testnet"
)

// The HTTP/2 tests speak frames by hand (http2.Framer) to a Server with h2c
// and to one behind TLS with h2 by ALPN: each reproduces a case h2spec
// failed with golang.org/x/net/http2's server, before the server had its
// own HTTP/2 (h2server_test.go has the rest).

// h2Listeners starts a Server with h2c and one behind TLS and returns a
// dialer for each, named, and a counter of the requests the handler ran.
func h2Listeners(t *testing.T, body string) (map[string]func(*testing.T) net.Conn, *atomic.Int32) {
	t.Helper()
	var ran atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		io.WriteString(w, body)
	})
	// Protocols as proxy.Proxy sets them (for the hand-off to net/http
	// the server did before it served HTTP/2 itself).
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	h2cAddr, _ := serve(t, h, ServerConfig{ReadHeaderTimeout: 5 * time.Second, H2: &http.Server{Handler: h, Protocols: &protos}, H2C: true})

	cert, pool := testnet.SelfSigned(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	tlsAddr := serveTLS(t, h, cfg)

	dial := func(addr string, tc *tls.Config) func(*testing.T) net.Conn {
		return func(t *testing.T) net.Conn {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { nc.Close() })
			if err := nc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if tc == nil {
				return nc
			}
			c := tls.Client(nc, tc)
			if err := c.Handshake(); err != nil {
				t.Fatal(err)
			}
			if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
				t.Fatalf("ALPN chose %q, want h2", p)
			}
			return c
		}
	}
	return map[string]func(*testing.T) net.Conn{
		"h2c":         dial(h2cAddr, nil),
		"TLS h2 ALPN": dial(tlsAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}}),
	}, &ran
}

// serveTLS serves h with a Server behind TLS until the test ends.
func serveTLS(t *testing.T, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, ServerConfig{ReadHeaderTimeout: 5 * time.Second, H2: &http.Server{Handler: h}})
	done := make(chan error, 1)
	go func() { done <- s.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return ln.Addr().String()
}

// h2Client is a client writing frames by hand.
type h2Client struct {
	t   *testing.T
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
	dec *hpack.Decoder
	// status is the :status of the last response headers read.
	status string
}

// handshake sends the preface and settings and waits for the server's.
func handshake(t *testing.T, nc net.Conn, settings ...http2.Setting) *h2Client {
	t.Helper()
	c := &h2Client{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	c.enc = hpack.NewEncoder(&c.hb)
	c.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			c.status = f.Value
		}
	})
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	for {
		f := c.read()
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if err := c.fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}

func (c *h2Client) read() http2.Frame {
	c.t.Helper()
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// block encodes a GET of / with extra fields.
func (c *h2Client) block(extra ...string) []byte {
	c.hb.Reset()
	fields := append([]string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "x"}, extra...)
	for i := 0; i < len(fields); i += 2 {
		if err := c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]}); err != nil {
			c.t.Fatal(err)
		}
	}
	return bytes.Clone(c.hb.Bytes())
}

// answer reads frames until stream 1 ends and returns what ended it: the
// status and body of a response, or the code of a RST_STREAM or GOAWAY.
func (c *h2Client) answer() (status, body string, rst, goaway http2.ErrCode, data []int) {
	c.t.Helper()
	c.status = ""
	var b strings.Builder
	for {
		switch f := c.read().(type) {
		case *http2.HeadersFrame:
			if _, err := c.dec.Write(f.HeaderBlockFragment()); err != nil {
				c.t.Fatal(err)
			}
			if f.StreamEnded() {
				return c.status, b.String(), 0, 0, data
			}
		case *http2.DataFrame:
			b.Write(f.Data())
			data = append(data, len(f.Data()))
			if f.StreamEnded() {
				return c.status, b.String(), 0, 0, data
			}
		case *http2.RSTStreamFrame:
			return c.status, b.String(), f.ErrCode, 0, data
		case *http2.GoAwayFrame:
			return c.status, b.String(), 0, f.ErrCode, data
		}
	}
}

// TestH2RefusesConnectionSpecificFields: a request with a
// connection-specific field, or a TE other than "trailers", is malformed
// and gets RST_STREAM PROTOCOL_ERROR without reaching the handler (RFC
// 9113 section 8.2.2; h2spec 8.1.2.2), however its HEADERS frame is laid
// out and also when the field comes in a CONTINUATION frame; the same
// connection goes on serving.
func TestH2RefusesConnectionSpecificFields(t *testing.T) {
	dials, ran := h2Listeners(t, "ok")
	type layout int
	const (
		plain layout = iota
		padded
		withPriority
		continued
	)
	for name, dial := range dials {
		for _, tc := range []struct {
			name   string
			fields []string
			layout layout
			bad    bool
		}{
			{"connection", []string{"connection", "keep-alive"}, plain, true},
			{"keep-alive", []string{"keep-alive", "timeout=5"}, plain, true},
			{"proxy-connection", []string{"proxy-connection", "close"}, plain, true},
			{"transfer-encoding", []string{"transfer-encoding", "chunked"}, plain, true},
			{"upgrade", []string{"upgrade", "websocket"}, plain, true},
			{"te gzip", []string{"te", "gzip"}, plain, true},
			{"connection, padded", []string{"connection", "close"}, padded, true},
			{"connection, with priority", []string{"connection", "close"}, withPriority, true},
			{"connection in a continuation", []string{"x-a", "1", "connection", "close"}, continued, true},
			{"te trailers", []string{"te", "trailers"}, plain, false},
			{"ordinary, in a continuation", []string{"x-a", "1", "x-b", "2"}, continued, false},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				c := handshake(t, dial(t))
				before := ran.Load()
				// Two requests on the connection: the one under test, then
				// an ordinary one, which the HPACK state must still serve.
				for i, id := range []uint32{1, 3} {
					fields := tc.fields
					if i == 1 {
						fields = []string{"x-next", "1"}
					}
					block := c.block(fields...)
					var err error
					switch l := tc.layout; {
					case i == 1 || l == plain:
						err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
					case l == padded:
						err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true, PadLength: 7})
					case l == withPriority:
						err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true,
							Priority: http2.PriorityParam{StreamDep: 0, Weight: 200}})
					case l == continued:
						cut := len(block) - 3
						if err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:cut], EndStream: true}); err == nil {
							err = c.fr.WriteContinuation(id, true, block[cut:])
						}
					}
					if err != nil {
						t.Fatal(err)
					}
					status, body, rst, goaway, _ := c.answer()
					switch {
					case goaway != 0:
						t.Fatalf("request %d: GOAWAY %v", id, goaway)
					case i == 0 && tc.bad && rst != http2.ErrCodeProtocol:
						t.Fatalf("malformed request: status %q, RST_STREAM %v; want RST_STREAM PROTOCOL_ERROR", status, rst)
					case (i == 1 || !tc.bad) && (status != "200" || body != "ok"):
						t.Fatalf("request %d: status %q body %q RST_STREAM %v, want 200 ok", id, status, body, rst)
					}
				}
				want := int32(1)
				if !tc.bad {
					want = 2
				}
				if got := ran.Load() - before; got != want {
					t.Errorf("handler ran %d times, want %d", got, want)
				}
			})
		}
	}
}

// TestH2SettingsInOrder: a SETTINGS frame that sets
// SETTINGS_INITIAL_WINDOW_SIZE twice leaves the last value in force
// instead of ending the connection (RFC 9113 section 6.5.3; h2spec 6.5.3).
func TestH2SettingsInOrder(t *testing.T) {
	dials, _ := h2Listeners(t, "hello")
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			c := handshake(t, dial(t))
			if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100},
				http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}); err != nil {
				t.Fatal(err)
			}
			for {
				if sf, ok := c.read().(*http2.SettingsFrame); ok && sf.IsAck() {
					break
				}
			}
			if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			for {
				f := c.read()
				if df, ok := f.(*http2.DataFrame); ok {
					if n := len(df.Data()); n != 1 {
						t.Errorf("first DATA frame carries %d bytes, want 1 (the window the last setting left)", n)
					}
					return
				}
				if ga, ok := f.(*http2.GoAwayFrame); ok {
					t.Fatalf("GOAWAY %v", ga.ErrCode)
				}
			}
		})
	}
}

// TestH2FrameSizeLimit: a HEADERS frame larger than 16 KiB, the
// SETTINGS_MAX_FRAME_SIZE a server that never raised it has, is a
// connection error FRAME_SIZE_ERROR (RFC 9113 section 4.2; h2spec 4.2).
func TestH2FrameSizeLimit(t *testing.T) {
	dials, ran := h2Listeners(t, "ok")
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			c := handshake(t, dial(t))
			big := strings.Repeat("x", 4000)
			block := c.block("x-1", big, "x-2", big, "x-3", big, "x-4", big, "x-5", big)
			if len(block) <= 16<<10 {
				t.Fatalf("block of %d bytes is too small for the test", len(block))
			}
			before := ran.Load()
			c.fr.AllowIllegalWrites = true
			if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if _, _, rst, goaway, _ := c.answer(); goaway != http2.ErrCodeFrameSize {
				t.Errorf("oversized HEADERS: RST_STREAM %v GOAWAY %v, want GOAWAY FRAME_SIZE_ERROR", rst, goaway)
			}
			if ran.Load() != before {
				t.Error("the handler ran")
			}
		})
	}
}

// TestH2CInvalidPreface: on a listener that takes h2c, a connection that
// opens with a request line naming a protocol other than HTTP/1.x (so
// not the whole HTTP/2 preface either) is closed without an answer (RFC
// 9113 section 3.4; h2spec 3.5), while HTTP/1.x, malformed request lines
// included, still get their answers.
func TestH2CInvalidPreface(t *testing.T) {
	dials, _ := h2Listeners(t, "ok")
	dial := dials["h2c"]
	for _, tc := range []struct {
		name, send string
		answer     string // the answer's first line; "" for none
	}{
		{"h2spec's invalid preface", "INVALID CONNECTION PREFACE\r\n\r\n", ""},
		{"preface cut short", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", ""},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\n\r\n", ""},
		{"HTTP/1.1", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK"},
		{"HTTP/1.x request line without a protocol", "GET\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := dial(t)
			if _, err := io.WriteString(nc, tc.send); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(nc)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection left open: read %q", b)
			}
			line, _, _ := strings.Cut(string(b), "\r\n")
			if line != tc.answer {
				t.Errorf("answer %q, want %q", line, tc.answer)
			}
		})
	}
}

// TestH2ShutdownDrains: Shutdown sends an HTTP/2 connection GOAWAY, lets
// the request in flight finish, and returns once the connection has
// ended.
func TestH2ShutdownDrains(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, ServerConfig{H2: &http.Server{Handler: h}, H2C: true})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := handshake(t, nc)
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	for {
		if ga, ok := c.read().(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeNo {
				t.Fatalf("GOAWAY %v, want NO_ERROR", ga.ErrCode)
			}
			break
		}
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	if status, body, rst, goaway, _ := c.answer(); status != "200" || body != "done" {
		t.Errorf("request in flight: %q %q RST_STREAM %v GOAWAY %v", status, body, rst, goaway)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
}

package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// trackedUpstream starts an upstream serving h whose connections report on
// the returned channel when they close.
func trackedUpstream(t *testing.T, h http.Handler) (string, <-chan struct{}) {
	t.Helper()
	closed := make(chan struct{}, 16)
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String(), closed
}

// awaitClosed waits for an upstream connection to close.
func awaitClosed(t *testing.T, closed <-chan struct{}) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection was still open after 5s")
	}
}

// slowClientConfig is one route to the upstream at addr with short
// slow-client bounds.
func slowClientConfig(addr string, server config.ServerConfig) config.Config {
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{})
	cfg.Server = server
	return cfg
}

func durPtr(d time.Duration) *config.Duration {
	v := config.Duration(d)
	return &v
}

// rawClient is a client connection to the proxy that writes by hand.
func rawClient(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return nc, bufio.NewReader(nc)
}

// TestStalledBodyReleasesUpstream: a request that announces a body and
// stops sending it holds neither its admission slot nor its upstream
// connection past server.bodyTimeout: the try is abandoned, the upstream
// connection closed, the client answered 408 and the rejection counted.
func TestStalledBodyReleasesUpstream(t *testing.T) {
	for _, tc := range []struct{ name, head string }{
		{"content-length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, closed := trackedUpstream(t, echo("up"))
			h := start(t, slowClientConfig(addr, config.ServerConfig{BodyTimeout: durPtr(200 * time.Millisecond)}))
			nc, br := rawClient(t, h.addr)
			if _, err := io.WriteString(nc, tc.head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
			if err != nil {
				t.Fatalf("no answer to a stalled body within 5s: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get(HeaderReason) != ReasonBodyTimeout {
				t.Errorf("answer %d %q (%s), want 408 %s", resp.StatusCode, resp.Header.Get(HeaderReason), body, ReasonBodyTimeout)
			}
			// The connection ends: the rest of the body will not come.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("connection not closed after the 408: %v", err)
			}
			awaitClosed(t, closed)
			if got := metricValue(t, h.p, `meshbench_proxy_downstream_rejections_total{reason="body_timeout"}`); got != 1 {
				t.Errorf("body_timeout rejections %v, want 1", got)
			}
			if got := metricValue(t, h.p, `meshbench_proxy_threshold_in_use{cluster="up",resource="requests"}`); got != 0 {
				t.Errorf("%v requests still admitted to the cluster", got)
			}
		})
	}
}

// TestNonReadingClientSendTimeout: a client that reads nothing of a large
// answer is cut off after server.sendTimeout, on the fast path (an answer
// with a Content-Length) and the general one (chunked), and its upstream
// connection is closed.
func TestNonReadingClientSendTimeout(t *testing.T) {
	const size = 256 << 20 // far more than the sockets buffer
	chunk := make([]byte, 64<<10)
	for _, tc := range []struct {
		name   string
		length bool
	}{{"fast path", true}, {"general path", false}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, closed := trackedUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.length {
					w.Header().Set("Content-Length", "268435456")
				}
				for n := 0; n < size; n += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			h := start(t, slowClientConfig(addr, config.ServerConfig{SendTimeout: durPtr(200 * time.Millisecond)}))
			nc, _ := rawClient(t, h.addr)
			if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			awaitClosed(t, closed)
			if got := metricValue(t, h.p, `meshbench_proxy_downstream_rejections_total{reason="send_timeout"}`); got != 1 {
				t.Errorf("send_timeout rejections %v, want 1", got)
			}
		})
	}
}

// TestLeadingBlankLinesHeaderTimeout: blank lines and no request line get
// server.readHeaderTimeout, not the idle timeout, and count.
func TestLeadingBlankLinesHeaderTimeout(t *testing.T) {
	h := start(t, slowClientConfig(deadAddr(t), config.ServerConfig{
		ReadHeaderTimeout: config.Duration(150 * time.Millisecond), IdleTimeout: config.Duration(time.Minute)}))
	nc, br := rawClient(t, h.addr)
	if _, err := io.WriteString(nc, "\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(br); err != nil {
		t.Fatalf("connection not cut within 5s: %v (read %q)", err, rest)
	}
	if got := metricValue(t, h.p, `meshbench_proxy_downstream_rejections_total{reason="header_timeout"}`); got != 1 {
		t.Errorf("header_timeout rejections %v, want 1", got)
	}
	if !strings.Contains(h.p.Config().Server.SendTimeout.String(), "1m") {
		t.Errorf("sendTimeout %v, want the 60s default", h.p.Config().Server.SendTimeout)
	}
}

// TestMaxSlowConnectionsConfigured: server.maxSlowConnections reaches the
// HTTP/1.1 server: with room for one slow connection, the second of two
// clients stalled mid-head is cut as slow, and counted.
func TestMaxSlowConnectionsConfigured(t *testing.T) {
	one := 1
	h := start(t, slowClientConfig(deadAddr(t), config.ServerConfig{
		ReadHeaderTimeout: config.Duration(400 * time.Millisecond), MaxSlowConnections: &one}))
	var readers []*bufio.Reader
	for range 2 {
		nc, br := rawClient(t, h.addr)
		if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, br)
	}
	for _, br := range readers {
		if _, err := io.ReadAll(br); err != nil {
			t.Fatalf("connection not cut within 5s: %v", err)
		}
	}
	if got := metricValue(t, h.p, `meshbench_proxy_downstream_rejections_total{reason="slow_connections"}`); got != 1 {
		t.Errorf("slow_connections rejections %v, want 1", got)
	}
}

package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/internal/testnet"
	"github.com/meshbench/meshbench/proxy/config"
)

func TestBadInput(t *testing.T) {
	up := upstream(t, echo("up"))
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up)}, config.Policy{})
	cfg.Server = config.ServerConfig{MaxHeaderBytes: 4 << 10, MaxBodyBytes: 1 << 10, ReadHeaderTimeout: config.Duration(100 * time.Millisecond)}
	h := start(t, cfg)
	tests := []struct {
		name   string
		raw    string
		status int
	}{
		{name: "malformed header line", raw: "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", status: 400},
		{name: "malformed request line", raw: "GET\r\n\r\n", status: 400},
		{name: "missing host", raw: "GET / HTTP/1.1\r\n\r\n", status: 400},
		{name: "bad deadline header", raw: "GET / HTTP/1.1\r\nHost: x\r\n" + HeaderDeadline + ": soon\r\n\r\n", status: 400},
		{name: "expired deadline", raw: "GET / HTTP/1.1\r\nHost: x\r\n" + HeaderDeadline + ": 0\r\n\r\n", status: 504},
		{name: "relative request target", raw: "GET foo HTTP/1.1\r\nHost: x\r\n\r\n", status: 400},
		{name: "absolute form with empty path", raw: "GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", status: 200},
		{name: "connect", raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", status: 405},
		{name: "headers over the limit", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", status: 431},
		{name: "declared body over the limit", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + strings.Repeat("a", 2048), status: 413},
		{name: "chunked body over the limit", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + strings.Repeat("a", 2048) + "\r\n0\r\n\r\n", status: 413},
		{name: "body within the limit", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testnet.RawExchange(t, h.addr, tc.raw); got != tc.status {
				t.Errorf("status %d, want %d", got, tc.status)
			}
		})
	}

	t.Run("slow headers are cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // and nothing more
		_, err = io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept a connection with incomplete headers open for 10s")
		}
	})
}

func TestPanicRecovery(t *testing.T) {
	up := upstream(t, echo("up"))
	panicky := func(route string, params map[string]any) (Middleware, error) {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/panic":
					panic("boom")
				case "/panic-late":
					w.WriteHeader(200)
					_, _ = io.WriteString(w, "partial")
					panic("late boom")
				}
				next.ServeHTTP(w, r)
			})
		}, nil
	}
	cfg := config.Config{
		Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
		Routes:   []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: config.Policy{Middlewares: []config.MiddlewareConfig{{Name: "panicky"}}}}},
	}
	h := start(t, cfg, WithMiddleware("panicky", panicky))
	resp, _ := h.get(t, "/panic")
	if resp.StatusCode != 500 || resp.Header.Get(HeaderReason) != ReasonInternal {
		t.Fatalf("status %d reason %q, want 500 %s", resp.StatusCode, resp.Header.Get(HeaderReason), ReasonInternal)
	}
	r2, err := h.client.Get(h.url + "/panic-late")
	if err == nil {
		_, err = io.ReadAll(r2.Body)
		r2.Body.Close()
	}
	if err == nil {
		t.Error("a panic after the response started should abort the stream")
	}
	if resp, _ := h.get(t, "/fine"); resp.StatusCode != 200 {
		t.Fatalf("after panics: status %d", resp.StatusCode)
	}
}

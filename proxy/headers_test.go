package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestRemoveHopByHop(t *testing.T) {
	tests := []struct {
		name    string
		in      http.Header
		request bool
		want    http.Header
	}{
		{
			name: "fixed hop-by-hop fields",
			in: http.Header{"Connection": {"keep-alive"}, "Keep-Alive": {"timeout=5"}, "Proxy-Connection": {"x"},
				"Transfer-Encoding": {"chunked"}, "Upgrade": {"websocket"}, "Proxy-Authorization": {"Basic x"}, "Trailer": {"X-T"}, "X-Keep": {"1"}},
			want: http.Header{"X-Keep": {"1"}},
		},
		{
			name: "fields named by Connection",
			in:   http.Header{"Connection": {"X-Private, x-other", "close"}, "X-Private": {"s"}, "X-Other": {"o"}, "X-Keep": {"1"}},
			want: http.Header{"X-Keep": {"1"}},
		},
		{
			name:    "TE trailers kept on requests",
			in:      http.Header{"Te": {"gzip, trailers;q=1"}},
			request: true,
			want:    http.Header{"Te": {"trailers"}},
		},
		{
			name: "TE dropped on responses",
			in:   http.Header{"Te": {"trailers"}},
			want: http.Header{},
		},
		{
			name:    "TE trailers only under Unicode folding dropped",
			in:      http.Header{"Te": {"trailer\u017F"}},
			request: true,
			want:    http.Header{},
		},
		{
			name:    "TE without trailers dropped",
			in:      http.Header{"Te": {"gzip"}},
			request: true,
			want:    http.Header{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			removeHopByHop(tc.in, tc.request)
			if fmt.Sprint(tc.in) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", tc.in, tc.want)
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestForwardedHeaders(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Up-Private")
		w.Header().Set("X-Up-Private", "secret")
		w.Header().Set("Keep-Alive", "timeout=1")
		echo("up")(w, r)
	}))
	h := start(t, config.Config{
		Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
		Routes:   []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: config.Policy{Timeout: config.Duration(5 * time.Second)}}},
	})

	t.Run("request fields", func(t *testing.T) {
		resp, body := h.get(t, "/x", "Connection", "X-Client-Private", "X-Client-Private", "1", "X-Forwarded-For", "10.0.0.1",
			"Proxy-Connection", "keep-alive", "Te", "trailers", "Via", "1.1 edge")
		e := decodeEcho(t, body)
		for _, k := range []string{"X-Client-Private", "Proxy-Connection", "Keep-Alive", "Upgrade"} {
			if v, ok := e.Header[k]; ok {
				t.Errorf("hop-by-hop %s=%v reached the upstream", k, v)
			}
		}
		if got := e.Header.Get("Te"); got != "trailers" {
			t.Errorf("TE %q, want trailers", got)
		}
		if got := e.Header.Get("X-Forwarded-For"); got != "10.0.0.1, 127.0.0.1" {
			t.Errorf("X-Forwarded-For %q", got)
		}
		if got := e.Header.Get("X-Forwarded-Proto"); got != "http" {
			t.Errorf("X-Forwarded-Proto %q", got)
		}
		if got := e.Header.Get("Via"); got != "1.1 edge, 1.1 meshbench" {
			t.Errorf("request Via %q", got)
		}
		id := e.Header.Get(HeaderRequestID)
		if !uuidRE.MatchString(id) {
			t.Errorf("generated request id %q is not a v4 UUID", id)
		}
		if got := resp.Header.Get(HeaderRequestID); got != id {
			t.Errorf("response request id %q, want %q", got, id)
		}
		ms, err := strconv.Atoi(e.Header.Get(HeaderDeadline))
		if err != nil || ms <= 0 || ms > 5000 {
			t.Errorf("deadline header %q, want 1..5000 ms", e.Header.Get(HeaderDeadline))
		}
		if got := resp.Header.Get("Via"); got != "1.1 meshbench" {
			t.Errorf("response Via %q", got)
		}
		if _, ok := resp.Header["X-Up-Private"]; ok {
			t.Error("a response field named by Connection reached the client")
		}
		if _, ok := resp.Header["Keep-Alive"]; ok {
			t.Error("response Keep-Alive reached the client")
		}
	})

	t.Run("request id propagated", func(t *testing.T) {
		resp, body := h.get(t, "/x", HeaderRequestID, "abc-123")
		if got := decodeEcho(t, body).Header.Get(HeaderRequestID); got != "abc-123" {
			t.Errorf("upstream saw request id %q", got)
		}
		if got := resp.Header.Get(HeaderRequestID); got != "abc-123" {
			t.Errorf("client saw request id %q", got)
		}
	})

	t.Run("unusable request id replaced", func(t *testing.T) {
		_, body := h.get(t, "/x", HeaderRequestID, strings.Repeat("a", 200))
		if got := decodeEcho(t, body).Header.Get(HeaderRequestID); !uuidRE.MatchString(got) {
			t.Errorf("request id %q, want a fresh UUID", got)
		}
	})

	t.Run("caller deadline shortens the budget", func(t *testing.T) {
		_, body := h.get(t, "/x", HeaderDeadline, "800")
		ms, err := strconv.Atoi(decodeEcho(t, body).Header.Get(HeaderDeadline))
		if err != nil || ms <= 0 || ms > 800 {
			t.Errorf("propagated deadline %d ms (%v), want 1..800", ms, err)
		}
	})

	t.Run("raw HTTP/1.0 with Connection fields", func(t *testing.T) {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\nUpgrade: h2c\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
		e := decodeEcho(t, sb.String())
		if _, ok := e.Header["X-A"]; ok {
			t.Error("X-A named by Connection was forwarded")
		}
		if _, ok := e.Header["Upgrade"]; ok {
			t.Error("Upgrade was forwarded")
		}
	})
}

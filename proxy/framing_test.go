package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// framingProxies serves one catch-all route to a scripted upstream through
// a proxy with the fast path and one without.
func framingProxies(t *testing.T, routes ...config.RouteConfig) (fast, slow *servedProxy, upFast, upSlow *scriptedUpstream) {
	t.Helper()
	upFast, upSlow = startScriptedUpstream(t), startScriptedUpstream(t)
	cfgFor := func(up string) config.Config {
		rs := slices.Clone(routes)
		for i := range rs {
			rs[i].Cluster = "up"
		}
		rs = append(rs, config.RouteConfig{Name: "all", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"})
		return config.Config{
			Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
			Routes:   rs,
		}
	}
	return serveProxy(t, cfgFor(upFast.addr())), serveProxy(t, cfgFor(upSlow.addr()), withoutFastPath()), upFast, upSlow
}

// TestFramingOnBothPaths: answers and requests whose framing or semantics
// the proxy must not pass on as they are, each through both request paths.
func TestFramingOnBothPaths(t *testing.T) {
	fast, slow, upFast, upSlow := framingProxies(t)
	get := func(fields ...string) string {
		return "GET /x HTTP/1.1\r\nHost: shop.test\r\n" + strings.Join(fields, "") + "\r\n"
	}
	hasField := func(lines []string, name string) bool {
		for _, l := range lines {
			if n, _, _ := strings.Cut(l, ":"); strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
	cases := []struct {
		name, req, answer string
		check             func(t *testing.T, a wireAnswer, up *scriptedUpstream)
	}{
		{name: "101 without an upgrade asked for", req: get(),
			answer: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusBadGateway {
					t.Errorf("status %d, want 502", a.status)
				}
			}},
		{name: "101 to a request the fallback transport sends", // a body over h1.MaxBody
			req:    "POST /x HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("b", 70000),
			answer: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusBadGateway {
					t.Errorf("status %d, want 502", a.status)
				}
			}},
		{name: "204 with a Content-Length", req: get(), answer: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusNoContent || hasField(a.header, "Content-Length") || !a.open {
					t.Errorf("status %d open %v fields %q, want 204 kept open without Content-Length", a.status, a.open, a.header)
				}
			}},
		{name: "HTTP/1.0 answer with Transfer-Encoding", req: get(),
			answer: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusBadGateway {
					t.Errorf("status %d, want 502", a.status)
				}
			}},
		{name: "chunked only under Unicode folding", req: get(),
			answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusBadGateway {
					t.Errorf("status %d, want 502", a.status)
				}
			}},
		{name: "keep-alive only under Unicode folding", req: get(),
			answer: "HTTP/1.0 200 OK\r\nConnection: \u212Aeep-alive\r\nContent-Length: 2\r\n\r\nok",
			check: func(t *testing.T, a wireAnswer, up *scriptedUpstream) {
				up.mu.Lock()
				defer up.mu.Unlock()
				n := len(up.gotConn)
				if a.status != 200 || !a.open || n < 2 || up.gotConn[n-1] == up.gotConn[n-2] {
					t.Errorf("status %d open %v; the HTTP/1.0 answer's connection was reused: %v", a.status, a.open, up.gotConn)
				}
			}},
		{name: "forbidden trailer fields", req: get(),
			answer: "HTTP/1.1 200 OK\r\nTrailer: X-Sum, Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" +
				"X-Sum: 9\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nHost: evil\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != 200 || a.body != "ok" || !slices.Equal(a.trailer, []string{"X-Sum: 9"}) {
					t.Errorf("status %d body %q trailer %q, want X-Sum only", a.status, a.body, a.trailer)
				}
			}},
		{name: "malformed trailer field", req: get(),
			answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 9\x00\r\n\r\n",
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.err == nil || a.open {
					t.Errorf("status %d trailer %q err %v open %v: the broken answer was completed", a.status, a.trailer, a.err, a.open)
				}
			}},
		{name: "request chunked only under Unicode folding",
			req:    "POST /x HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n0\r\n\r\n",
			answer: plainOK,
			check: func(t *testing.T, a wireAnswer, _ *scriptedUpstream) {
				if a.status != http.StatusNotImplemented {
					t.Errorf("status %d, want 501", a.status)
				}
			}},
		{name: "TE trailers only under Unicode folding", req: get("TE: trailer\u017F\r\n"), answer: plainOK,
			check: func(t *testing.T, a wireAnswer, up *scriptedUpstream) {
				up.mu.Lock()
				got := up.got[len(up.got)-2] // before "/again"
				up.mu.Unlock()
				if a.status != 200 || strings.Contains(strings.ToLower(got), "\r\nte:") {
					t.Errorf("status %d; TE forwarded:\n%s", a.status, got)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := func(req string) string {
				if strings.HasPrefix(req, "GET /again ") {
					return plainOK
				}
				return tc.answer
			}
			for _, p := range []struct {
				name string
				sp   *servedProxy
				up   *scriptedUpstream
			}{{"fast path", fast, upFast}, {"general path", slow, upSlow}} {
				t.Run(p.name, func(t *testing.T) {
					p.up.setAnswer(answer)
					tc.check(t, sendRaw(t, p.sp.addr, tc.req, http.MethodGet, true), p.up)
				})
			}
		})
	}
}

// TestConnectionCloseEndsPipeline: a request with Connection: close whose
// answer the general path's writer sends (a chunked answer here; the
// proxy's own answers go the same way) ends the connection: a request
// pipelined behind it is neither served nor sent upstream.
func TestConnectionCloseEndsPipeline(t *testing.T) {
	fast, slow, upFast, upSlow := framingProxies(t)
	for _, p := range []struct {
		name string
		sp   *servedProxy
		up   *scriptedUpstream
	}{{"fast path", fast, upFast}, {"general path", slow, upSlow}} {
		t.Run(p.name, func(t *testing.T) {
			for _, answer := range []string{
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
				"", // the upstream resets: the proxy's own 502
			} {
				p.up.setAnswer(func(string) string { return answer })
				c, err := net.Dial("tcp", p.sp.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.WriteString(c, "GET /first HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"+
					"GET /second HTTP/1.1\r\nHost: shop.test\r\n\r\n")
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				if !resp.Close {
					t.Errorf("answer %d does not say Connection: close", resp.StatusCode)
				}
				if rest, err := io.ReadAll(br); len(rest) > 0 || err != nil {
					t.Errorf("after the answer to a request with Connection: close: %q, %v; want the end of the connection", rest, err)
				}
				p.up.mu.Lock()
				for _, r := range p.up.got {
					if strings.HasPrefix(r, "GET /second ") {
						t.Error("the request pipelined after Connection: close was sent upstream")
					}
				}
				p.up.mu.Unlock()
			}
		})
	}
}

// TestPathForwardedAsMatched: by default a route matches the path byte
// for byte as the client sent it, escapes and dot segments included, and
// the same bytes go upstream (after any rewrite); a route's
// pathNormalization normalises the path before it is matched, and the
// normalised path is what is forwarded. Both request paths.
func TestPathForwardedAsMatched(t *testing.T) {
	fast, slow, upFast, upSlow := framingProxies(t,
		config.RouteConfig{Name: "norm", Match: config.MatchConfig{Prefix: "/norm/"},
			PathNormalization: config.PathNormalizationConfig{MergeSlashes: true, DotSegments: true, EscapedSlashes: config.EscapedSlashesUnescape}},
		config.RouteConfig{Name: "strict", Match: config.MatchConfig{Prefix: "/strict/"},
			PathNormalization: config.PathNormalizationConfig{EscapedSlashes: config.EscapedSlashesReject}},
		config.RouteConfig{Name: "public", Match: config.MatchConfig{Prefix: "/public/"}, Rewrite: config.RewriteConfig{StripPrefix: true}},
		config.RouteConfig{Name: "admin", Match: config.MatchConfig{Prefix: "/admin"}, Rewrite: config.RewriteConfig{Prefix: "/private"}},
	)
	cases := []struct {
		target, want string // want: the path upstream; "" for a 400
	}{
		{"/public/..%2fadmin", "/..%2fadmin"},
		{"/public/../admin", "/../admin"},
		{"/public/%2e%2e/admin", "/%2e%2e/admin"},
		{"/a%2Fb?q=1", "/a%2Fb?q=1"},
		{"/x/./y//z", "/x/./y//z"},
		{"/a|b%7C", "/a|b%7C"},
		{"//double", "//double"},
		{"/norm/a/..%2Fb//c/./", "/norm/b/c/"},
		// Normalised out of the norm route, so not its; the catch-all,
		// without normalisation, forwards it as sent.
		{"/norm/x/../../admin", "/norm/x/../../admin"},
		{"/strict/a%2fb", ""},
		{"/strict/a/../b", "/strict/a/../b"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			for _, p := range []struct {
				name string
				sp   *servedProxy
				up   *scriptedUpstream
			}{{"fast path", fast, upFast}, {"general path", slow, upSlow}} {
				t.Run(p.name, func(t *testing.T) {
					p.up.setAnswer(func(string) string { return plainOK })
					p.up.mu.Lock()
					n0 := len(p.up.got)
					p.up.mu.Unlock()
					a := sendRaw(t, p.sp.addr, "GET "+tc.target+" HTTP/1.1\r\nHost: shop.test\r\n\r\n", http.MethodGet, false)
					p.up.mu.Lock()
					got := p.up.got[n0:]
					p.up.mu.Unlock()
					if tc.want == "" {
						if a.status != http.StatusBadRequest || len(got) != 0 {
							t.Errorf("status %d, %d requests upstream; want 400 and none", a.status, len(got))
						}
						return
					}
					if a.status != 200 || len(got) != 1 {
						t.Fatalf("status %d, %d requests upstream", a.status, len(got))
					}
					if line, _, _ := strings.Cut(got[0], "\r\n"); line != "GET "+tc.want+" HTTP/1.1" {
						t.Errorf("upstream request line %q, want the path %q", line, tc.want)
					}
				})
			}
		})
	}
}

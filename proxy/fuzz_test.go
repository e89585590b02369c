package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

// roundTripFunc is an in-process upstream for tests that need no sockets.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// inProcess makes every cluster answer 200 in-process, echoing the path.
func inProcess() Option {
	return WithTransport(func(string, http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			return &http.Response{StatusCode: 200, Header: http.Header{"Connection": {"X-Secret"}, "X-Secret": {"1"}},
				Body: io.NopCloser(strings.NewReader(r.URL.Path)), ContentLength: -1, ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
		}), nil
	})
}

// FuzzHandler drives arbitrary requests through routing, rewriting and
// header handling. The proxy must never panic (a recovered panic would
// answer 500), must answer with a status it documents, and must never leak a
// hop-by-hop field in either direction.
func FuzzHandler(f *testing.F) {
	cfg := config.Config{
		Clusters: []config.ClusterConfig{{Name: "a", Endpoints: eps("127.0.0.1:1")}, {Name: "b", Endpoints: eps("127.0.0.1:2")}},
		Routes: []config.RouteConfig{
			{Match: config.MatchConfig{Host: "*.example.com", Prefix: "/api/"}, Cluster: "a", Rewrite: config.RewriteConfig{StripPrefix: true}},
			{Match: config.MatchConfig{Regex: "/u/([0-9]+)"}, Cluster: "b", Rewrite: config.RewriteConfig{Regex: &config.RegexRewriteConfig{Pattern: "/u/([0-9]+)", Substitution: "/user/$1"}}},
			{Match: config.MatchConfig{Prefix: "/h", Headers: []config.HeaderMatchConfig{{Name: "x-v", Regex: "v[0-9]"}}}, Cluster: "a", Rewrite: config.RewriteConfig{Prefix: "/hh"}},
			{Match: config.MatchConfig{Path: "/exact", Methods: []string{"GET"}}, Split: []config.SplitConfig{{Cluster: "a", Weight: 1}, {Cluster: "b", Weight: 3}}},
			{Match: config.MatchConfig{Prefix: "/n/"}, Cluster: "a",
				PathNormalization: config.PathNormalizationConfig{MergeSlashes: true, DotSegments: true, EscapedSlashes: config.EscapedSlashesUnescape}},
			{Match: config.MatchConfig{Prefix: "/r/"}, Cluster: "a", PathNormalization: config.PathNormalizationConfig{EscapedSlashes: config.EscapedSlashesReject}},
		},
	}
	p, err := New(cfg, inProcess(), quiet(f), WithSeed(7))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	f.Add("GET", "x.example.com", "/api/v1", "", "Connection", "x-v", "v1")
	f.Add("POST", "", "/u/12", "a=b", "Te", "trailers", "")
	f.Add("GET", "[::1]:80", "/h/../exact", "", "X-Request-Id", "\x00", "")
	f.Add("DELETE", "A.EXAMPLE.COM:443", "//api//x/./y", "q", HeaderDeadline, "-1", "")
	f.Add("GET", "", "/n/a/..//b/%2F/./", "", "Te", "trailer\u017F", "")
	f.Add("GET", "", "/r/a%2Fb|c", "", "Connection", "\u212Aeep-alive", "")
	f.Fuzz(func(t *testing.T, method, host, path, query, hname, hval, xv string) {
		if !validToken(method) || !validToken(hname) || strings.ContainsAny(hval+xv+host, "\r\n\x00") {
			t.Skip()
		}
		r := &http.Request{
			Method: method, Host: host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			URL:    &url.URL{Path: path, RawQuery: query},
			Header: http.Header{http.CanonicalHeaderKey(hname): {hval}, "X-V": {xv}}, Body: http.NoBody,
			RemoteAddr: "127.0.0.1:1234",
		}
		r = r.WithContext(context.Background())
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, r)
		switch rec.Code {
		case 200, 400, 404, 405, 504:
		default:
			t.Fatalf("status %d for %s %q %q %s=%q: %s", rec.Code, method, host, path, hname, hval, rec.Body.String())
		}
		for _, k := range hopByHopFields {
			if _, ok := rec.Header()[k]; ok && k != "Trailer" {
				t.Fatalf("response carries hop-by-hop %s", k)
			}
		}
		if _, ok := rec.Header()["X-Secret"]; ok {
			t.Fatal("a field named by the upstream's Connection reached the client")
		}
		if rec.Code == 200 && !strings.HasPrefix(rec.Body.String(), "/") {
			t.Fatalf("forwarded path %q is not rooted", rec.Body.String())
		}
	})
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

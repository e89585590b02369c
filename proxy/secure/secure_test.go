package secure

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/mtls"
)

const minimalYAML = `
routes:
  - name: r
    match: {prefix: /}
    cluster: up
clusters:
  - name: up
    endpoints: [{address: "127.0.0.1:1"}]
  - name: secure
    protocol: https
    endpoints: [{address: "127.0.0.1:2"}]
`

// TestParseFileErrors checks that the security section is decoded as
// strictly as the rest of the file and that every problem names
// file:line:col and its key path.
func TestParseFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, security string
		want           []string
	}{
		{"unknown key", "security:\n  auditlog: x\n", []string{"proxy.yaml:13:3", "unknown field \"auditlog\""}},
		{"bad mode", "security:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  listener: {mode: strikt}\n", []string{"proxy.yaml:14:20: security.listener.mode:", "STRICT, PERMISSIVE or DISABLE"}},
		{"listener without identity", "security:\n  listener: {mode: STRICT}\n", []string{"proxy.yaml:13:13: security.listener: needs an identity"}},
		{"plaintext listener needs no identity", "security:\n  listener: {mode: DISABLE}\n", nil},
		{"unknown cluster", "security:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  clusters:\n    - cluster: nope\n", []string{"proxy.yaml:15:16: security.clusters[0].cluster: unknown cluster \"nope\""}},
		{"cluster not https", "security:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  clusters:\n    - cluster: up\n", []string{"security.clusters[0].cluster", "needs https"}},
		{"cluster listed twice", "security:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  clusters:\n    - cluster: secure\n    - cluster: secure\n", []string{"security.clusters[1].cluster: cluster \"secure\" is listed twice"}},
		{"bad peer pattern", "security:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  clusters:\n    - cluster: secure\n      peers: [\"http://x\"]\n", []string{"security.clusters[0].peers[0]"}},
		{"cert without key", "security:\n  identity: {certFile: a.crt, caBundle: ca.crt}\n", []string{"security.identity.keyFile: certFile and keyFile go together"}},
		{"cert and caDir", "security:\n  identity: {certFile: a.crt, keyFile: a.key, caDir: ca}\n", []string{"security.identity.caDir: certFile and caDir exclude each other"}},
		{"cert without bundle", "security:\n  identity: {certFile: a.crt, keyFile: a.key}\n", []string{"security.identity.caBundle: required with certFile"}},
		{"CA without id", "security:\n  identity: {caDir: ca}\n", []string{"security.identity.spiffeId: required"}},
		{"bad id", "security:\n  identity: {spiffeId: \"spiffe://UPPER/x\"}\n", []string{"proxy.yaml:13:24: security.identity.spiffeId"}},
		{"bad rotation", "security:\n  identity: {spiffeId: \"spiffe://a/b\", rotation: {renewFraction: 2}}\n", []string{"security.identity.rotation.renewFraction"}},
		{"core and security errors together", "security:\n  identity: {caDir: ca}\n", []string{"security.identity.spiffeId"}},
		{"edge tls and mutual TLS on one listener", "tls:\n  certificates: [{certFile: a.crt, keyFile: a.key}]\nsecurity:\n  identity: {spiffeId: \"spiffe://a/b\"}\n  listener: {mode: PERMISSIVE}\n",
			[]string{"proxy.yaml:16:13: security.listener: the tls section already terminates TLS on listen", "set tls or security.listener, not both"}},
		{"edge tls and a plaintext security listener", "tls:\n  certificates: [{certFile: a.crt, keyFile: a.key}]\nsecurity:\n  listener: {mode: DISABLE}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("proxy.yaml", []byte(minimalYAML+tc.security))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestNewFromFileLocatesBuildErrors checks that problems only building
// finds (middleware params, files) still name file:line:col.
func TestNewFromFileLocatesBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"bad auth params", `    middlewares:
      - name: auth
        params: {type: basic}
`, []string{":8:17: routes[0].middlewares[0].params: auth: type \"basic\""}},
		{"unknown fault key", `    middlewares:
      - name: fault
        params: {abort: {status: 503, percentage: 10}, chance: 3}
`, []string{":8:17: routes[0].middlewares[0].params", "chance"}},
		{"unknown middleware", `    middlewares:
      - name: waf
`, []string{":7:15: routes[0].middlewares[0].name: unknown middleware \"waf\"", "acl, auth, cache, consumerLimit, fault, ipRestriction, peerAuthz, quota"}},
		{"missing CA directory", "security:\n  identity: {spiffeId: \"spiffe://mesh.test/gw\", caDir: /nonexistent/ca}\n", []string{":13:56: security.identity.caDir"}},
		{"edge tls certificate missing", "tls:\n  certificates: [{certFile: /nonexistent/site.crt, keyFile: /nonexistent/site.key}]\n",
			[]string{":13:29: tls.certificates[0].certFile: open /nonexistent/site.crt: no such file or directory", "tls.certificates[0].keyFile: open /nonexistent/site.key"}},
		{"no CA at all", "security:\n  identity: {spiffeId: \"spiffe://mesh.test/gw\"}\n  listener: {mode: STRICT}\n", []string{"security.identity: no certFile, no caDir and no in-process CA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(minimalYAML, "    cluster: up\n", "    cluster: up\n"+tc.extra, 1)
			if strings.HasPrefix(tc.extra, "security") || strings.HasPrefix(tc.extra, "tls") {
				src = minimalYAML + tc.extra
			}
			file := filepath.Join(t.TempDir(), "proxy.yaml")
			if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			sp, err := NewFromFile(file, quiet(t))
			if err == nil {
				sp.Shutdown(context.Background())
				t.Fatal("accepted")
			}
			for _, w := range append(tc.want, file) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestIdentitySources issues the proxy's SVID from a CA directory and from
// certificate files, and checks that a reload picks up files renewed on
// disk, and that a reload which changes the security section is refused.
func TestIdentitySources(t *testing.T) {
	dir := t.TempDir()
	ca, err := mtls.InitCA(filepath.Join(dir, "ca"), mtls.CAOptions{TrustDomain: "mesh.test", Now: time.Now().Add(-time.Minute)}, false)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "gw.crt"), filepath.Join(dir, "gw.key")
	issue := func() *mtls.SVID {
		s, err := ca.Issue(mtls.IssueRequest{ID: spiffeid.RequireFromString(gatewayID), TTL: time.Hour, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := mtls.WriteSVID(s, certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := issue()
	caCert := filepath.Join(dir, "ca", mtls.CACertFile)
	for _, tc := range []struct {
		name, security string
		fromFiles      bool
	}{
		{"caDir", "security:\n  identity: {spiffeId: \"" + gatewayID + "\", caDir: \"" + filepath.Join(dir, "ca") + "\", ttl: 5m}\n  listener: {mode: PERMISSIVE}\n", false},
		{"files", "security:\n  identity: {certFile: \"" + certFile + "\", keyFile: \"" + keyFile + "\", caBundle: \"" + caCert + "\"}\n  listener: {mode: STRICT}\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "proxy.yaml")
			if err := os.WriteFile(file, []byte(minimalYAML+tc.security), 0o600); err != nil {
				t.Fatal(err)
			}
			sp, err := NewFromFile(file, quiet(t))
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Shutdown(context.Background())
			ids := sp.SVIDs()
			if len(ids) != 1 || ids[0].ID.String() != gatewayID {
				t.Fatalf("SVIDs %v", ids)
			}
			if got := ids[0].NotAfter().Sub(ids[0].Leaf.NotBefore); !tc.fromFiles && got > 6*time.Minute {
				t.Errorf("caDir SVID lives %s, want the configured 5m", got)
			}
			if tc.fromFiles {
				if ids[0].Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
					t.Fatal("the SVID is not the one on disk")
				}
				renewed := issue()
				if err := sp.ReloadFile(file); err != nil {
					t.Fatal(err)
				}
				if sp.SVIDs()[0].Leaf.SerialNumber.Cmp(renewed.Leaf.SerialNumber) != 0 {
					t.Error("a reload did not pick up the certificate renewed on disk")
				}
			}
			changed := regexp.MustCompile(`mode: [A-Z]+`).ReplaceAllString(minimalYAML+tc.security, "mode: DISABLE")
			if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
				t.Fatal(err)
			}
			err = sp.ReloadFile(file)
			if err == nil || !strings.Contains(err.Error(), file+":") || !strings.Contains(err.Error(), "security: the security section changed") {
				t.Errorf("a changed security section: %v", err)
			}
		})
	}
}

// TestTaggedAnswers checks that the reason header marks only the answers
// of the security middlewares themselves: an upstream's own 401 passes
// through untouched.
func TestTaggedAnswers(t *testing.T) {
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream says no", http.StatusUnauthorized)
	}))
	src := fill(`
routes:
  - name: r
    match: {prefix: /}
    cluster: up
    middlewares:
      - name: auth
        params: {type: apiKey, keys: [{name: acme, hash: "{{HASH}}"}]}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
`, "UP", up, "HASH", auth.HashAPIKey("k"))
	h := startSecure(t, src, nil)
	resp, _ := h.get(t, nil, h.url+"/", "X-API-Key", "k")
	if resp.StatusCode != 401 || resp.Header.Get(proxy.HeaderReason) != "" {
		t.Errorf("upstream 401: reason %q, want none", resp.Header.Get(proxy.HeaderReason))
	}
	resp, _ = h.get(t, nil, h.url+"/", "X-API-Key", "wrong")
	if resp.StatusCode != 401 || resp.Header.Get(proxy.HeaderReason) != ReasonUnauthenticated {
		t.Errorf("gateway 401: reason %q", resp.Header.Get(proxy.HeaderReason))
	}
}

// benchSecureYAML is the core BenchmarkHandler's route with the security
// middlewares that run on every request: API-key auth, a per-consumer
// limit, peer authorization without rules and a fault filter that does not
// match.
const benchSecureYAML = `
routes:
  - name: r
    match: {prefix: /}
    cluster: up
    middlewares: [{{MW}}]
clusters:
  - name: up
    endpoints: [{address: "127.0.0.1:1"}]
`

// BenchmarkHandlerSecure is the core's BenchmarkHandler with security
// middlewares on the route: ns/op and allocs/op are the proxy's, sockets
// excluded, and the case "none" is the route without middlewares.
func BenchmarkHandlerSecure(b *testing.B) {
	for _, v := range []struct{ name, mw string }{
		{"none", ""},
		{"apikey", `{name: auth, params: {type: apiKey, keys: [{name: acme, hash: "` + auth.HashAPIKey("k") + `"}]}}`},
		{"apikey+limit", `{name: auth, params: {type: apiKey, keys: [{name: acme, hash: "` + auth.HashAPIKey("k") + `"}]}}, {name: consumerLimit, params: {rate: 1e9, burst: 1000000}}`},
		{"peerAuthz", `{name: peerAuthz, params: {deny: ["*/sa/evil"]}}`},
		{"fault-unmatched", `{name: fault, params: {abort: {status: 503, percentage: 50}, match: {name: X-Chaos}}}`},
	} {
		b.Run(v.name, func(b *testing.B) {
			fc, err := ParseFile("bench.yaml", []byte(fill(benchSecureYAML, "MW", v.mw)))
			if err != nil {
				b.Fatal(err)
			}
			sp, err := New(fc.Config, fc.Security, inProcess(), quiet(b), proxy.WithSeed(1))
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Shutdown(context.Background())
			h := sp.Handler()
			req := httptest.NewRequest(http.MethodGet, "http://gw.test/api/x?q=1", nil)
			req.RemoteAddr = "127.0.0.1:4321"
			req.Header.Set("X-API-Key", "k")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.Clone(req.Context()))
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r := req.Clone(req.Context())
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// TestDocExampleParses keeps SecurityConfig's example configuration valid:
// it is read from the doc comment itself.
func TestDocExampleParses(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "configured in the routes' middlewares lists. For example:\n//\n")
	if !ok {
		t.Fatal("no example in SecurityConfig's doc comment")
	}
	var yml strings.Builder
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "//\t") {
			break
		}
		yml.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
	}
	if _, err := ParseFile("example.yaml", []byte(yml.String())); err != nil {
		t.Fatalf("the documented example does not parse: %v\n%s", err, yml.String())
	}
}

// inProcess makes every cluster answer 200 without a body, in process.
func inProcess() proxy.Option {
	return proxy.WithTransport(func(string, http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
		}), nil
	})
}

// discardWriter is a ResponseWriter that keeps nothing but its header.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

package secure

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/goleak"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// This file holds the helpers of the security tests: a Proxy started from
// YAML on a 127.0.0.1 listener, upstreams, an in-process CA with SVIDs and
// mutual TLS clients and upstreams, and JWT signing.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is the logger of tests: errors only, to the test's output.
func quiet(t testing.TB) proxy.Option {
	return proxy.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})))
}

// upstream serves h on 127.0.0.1 until the test ends and returns its
// address.
func upstream(t testing.TB, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// named answers 200 with its name, for tests that ask which upstream
// answered.
func named(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, name)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// epochNow is the issuance time of test certificates: the wall clock,
// because crypto/tls checks validity against it during handshakes.
func epochNow() time.Time { return time.Now() }

// secHarness is a Proxy serving on 127.0.0.1.
type secHarness struct {
	sp     *Proxy
	addr   string
	url    string
	file   string
	client *http.Client
}

// fill replaces {{KEY}} placeholders in a YAML template.
func fill(tmpl string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		tmpl = strings.ReplaceAll(tmpl, "{{"+kv[i]+"}}", kv[i+1])
	}
	return tmpl
}

// startSecure writes src to a file, loads it with its security section,
// lets edit set code fields, and serves the proxy on 127.0.0.1.
func startSecure(t testing.TB, src string, edit func(*SecurityConfig), opts ...proxy.Option) *secHarness {
	t.Helper()
	file := filepath.Join(t.TempDir(), "proxy.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	fc, err := LoadFile(file)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if edit != nil {
		edit(&fc.Security)
	}
	sp, err := New(fc.Config, fc.Security, append([]proxy.Option{quiet(t), proxy.WithSeed(1)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sp.Serve(ln)
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	scheme := "http"
	if sp.sec.serverTLS != nil && sp.sec.mode == mtls.ModeStrict {
		scheme = "https"
	}
	h := &secHarness{sp: sp, addr: ln.Addr().String(), url: scheme + "://" + ln.Addr().String(), file: file,
		client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sp.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return h
}

// get sends a GET with header pairs through client c (nil: the harness's)
// and returns the status, the response and its body.
func (h *secHarness) get(t testing.TB, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = h.client
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp, b.String()
}

// testCA is an in-process CA of trust domain mesh.test.
func testCA(t testing.TB) *mtls.CA {
	t.Helper()
	ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: "mesh.test", Now: epochNow().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func svid(t testing.TB, ca *mtls.CA, id string, ttl time.Duration) *mtls.SVID {
	t.Helper()
	s, err := ca.Issue(mtls.IssueRequest{ID: spiffeid.RequireFromString(id), TTL: ttl, Now: epochNow().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mtlsClient is an HTTP client that presents id's SVID and trusts ca.
func mtlsClient(t testing.TB, ca *mtls.CA, id string) *http.Client {
	t.Helper()
	cfg := mtls.ClientConfig(mtls.NewSource(svid(t, ca, id, time.Hour)), &mtls.Verifier{Bundle: ca.Bundle()})
	tr := &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// mtlsUpstream is an upstream that requires mutual TLS from peers of its
// trust bundle, with its own rotating SVID.
type mtlsUpstream struct {
	addr string
	rot  *mtls.Rotator
	src  *mtls.Source

	mu      sync.Mutex
	clients map[string]int // client certificate serials seen
}

// startMTLSUpstream serves handler over mutual TLS with an SVID for id
// issued by ca (lifetime ttl). With keepAlive false every request is a new
// connection, hence a new handshake.
func startMTLSUpstream(t testing.TB, ca *mtls.CA, id string, ttl time.Duration, keepAlive bool, handler http.Handler) *mtlsUpstream {
	t.Helper()
	u := &mtlsUpstream{clients: map[string]int{}}
	u.src = mtls.NewSource(svid(t, ca, id, ttl))
	u.rot = mtls.NewRotator(u.src, &mtls.CAIssuer{CA: ca, ID: spiffeid.RequireFromString(id), TTL: ttl}, mtls.RotationPolicy{})
	cfg := mtls.ServerConfig(u.src, &mtls.Verifier{Bundle: ca.Bundle()})
	cfg.NextProtos = []string{"http/1.1"}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			u.mu.Lock()
			u.clients[r.TLS.PeerCertificates[0].SerialNumber.String()]++
			u.mu.Unlock()
		}
		handler.ServeHTTP(w, r)
	}))
	srv.TLS = cfg
	srv.Config.SetKeepAlivesEnabled(keepAlive)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u.addr = srv.Listener.Addr().String()
	return u
}

func (u *mtlsUpstream) clientSerials() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.clients)
}

// signer signs ES256 JWTs with a key whose public half is in its JWKS.
type signer struct {
	key *ecdsa.PrivateKey
	kid string
}

func newJWTSigner(t testing.TB, kid string) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, kid: kid}
}

func (s *signer) jwks(t testing.TB) []byte {
	t.Helper()
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	doc := map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": s.kid, "alg": "ES256", "use": "sig",
		"x": enc(pad(s.key.X.Bytes())), "y": enc(pad(s.key.Y.Bytes())),
	}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *signer) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claims are valid claims for issuer https://issuer.test and audience
// payments, granting scope.
func claims(sub, scope string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": "https://issuer.test", "aud": "payments", "sub": sub, "scope": scope,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
}

// auditLines reads a JSON-lines audit log.
func auditLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// okHandler answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
})

// tlsHandshakeFails reports whether a TLS client with cfg fails to talk to
// addr.
func tlsHandshakeFails(addr string, cfg *tls.Config) bool {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return true
	}
	defer c.Close()
	// TLS 1.3 reports a refused client certificate on the first read.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return true
	}
	_, err = c.Read(make([]byte, 1))
	return err != nil
}

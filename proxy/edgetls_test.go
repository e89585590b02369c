package proxy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// testCA issues certificates for the edge TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	n    int64
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, n: 1}
}

// issue returns a PEM certificate named cn, for the DNS names (a server's)
// or, without names, for client authentication, and its PEM key.
func (ca *testCA) issue(t *testing.T, cn string, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.n++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.n), Subject: pkix.Name{CommonName: cn}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if len(names) == 0 {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// files writes a certificate and key issued by ca into dir as name.crt and
// name.key and returns their paths.
func (ca *testCA) files(t *testing.T, dir, name, cn string, names ...string) config.CertificateConfig {
	t.Helper()
	c, k := ca.issue(t, cn, names...)
	cc := config.CertificateConfig{CertFile: filepath.Join(dir, name+".crt"), KeyFile: filepath.Join(dir, name+".key")}
	write(t, cc.CertFile, c)
	write(t, cc.KeyFile, k)
	return cc
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// edgeHarness is a proxy terminating the tls section's TLS, with a clock
// of its own for the reload interval.
type edgeHarness struct {
	p    *Proxy
	addr string
	now  atomic.Int64 // the edge TLS clock (Unix ns)
}

func startEdge(t *testing.T, sec *config.TLSConfig) *edgeHarness {
	t.Helper()
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, echo("up")))}, config.Policy{})
	cfg.TLS = sec
	p, err := New(cfg, quiet(t), WithSeed(1))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &edgeHarness{p: p}
	h.now.Store(time.Now().UnixNano())
	p.edge.now = func() time.Time { return time.Unix(0, h.now.Load()) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return h
}

// dial makes a TLS connection with cfg (InsecureSkipVerify unless RootCAs
// is set) and returns it, or the handshake's error.
func (h *edgeHarness) dial(t *testing.T, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	cfg = cfg.Clone()
	if cfg.RootCAs == nil {
		cfg.InsecureSkipVerify = true
	}
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(nc, cfg)
	if err := c.Handshake(); err != nil {
		return nil, err
	}
	return c, nil
}

// served is the name of the certificate the server showed.
func served(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].Subject.CommonName }

// get sends a GET over an HTTP/1.1 connection and returns the status, or
// the error of the exchange (a refused client certificate shows here with
// TLS 1.3).
func get(c *tls.Conn) (int, error) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// TestEdgeTLSPicksCertificateBySNI: the SNI name picks the certificate
// whose serverNames, or DNS names when those are unset, match it, exactly
// before by wildcard; anything else, and no name, gets the first.
func TestEdgeTLSPicksCertificateBySNI(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	def := ca.files(t, dir, "default", "default", "default.example")
	api := ca.files(t, dir, "api", "api", "api.example.com")
	wild := ca.files(t, dir, "wild", "wild", "unused.example")
	wild.ServerNames = []string{"*.shop.example"}
	exact := ca.files(t, dir, "exact", "exact", "unused.example")
	exact.ServerNames = []string{"Pay.Shop.Example"}
	h := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{def, api, wild, exact}})
	for _, tc := range []struct{ sni, want string }{
		{"api.example.com", "api"},
		{"API.example.com", "api"},
		{"cart.shop.example", "wild"},
		{"pay.shop.example", "exact"},
		{"a.b.shop.example", "default"},
		{"other.example", "default"},
		{"", "default"},
	} {
		c, err := h.dial(t, &tls.Config{ServerName: tc.sni})
		if err != nil {
			t.Fatalf("SNI %q: %v", tc.sni, err)
		}
		if got := served(c); got != tc.want {
			t.Errorf("SNI %q: served %q, want %q", tc.sni, got, tc.want)
		}
	}
	// Verified by a client that trusts the CA, by name.
	c, err := h.dial(t, &tls.Config{ServerName: "api.example.com", RootCAs: ca.pool})
	if err != nil {
		t.Fatalf("verified handshake: %v", err)
	}
	if code, err := get(c); err != nil || code != 200 {
		t.Errorf("GET over TLS: %d %v", code, err)
	}
}

// TestEdgeTLSRotation: rotated files take new handshakes once the reload
// interval has passed, or at once on Reload, while a connection opened
// before goes on with its certificate; files that do not load keep the
// certificate in use.
func TestEdgeTLSRotation(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "v1", "site.example")
	sec := &config.TLSConfig{Certificates: []config.CertificateConfig{cc}, ReloadInterval: config.Duration(time.Minute)}
	h := startEdge(t, sec)
	dial := func() *tls.Conn {
		t.Helper()
		c, err := h.dial(t, &tls.Config{ServerName: "site.example"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rotate := func(cn string) {
		t.Helper()
		c, k := ca.issue(t, cn, "site.example")
		write(t, cc.CertFile, c)
		write(t, cc.KeyFile, k)
		// A new modification time even on a coarse clock.
		mod := time.Now().Add(time.Duration(ca.n) * time.Second)
		for _, f := range []string{cc.CertFile, cc.KeyFile} {
			if err := os.Chtimes(f, mod, mod); err != nil {
				t.Fatal(err)
			}
		}
	}

	old := dial()
	if code, err := get(old); err != nil || code != 200 || served(old) != "v1" {
		t.Fatalf("before rotation: %d %v, served %s", code, err, served(old))
	}
	rotate("v2")
	if got := served(dial()); got != "v1" {
		t.Errorf("within the reload interval: served %s, want v1 still", got)
	}
	h.now.Add(int64(time.Minute))
	if got := served(dial()); got != "v2" {
		t.Errorf("after the reload interval: served %s, want v2", got)
	}
	if code, err := get(old); err != nil || code != 200 {
		t.Errorf("the connection opened before the rotation: %d %v", code, err)
	}

	rotate("v3")
	if err := h.p.Reload(h.p.Config()); err != nil {
		t.Fatal(err)
	}
	if got := served(dial()); got != "v3" {
		t.Errorf("after Reload: served %s, want v3", got)
	}

	write(t, cc.CertFile, []byte("not a certificate"))
	h.now.Add(int64(time.Minute))
	if got := served(dial()); got != "v3" {
		t.Errorf("after a broken rotation: served %s, want v3 kept", got)
	}
	if err := h.p.Reload(h.p.Config()); err == nil || !strings.Contains(err.Error(), "tls.certificates[0]") {
		t.Errorf("Reload with a broken certificate: %v, want it refused naming tls.certificates[0]", err)
	}
	if code, err := get(old); err != nil || code != 200 {
		t.Errorf("the first connection at the end: %d %v", code, err)
	}
}

// TestEdgeTLSMinVersion: minVersion 1.3 refuses a TLS 1.2 client and takes
// a TLS 1.3 one; the default takes TLS 1.2.
func TestEdgeTLSMinVersion(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "site", "site.example")
	h13 := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{cc}, MinVersion: "1.3"})
	if _, err := h13.dial(t, &tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("minVersion 1.3 took a TLS 1.2 handshake")
	}
	if c, err := h13.dial(t, &tls.Config{}); err != nil || c.ConnectionState().Version != tls.VersionTLS13 {
		t.Errorf("minVersion 1.3, TLS 1.3 client: %v", err)
	}
	h12 := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{cc},
		CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}})
	c, err := h12.dial(t, &tls.Config{MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("default minVersion, TLS 1.2 client: %v", err)
	}
	if cs := c.ConnectionState(); cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("cipher suite %s, want the one configured", tls.CipherSuiteName(cs.CipherSuite))
	}
	if _, err := h12.dial(t, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}); err == nil {
		t.Error("a TLS 1.2 client offering only an unconfigured suite got through")
	}
}

// TestEdgeTLSClientCertificates: clientAuth require refuses a client
// without a certificate or with one of another CA and serves one with a
// certificate of clientCAFile's; verify-if-given serves a client without
// one too.
func TestEdgeTLSClientCertificates(t *testing.T) {
	ca, other, dir := newTestCA(t), newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "site", "site.example")
	caFile := filepath.Join(dir, "clients.pem")
	write(t, caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
	pair := func(ca *testCA) []tls.Certificate {
		c, k := ca.issue(t, "client")
		cert, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{cert}
	}
	good, bad := pair(ca), pair(other)
	for _, tc := range []struct {
		auth          string
		none, foreign bool // whether each client is served
	}{
		{config.ClientAuthRequire, false, false},
		{config.ClientAuthVerifyIfGiven, true, false},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			h := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{cc}, ClientAuth: tc.auth, ClientCAFile: caFile})
			for _, c := range []struct {
				name  string
				certs []tls.Certificate
				want  bool
			}{{"no certificate", nil, tc.none}, {"another CA's", bad, tc.foreign}, {"clientCAFile's", good, true}} {
				conn, err := h.dial(t, &tls.Config{Certificates: c.certs})
				code := 0
				if err == nil {
					code, err = get(conn)
				}
				if served := err == nil && code == 200; served != c.want {
					t.Errorf("%s: served %v (%d, %v), want %v", c.name, served, code, err, c.want)
				}
			}
		})
	}
}

// TestEdgeTLSALPN: by default a client offering h2 gets HTTP/2 and one
// offering only http/1.1 gets HTTP/1.1; alpn [http/1.1] gives every
// client HTTP/1.1.
func TestEdgeTLSALPN(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "site", "site.example")
	for _, tc := range []struct {
		alpn   []string
		h2, h1 string // the protocol each client gets
	}{
		{nil, "HTTP/2.0", "HTTP/1.1"},
		{[]string{"h2", "http/1.1"}, "HTTP/2.0", "HTTP/1.1"},
		{[]string{"http/1.1"}, "HTTP/1.1", "HTTP/1.1"},
	} {
		h := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{cc}, ALPN: tc.alpn})
		for _, client := range []struct {
			h2   bool
			want string
		}{{true, tc.h2}, {false, tc.h1}} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "site.example"}, ForceAttemptHTTP2: client.h2}
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + h.addr + "/")
			if err != nil {
				t.Fatalf("alpn %v, h2 client %v: %v", tc.alpn, client.h2, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if resp.Proto != client.want || decodeEcho(t, string(b)).Name != "up" {
				t.Errorf("alpn %v, h2 client %v: %s, want %s", tc.alpn, client.h2, resp.Proto, client.want)
			}
		}
	}
}

// TestEdgeTLSOCSPStaple: a certificate's ocspStapleFile is stapled to the
// handshake.
func TestEdgeTLSOCSPStaple(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "site", "site.example")
	cc.OCSPStapleFile = filepath.Join(dir, "site.ocsp")
	staple := []byte("\x30\x03\x0a\x01\x00") // any bytes: the server does not parse it
	write(t, cc.OCSPStapleFile, staple)
	h := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{cc}})
	c, err := h.dial(t, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().OCSPResponse; string(got) != string(staple) {
		t.Errorf("stapled %x, want %x", got, staple)
	}
}

// TestEdgeTLSBadConfig: every problem of the tls section, in its values or
// its files, is refused by New with its key path and, for a file, its
// name; the section cannot be added or removed by Reload, nor set with
// WithServerTLS.
func TestEdgeTLSBadConfig(t *testing.T) {
	ca, other, dir := newTestCA(t), newTestCA(t), t.TempDir()
	cc := ca.files(t, dir, "site", "site", "site.example")
	mismatch := config.CertificateConfig{CertFile: cc.CertFile, KeyFile: other.files(t, dir, "other", "other", "x").KeyFile}
	notPEM := filepath.Join(dir, "garbage.pem")
	write(t, notPEM, []byte("garbage"))
	missing := filepath.Join(dir, "missing.pem")
	cert := func(c config.CertificateConfig) []config.CertificateConfig { return []config.CertificateConfig{c} }
	for _, tc := range []struct {
		name string
		sec  config.TLSConfig
		want []string // in the error
	}{
		{"no certificates", config.TLSConfig{}, []string{"tls.certificates", "at least one"}},
		{"missing certFile", config.TLSConfig{Certificates: cert(config.CertificateConfig{CertFile: missing, KeyFile: cc.KeyFile})},
			[]string{"tls.certificates[0].certFile", "missing.pem", "no such file"}},
		{"missing keyFile", config.TLSConfig{Certificates: cert(config.CertificateConfig{CertFile: cc.CertFile})},
			[]string{"tls.certificates[0].keyFile", "is required"}},
		{"certFile not PEM", config.TLSConfig{Certificates: cert(config.CertificateConfig{CertFile: notPEM, KeyFile: cc.KeyFile})},
			[]string{"tls.certificates[0]", "garbage.pem", "no PEM certificate"}},
		{"keyFile not PEM", config.TLSConfig{Certificates: cert(config.CertificateConfig{CertFile: cc.CertFile, KeyFile: notPEM})},
			[]string{"tls.certificates[0]", "garbage.pem", "no PEM private key"}},
		{"key of another certificate", config.TLSConfig{Certificates: cert(mismatch)},
			[]string{"tls.certificates[0]", "other.key does not match the certificate in", "site.crt"}},
		{"unknown suite", config.TLSConfig{Certificates: cert(cc), CipherSuites: []string{"TLS_NOPE"}},
			[]string{"tls.cipherSuites[0]", `unknown cipher suite "TLS_NOPE"`}},
		{"insecure suite", config.TLSConfig{Certificates: cert(cc), CipherSuites: []string{"TLS_RSA_WITH_RC4_128_SHA"}},
			[]string{"tls.cipherSuites[0]", "insecure"}},
		{"TLS 1.1", config.TLSConfig{Certificates: cert(cc), MinVersion: "1.1"}, []string{"tls.minVersion", "not accepted"}},
		{"unknown version", config.TLSConfig{Certificates: cert(cc), MinVersion: "2"}, []string{"tls.minVersion", `unknown TLS version "2"`}},
		{"unknown ALPN", config.TLSConfig{Certificates: cert(cc), ALPN: []string{"h3"}}, []string{"tls.alpn[0]", `unknown protocol "h3"`}},
		{"unknown clientAuth", config.TLSConfig{Certificates: cert(cc), ClientAuth: "always"}, []string{"tls.clientAuth", `unknown clientAuth "always"`}},
		{"require without CAs", config.TLSConfig{Certificates: cert(cc), ClientAuth: "require"}, []string{"tls.clientCAFile", "needs the CAs"}},
		{"clientCAFile not PEM", config.TLSConfig{Certificates: cert(cc), ClientAuth: "require", ClientCAFile: notPEM},
			[]string{"tls.clientCAFile", "garbage.pem holds no PEM certificate"}},
		{"missing staple", config.TLSConfig{Certificates: cert(config.CertificateConfig{CertFile: cc.CertFile, KeyFile: cc.KeyFile, OCSPStapleFile: missing})},
			[]string{"tls.certificates[0].ocspStapleFile", "missing.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps("127.0.0.1:1")}, config.Policy{})
			cfg.TLS = &tc.sec
			_, err := New(cfg, quiet(t))
			if err == nil {
				t.Fatal("New took it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}

	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps("127.0.0.1:1")}, config.Policy{})
	cfg.TLS = &config.TLSConfig{Certificates: cert(cc)}
	if _, err := New(cfg, quiet(t), WithServerTLS(&tls.Config{})); err == nil || !strings.Contains(err.Error(), "tls: the listener already terminates mutual TLS") {
		t.Errorf("tls with WithServerTLS: %v", err)
	}
	p, err := New(cfg, quiet(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	plain := cfg
	plain.TLS = nil
	if err := p.Reload(plain); err == nil || !strings.Contains(err.Error(), "tls: cannot be added or removed by a reload") {
		t.Errorf("Reload without tls: %v", err)
	}
	var ce *config.ConfigError
	if err := p.Reload(cfg); err != nil || errors.As(err, &ce) {
		t.Errorf("Reload with the same tls: %v", err)
	}
}

package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// selfSigned returns a TLS certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTLSHooks checks the hook points the security layer builds on: TLS
// termination with WithServerTLS (HTTP/2 by ALPN) and TLS to an upstream
// with a cluster protocol of https and WithClusterTLS.
func TestTLSHooks(t *testing.T) {
	up := httptest.NewUnstartedServer(echo("tls-upstream"))
	up.EnableHTTP2 = true
	up.StartTLS()
	t.Cleanup(up.Close)
	upTLS := up.Client().Transport.(*http.Transport).TLSClientConfig

	var asked string
	h := start(t, oneRoute(ClusterConfig{Name: "secure", Protocol: ProtocolHTTPS, Endpoints: eps(up.Listener.Addr().String())}, Policy{}),
		WithServerTLS(&tls.Config{Certificates: up.TLS.Certificates}),
		WithClusterTLS(func(cluster string) (*tls.Config, error) {
			asked = cluster
			return upTLS.Clone(), nil
		}))
	if asked != "secure" {
		t.Fatalf("WithClusterTLS asked for %q", asked)
	}
	tr := &http.Transport{TLSClientConfig: upTLS.Clone(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + h.addr + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 {
		t.Errorf("downstream %s, want HTTP/2 over TLS", resp.Proto)
	}
	e := decodeEcho(t, string(b))
	if e.Name != "tls-upstream" || e.Proto != "HTTP/2.0" || e.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("upstream saw %s %s proto=%s", e.Name, e.Proto, e.Header.Get("X-Forwarded-Proto"))
	}
}

func TestRunServesAndStops(t *testing.T) {
	up := upstream(t, echo("up"))
	cfg := oneRoute(ClusterConfig{Name: "up", Endpoints: eps(up)}, Policy{})
	cfg.Listen, cfg.Admin = "127.0.0.1:0", "127.0.0.1:0"
	p, err := New(cfg, quiet(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

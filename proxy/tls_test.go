package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/internal/testnet"
	"github.com/meshbench/meshbench/proxy/config"
)

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
	h := start(t, oneRoute(config.ClusterConfig{Name: "secure", Protocol: config.ProtocolHTTPS, Endpoints: eps(up.Listener.Addr().String())}, config.Policy{}),
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

// TestTLSListenerHook checks that WithTLSListener puts TLS on the data
// listener in tls.NewListener's place, given NextProtos as ServeTLS sets
// them.
func TestTLSListenerHook(t *testing.T) {
	cert, pool := testnet.SelfSigned(t)
	protos := make(chan []string, 1)
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, echo("up")))}, config.Policy{}),
		WithServerTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		WithTLSListener(func(ln net.Listener, cfg *tls.Config) (net.Listener, error) {
			protos <- cfg.NextProtos
			return tls.NewListener(ln, cfg), nil
		}))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + h.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if got := <-protos; !slices.Equal(got, []string{"h2", "http/1.1"}) {
		t.Errorf("the listener got NextProtos %v", got)
	}
}

func TestTLSNextProtos(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want []string
	}{
		{"none", nil, []string{"h2", "http/1.1"}},
		{"h1 only", []string{"http/1.1"}, []string{"h2", "http/1.1"}},
		{"both", []string{"h2", "http/1.1"}, []string{"h2", "http/1.1"}},
		{"custom kept", []string{"acme-tls/1"}, []string{"h2", "acme-tls/1", "http/1.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tlsNextProtos(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	up := upstream(t, echo("up"))
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up)}, config.Policy{})
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

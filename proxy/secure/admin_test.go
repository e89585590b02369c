package secure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
)

// adminYAML is a gateway whose admin listener serves the registry to mTLS
// peers of ns/pay and to the token whose digest is {{DIGEST}}.
const adminYAML = `
routes:
  - match: {prefix: /}
    cluster: up
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
registry: {enabled: true}
adminAccess:
  tokens: [{name: fleet, sha256: "{{DIGEST}}"}]
  allowSpiffeIds: ["spiffe://mesh.test/ns/pay/*"]
security:
  identity: {spiffeId: "` + gatewayID + `", ttl: 10m}
`

// TestAdminMTLSPeers: on the admin listener (PERMISSIVE), an mTLS peer an
// allowSpiffeIds pattern matches may write to the registry, another peer
// of the bundle is refused with 403, plaintext clients need the token, and
// every decision is counted.
func TestAdminMTLSPeers(t *testing.T) {
	ca := testCA(t)
	sum := sha256.Sum256([]byte("fleet-token"))
	h := startSecure(t, fill(adminYAML, "UP", upstream(t, okHandler), "DIGEST", hex.EncodeToString(sum[:])),
		func(s *SecurityConfig) { s.CA = ca })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.sp.ServeAdmin(ln) }()
	t.Cleanup(func() {
		if err := h.sp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeAdmin: %v", err)
		}
	})
	addr := ln.Addr().String()
	ctx := context.Background()
	inst := discovery.Instance{Endpoint: discovery.Endpoint{ID: "a", Address: "127.0.0.1:9"}, TTL: time.Minute}
	for _, tc := range []struct {
		name   string
		client *http.Client
		scheme string
		token  string
		status int // 0: allowed
	}{
		{name: "allowed peer", client: mtlsClient(t, ca, "spiffe://mesh.test/ns/pay/sa/payments"), scheme: "https"},
		{name: "disallowed peer", client: mtlsClient(t, ca, "spiffe://mesh.test/ns/edge/sa/web"), scheme: "https", status: 403},
		{name: "disallowed peer with the token", client: mtlsClient(t, ca, "spiffe://mesh.test/ns/edge/sa/web"), scheme: "https", token: "fleet-token"},
		{name: "plaintext without token", client: &http.Client{}, scheme: "http", status: 401},
		{name: "plaintext with token", client: &http.Client{}, scheme: "http", token: "fleet-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &discovery.Client{BaseURL: tc.scheme + "://" + addr + "/registry", HTTP: tc.client, Token: tc.token}
			_, err := c.Register(ctx, "pay", inst)
			switch {
			case tc.status == 0 && err != nil:
				t.Errorf("register: %v", err)
			case tc.status != 0 && (err == nil || !strings.Contains(err.Error(), "status "+strconv.Itoa(tc.status))):
				t.Errorf("register: %v, want status %d", err, tc.status)
			}
			// Reads are open, over either protocol.
			if _, err := c.List(ctx, "pay"); err != nil {
				t.Errorf("list: %v", err)
			}
		})
	}
	t.Run("peer of another CA", func(t *testing.T) {
		c := &discovery.Client{BaseURL: "https://" + addr + "/registry", HTTP: mtlsClient(t, testCA(t), "spiffe://mesh.test/ns/pay/sa/payments")}
		if _, err := c.Register(ctx, "pay", inst); err == nil || strings.Contains(err.Error(), "status") {
			t.Errorf("register from a foreign CA: %v, want a failed handshake", err)
		}
	})

	rec := httptest.NewRecorder()
	h.sp.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`meshbench_proxy_admin_decisions_total{decision="allowed",reason="peer"} 1`,
		`meshbench_proxy_admin_decisions_total{decision="allowed",reason="token"} 2`,
		`meshbench_proxy_admin_decisions_total{decision="refused",reason="peer_not_allowed"} 1`,
		`meshbench_proxy_admin_decisions_total{decision="refused",reason="missing_credentials"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAdminAccessSecurityChecks: allowSpiffeIds are checked as mtls
// patterns and need security.identity; a proxy without the security layer
// refuses them.
func TestAdminAccessSecurityChecks(t *testing.T) {
	_, err := ParseFile("admin.yaml", []byte(`
routes: [{match: {prefix: /}, cluster: up}]
clusters: [{name: up, endpoints: [{address: "127.0.0.1:9"}]}]
adminAccess:
  allowSpiffeIds: ["spiffe://mesh.test/ns/**/x", "spiffe://mesh.test/ns/pay/*"]
`))
	for _, want := range []string{
		`admin.yaml:5:`, `adminAccess.allowSpiffeIds[0]: pattern "spiffe://mesh.test/ns/**/x"`,
		`adminAccess.allowSpiffeIds: mutual TLS peers on the admin listener need security.identity`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFile: %v, want %q", err, want)
		}
	}
	cfg := config.Config{Routes: []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"}},
		Clusters:    []config.ClusterConfig{{Name: "up", Endpoints: []discovery.Endpoint{{Address: "127.0.0.1:9"}}}},
		AdminAccess: config.AdminAccessConfig{AllowSpiffeIDs: []string{"spiffe://mesh.test/*"}}}
	if _, err := proxy.New(cfg, quiet(t)); err == nil || !strings.Contains(err.Error(), "adminAccess.allowSpiffeIds: ") {
		t.Errorf("core proxy with allowSpiffeIds: %v", err)
	}
}

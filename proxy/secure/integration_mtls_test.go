package secure

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// gatewayID is the SPIFFE ID the gateway of these tests presents.
const gatewayID = "spiffe://mesh.test/ns/edge/sa/gateway"

// listenerYAML is a gateway whose listener takes mutual TLS in {{MODE}},
// with an open route and a route that only admits verified peers.
const listenerYAML = `
routes:
  - name: secure
    match: {prefix: /secure}
    cluster: up
    middlewares:
      - name: peerAuthz
        params: {allow: ["*"]}
  - name: open
    match: {prefix: /}
    cluster: up
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
security:
  auditLog: "{{AUDIT}}"
  identity: {spiffeId: "` + gatewayID + `", ttl: 10m}
  listener:
    mode: {{MODE}}
    peers: ["spiffe://mesh.test/ns/prod/*", "spiffe://mesh.test/ns/ops/*"]
`

// TestListenerModes checks Istio's PeerAuthentication modes on the proxy's
// own listener: STRICT takes only mutual TLS, PERMISSIVE takes mutual TLS
// and plaintext on one port (plaintext peers have no identity, so a route
// that needs one refuses them), DISABLE takes only plaintext. It also
// checks the handshake-time gates: a client of another CA, a client
// without a certificate and a client outside listener.peers never get a
// connection.
func TestListenerModes(t *testing.T) {
	up := upstream(t, okHandler)
	ca := testCA(t)
	for _, tc := range []struct {
		mode                   mtls.Mode
		plainOpen, plainSecure int // 0: the request fails
		mtlsOpen, mtlsSecure   int
	}{
		{mode: mtls.ModeStrict, plainOpen: 400, plainSecure: 400, mtlsOpen: 200, mtlsSecure: 200},
		{mode: mtls.ModePermissive, plainOpen: 200, plainSecure: 403, mtlsOpen: 200, mtlsSecure: 200},
		{mode: mtls.ModeDisable, plainOpen: 200, plainSecure: 403, mtlsOpen: 0, mtlsSecure: 0},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			audit := t.TempDir() + "/audit.jsonl"
			h := startSecure(t, fill(listenerYAML, "UP", up, "MODE", string(tc.mode), "AUDIT", audit),
				func(s *SecurityConfig) { s.CA = ca })
			plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
			defer plain.CloseIdleConnections()
			web := mtlsClient(t, ca, "spiffe://mesh.test/ns/prod/sa/web")

			status := func(c *http.Client, url string) int {
				resp, err := c.Get(url)
				if err != nil {
					return 0
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			checks := []struct {
				name string
				c    *http.Client
				url  string
				want int
			}{
				{"plaintext, open route", plain, "http://" + h.addr + "/", tc.plainOpen},
				{"plaintext, peer route", plain, "http://" + h.addr + "/secure", tc.plainSecure},
				{"mtls, open route", web, "https://" + h.addr + "/", tc.mtlsOpen},
				{"mtls, peer route", web, "https://" + h.addr + "/secure", tc.mtlsSecure},
			}
			for _, c := range checks {
				if got := status(c.c, c.url); got != c.want {
					t.Errorf("%s: status %d, want %d", c.name, got, c.want)
				}
			}
			if tc.mode == mtls.ModeDisable {
				return
			}
			other, err := mtls.NewCA(mtls.CAOptions{TrustDomain: "mesh.test", Now: epochNow().Add(-time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			trust := &mtls.Verifier{Bundle: ca.Bundle()}
			for _, c := range []struct {
				name string
				cfg  *tls.Config
			}{
				{"no client certificate", &tls.Config{InsecureSkipVerify: true}},
				{"certificate of another CA", mtls.ClientConfig(mtls.NewSource(svid(t, other, "spiffe://mesh.test/ns/prod/sa/web", time.Hour)), trust)},
				{"identity outside listener.peers", mtls.ClientConfig(mtls.NewSource(svid(t, ca, "spiffe://mesh.test/ns/lab/sa/web", time.Hour)), trust)},
			} {
				if !tlsHandshakeFails(h.addr, c.cfg) {
					t.Errorf("%s: the listener accepted the connection", c.name)
				}
			}
		})
	}
}

// peerAuthzYAML guards each route with its own SPIFFE allow and deny
// rules, after Istio's AuthorizationPolicy.
const peerAuthzYAML = `
routes:
  - name: payments
    match: {prefix: /payments}
    cluster: up
    middlewares:
      - name: peerAuthz
        params:
          allow: ["spiffe://mesh.test/ns/prod/*"]
          deny: ["*/sa/evil"]
  - name: admin
    match: {prefix: /admin}
    cluster: up
    middlewares:
      - name: peerAuthz
        params: {allow: ["spiffe://mesh.test/ns/ops/sa/admin"]}
  - name: public
    match: {prefix: /}
    cluster: up
    middlewares:
      - name: peerAuthz
        params: {deny: ["spiffe://mesh.test/ns/*/sa/evil"]}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
security:
  auditLog: "{{AUDIT}}"
  identity: {spiffeId: "` + gatewayID + `"}
  listener: {mode: STRICT}
`

// TestPeerAuthzPerRoute checks allow and deny by SPIFFE ID, per route,
// through the proxy: deny wins over allow, allow rules must match, the
// answer is 403 with the reason header, and every decision is in the audit
// log with the peer's principal.
func TestPeerAuthzPerRoute(t *testing.T) {
	up := upstream(t, okHandler)
	ca := testCA(t)
	audit := t.TempDir() + "/audit.jsonl"
	h := startSecure(t, fill(peerAuthzYAML, "UP", up, "AUDIT", audit), func(s *SecurityConfig) { s.CA = ca })
	clients := map[string]*http.Client{
		"web":   mtlsClient(t, ca, "spiffe://mesh.test/ns/prod/sa/web"),
		"evil":  mtlsClient(t, ca, "spiffe://mesh.test/ns/prod/sa/evil"),
		"admin": mtlsClient(t, ca, "spiffe://mesh.test/ns/ops/sa/admin"),
	}
	cases := []struct {
		client, path string
		want         int
	}{
		{"web", "/payments/1", 200},
		{"evil", "/payments/1", 403}, // allowed by prefix, denied by suffix: deny wins
		{"admin", "/payments/1", 403},
		{"admin", "/admin/x", 200},
		{"web", "/admin/x", 403},
		{"web", "/", 200},
		{"admin", "/", 200},
		{"evil", "/", 403},
	}
	for _, c := range cases {
		resp, body := h.get(t, clients[c.client], "https://"+h.addr+c.path)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d (%s)", c.client, c.path, resp.StatusCode, c.want, body)
		}
		if c.want == 403 && resp.Header.Get(proxy.HeaderReason) != ReasonPeerDenied {
			t.Errorf("%s %s: reason %q", c.client, c.path, resp.Header.Get(proxy.HeaderReason))
		}
	}
	h.sp.sec.close() // flush and close the audit file before reading it
	lines := auditLines(t, audit)
	if len(lines) != len(cases) {
		t.Fatalf("%d audit lines, want %d", len(lines), len(cases))
	}
	for i, l := range lines {
		want := "allow"
		if cases[i].want == 403 {
			want = "deny"
		}
		if l["decision"] != want || l["stage"] != "authz" || l["method"] != "mtls" || l["request_id"] == nil ||
			l["principal"] == nil || l["route"] == nil {
			t.Errorf("audit line %d: %v, want decision %s with principal, route and request id", i, l, want)
		}
	}
}

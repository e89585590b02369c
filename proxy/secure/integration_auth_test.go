package secure

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
)

// authYAML has a JWT route with a JWKS file, a JWT route with a JWKS URL on
// loopback, and an API-key route with a per-consumer limit.
const authYAML = `
routes:
  - name: pay
    match: {prefix: /pay}
    cluster: up
    middlewares:
      - name: auth
        params:
          type: jwt
          issuer: https://issuer.test
          audiences: [payments]
          jwksFile: "{{JWKS}}"
          scopes: ["payments:write"]
  - name: remote
    match: {prefix: /remote}
    cluster: up
    middlewares:
      - name: auth
        params: {type: jwt, issuer: "https://issuer.test", audiences: [payments], jwksUrl: "{{JWKSURL}}"}
  - name: keys
    match: {prefix: /keys}
    cluster: up
    middlewares:
      - name: auth
        params:
          type: apiKey
          keys:
            - {name: acme, hash: "{{ACME}}"}
            - {name: globex, hash: "{{GLOBEX}}"}
      - name: consumerLimit
        params: {rate: 0.001, burst: 2}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
security:
  auditLog: "{{AUDIT}}"
`

// TestJWTAndAPIKeys sends valid and invalid credentials through the
// gateway: every invalid token is 401 with a Bearer challenge, a valid
// token without the route's scope is 403, API keys are checked against
// their hashes and stripped before the upstream, the per-consumer limit
// keys on the authenticated consumer, and every decision is in the audit
// log.
func TestJWTAndAPIKeys(t *testing.T) {
	good := newJWTSigner(t, "k1")
	forger := newJWTSigner(t, "k1") // same kid, another key
	dir := t.TempDir()
	jwks := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwks, good.jwks(t), 0o600); err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(good.jwks(t))
	}))
	t.Cleanup(idp.Close)
	// The upstream answers with the credentials it received: none, as the
	// gateway strips them.
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Authorization")+r.Header.Get("X-Api-Key"))
	}))
	audit := filepath.Join(dir, "audit.jsonl")
	h := startSecure(t, fill(authYAML, "UP", up, "JWKS", jwks, "JWKSURL", idp.URL+"/jwks", "AUDIT", audit,
		"ACME", auth.HashAPIKey("acme-secret-key"), "GLOBEX", auth.HashAPIKey("globex-secret-key")), nil)

	expired := claims("alice", "payments:write")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	wrongAud := claims("alice", "payments:write")
	wrongAud["aud"] = "ledger"
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	cases := []struct {
		name   string
		path   string
		hdr    []string
		status int
		reason string
		detail string // in WWW-Authenticate
	}{
		{"valid token", "/pay/1", bearer(good.sign(t, claims("alice", "payments:write payments:read"))), 200, "", ""},
		{"no token", "/pay/1", nil, 401, ReasonUnauthenticated, "Bearer"},
		{"expired token", "/pay/1", bearer(good.sign(t, expired)), 401, ReasonUnauthenticated, "invalid_token"},
		{"wrong audience", "/pay/1", bearer(good.sign(t, wrongAud)), 401, ReasonUnauthenticated, "invalid_token"},
		{"wrongly signed", "/pay/1", bearer(forger.sign(t, claims("alice", "payments:write"))), 401, ReasonUnauthenticated, "invalid_token"},
		{"malformed", "/pay/1", bearer("not.a.jwt"), 401, ReasonUnauthenticated, "invalid_token"},
		{"missing scope", "/pay/1", bearer(good.sign(t, claims("bob", "payments:read"))), 403, ReasonForbidden, "insufficient_scope"},
		{"remote JWKS", "/remote/1", bearer(good.sign(t, claims("carol", ""))), 200, "", ""},
		{"remote JWKS, forged", "/remote/1", bearer(forger.sign(t, claims("carol", ""))), 401, ReasonUnauthenticated, "invalid_token"},
		{"api key", "/keys/1", []string{"X-API-Key", "acme-secret-key"}, 200, "", ""},
		{"unknown api key", "/keys/1", []string{"X-API-Key", "acme-secret-kez"}, 401, ReasonUnauthenticated, "APIKey"},
		{"no api key", "/keys/1", nil, 401, ReasonUnauthenticated, "APIKey"},
		{"api key, second", "/keys/1", []string{"X-API-Key", "acme-secret-key"}, 200, "", ""},
		{"api key, over its limit", "/keys/1", []string{"X-API-Key", "acme-secret-key"}, 429, proxy.ReasonConsumerLimited, ""},
		{"another consumer's key", "/keys/1", []string{"X-API-Key", "globex-secret-key"}, 200, "", ""},
	}
	for _, c := range cases {
		resp, body := h.get(t, nil, h.url+c.path, c.hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if got := resp.Header.Get(proxy.HeaderReason); got != c.reason {
			t.Errorf("%s: reason %q, want %q", c.name, got, c.reason)
		}
		if c.detail != "" && !strings.Contains(resp.Header.Get("WWW-Authenticate"), c.detail) {
			t.Errorf("%s: WWW-Authenticate %q lacks %q", c.name, resp.Header.Get("WWW-Authenticate"), c.detail)
		}
		if c.status == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", c.name)
		}
		if c.status == 200 && body != "" {
			t.Errorf("%s: credentials reached the upstream: %q", c.name, body)
		}
	}

	h.sp.sec.close()
	lines := auditLines(t, audit)
	// The limited request was authenticated (one allow line) before the
	// limit refused it.
	if len(lines) != len(cases) {
		t.Fatalf("%d audit lines for %d requests", len(lines), len(cases))
	}
	for i, c := range cases {
		l := lines[i]
		wantDecision := "allow"
		if c.status == 401 || c.status == 403 {
			wantDecision = "deny"
		}
		if l["decision"] != wantDecision || l["request_id"] == nil || l["route"] == nil {
			t.Errorf("%s: audit %v, want decision %s with request id and route", c.name, l, wantDecision)
		}
	}
	for _, want := range []struct {
		i      int
		reason string
		status float64
	}{{2, "token expired", 401}, {3, "wrong audience", 401}, {4, "invalid signature", 401}, {6, "", 403}} {
		l := lines[want.i]
		if l["status"] != want.status || (want.reason != "" && l["reason"] != want.reason) {
			t.Errorf("%s: audit %v, want status %v reason %q", cases[want.i].name, l, want.status, want.reason)
		}
	}
	if lines[0]["consumer"] != "alice" || lines[9]["consumer"] != "acme" || lines[9]["method"] != "apiKey" {
		t.Errorf("audit consumers: %v / %v", lines[0], lines[9])
	}
}

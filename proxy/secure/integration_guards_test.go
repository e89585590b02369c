package secure

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
)

const guardsYAML = `
routes:
  - name: partners
    match: {prefix: /}
    cluster: up
    middlewares:
      - name: ipRestriction
        params: {allow: ["127.1.0.0/16"], deny: ["127.1.0.66"]}
      - name: auth
        params: {type: introspection, introspectionUrl: "{{AS}}", clientId: gateway, clientSecret: s3cret, audiences: [payments], cacheTtl: 30s}
      - name: acl
        params: {allow: [gold, silver], deny: [suspended], groups: {gold: [acme], silver: [globex, initech], suspended: [initech]}}
      - name: quota
        params: {limit: 3, period: month}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
`

// sourceClient is a client whose connections come from source.
func sourceClient(source string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// TestGuardsThroughProxy: the ip restriction, token introspection, the ACL
// and the quota in a route's chain, through the real proxy: 403
// ip_denied, 401, 403 acl_denied, and 429 quota_exceeded with Retry-After
// and the RateLimit fields once a consumer's quota is spent.
func TestGuardsThroughProxy(t *testing.T) {
	tokens := map[string]string{"t-acme": "acme", "t-globex": "globex", "t-initech": "initech", "t-hooli": "hooli"}
	var calls atomic.Int64
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if id, secret, ok := r.BasicAuth(); !ok || id != "gateway" || secret != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		sub, ok := tokens[r.PostFormValue("token")]
		ans := map[string]any{"active": ok}
		if ok {
			ans["sub"], ans["aud"] = sub, "payments"
		}
		_ = json.NewEncoder(w).Encode(ans)
	}))
	defer as.Close()
	up, hits := countingUpstream(t)
	h := startSecure(t, fill(guardsYAML, "UP", up, "AS", as.URL+"/introspect"), func(s *SecurityConfig) { s.Clock = epochNow })
	port := h.addr[strings.LastIndex(h.addr, ":"):]
	send := func(source, token string) *http.Response {
		t.Helper()
		url := "http://127.0.0.1" + port + "/v1/payments"
		resp, _ := h.get(t, sourceClient(source), url, "Authorization", "Bearer "+token)
		return resp
	}
	for _, tc := range []struct {
		name, source, token string
		code                int
		reason              string
	}{
		{"outside the allowed range", "127.0.0.1", "t-acme", 403, "ip_denied"},
		{"in a denied address", "127.1.0.66", "t-acme", 403, "ip_denied"},
		{"unknown token", "127.1.0.2", "t-nobody", 401, ReasonUnauthenticated},
		{"consumer in no allowed group", "127.1.0.2", "t-hooli", 403, "acl_denied"},
		{"denied group wins", "127.1.0.2", "t-initech", 403, "acl_denied"},
		{"gold 1", "127.1.0.2", "t-acme", 200, ""},
		{"gold 2", "127.1.0.3", "t-acme", 200, ""},
		{"silver 1", "127.1.0.3", "t-globex", 200, ""},
		{"gold 3", "127.1.0.4", "t-acme", 200, ""},
		{"gold over quota", "127.1.0.2", "t-acme", 429, "quota_exceeded"},
	} {
		resp := send(tc.source, tc.token)
		if resp.StatusCode != tc.code || resp.Header.Get(proxy.HeaderReason) != tc.reason {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, resp.Header.Get(proxy.HeaderReason), tc.code, tc.reason)
		}
		if tc.code == 429 {
			// epochNow is in a month whose end is days away.
			if ra := resp.Header.Get("Retry-After"); ra == "" || resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Limit") != "3" {
				t.Errorf("429 headers: %v", resp.Header)
			}
		}
	}
	if hits.Load() != 4 {
		t.Errorf("upstream got %d requests, want 4", hits.Load())
	}
	// acme's token was introspected once, then served from the cache.
	if calls.Load() != 5 {
		t.Errorf("%d introspection calls, want 5 (one per token that passed the address check)", calls.Load())
	}
}

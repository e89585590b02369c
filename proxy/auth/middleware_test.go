package auth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs one request through mw and returns the recorder and what the
// next handler saw (nil when it was not called).
func serve(t *testing.T, mw func(http.Handler) http.Handler, r *http.Request) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	var seen *http.Request
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, seen
}

func auditLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestMiddlewareJWT(t *testing.T) {
	s := newSigner(t, "EdDSA", "k1", 0)
	v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Audiences: []string{"payments"}, Keys: mustJWKS(t, s), Clock: fixedClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw, err := Middleware(Policy{
		Route:         "pay",
		Authenticator: v,
		Require:       Requirement{Scopes: []string{"payments:write"}, Claims: map[string][]string{"tier": {"gold", "silver"}}},
		Audit:         NewAudit(&buf),
		Clock:         fixedClock(epoch),
	})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(edit func(map[string]any)) string {
		c := goodClaims()
		c["tier"] = []any{"bronze", "gold"}
		edit(c)
		return s.sign(t, c)
	}
	for _, tc := range []struct {
		name      string
		auth      string
		status    int
		challenge string // substring of WWW-Authenticate
		reason    string
	}{
		{"allowed", "Bearer " + claims(func(map[string]any) {}), 200, "", ""},
		{"no token", "", 401, `Bearer realm="meshbench"`, "no credentials"},
		{"basic", "Basic Zm9vOmJhcg==", 401, `error="invalid_request"`, "malformed credentials"},
		{"expired", "Bearer " + claims(func(c map[string]any) { c["exp"] = epoch.Add(-time.Hour).Unix() }), 401, `error="invalid_token", error_description="token expired"`, "token expired"},
		{"missing scope", "Bearer " + claims(func(c map[string]any) { c["scope"] = "payments:read" }), 403, `error="insufficient_scope"`, `forbidden: missing scope "payments:write"`},
		{"claim mismatch", "Bearer " + claims(func(c map[string]any) { c["tier"] = "bronze" }), 403, `error="insufficient_scope"`, `forbidden: claim "tier" does not match`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			r := httptest.NewRequest("POST", "/pay", nil)
			r.Header.Set("X-Request-Id", "req-1")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w, seen := serve(t, mw, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) || (tc.challenge == "") != (got == "") {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", got, tc.challenge)
			}
			lines := auditLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("%d audit lines", len(lines))
			}
			l := lines[0]
			if l["request_id"] != "req-1" || l["route"] != "pay" || l["time"] != "2025-03-01T12:00:00Z" || l["peer"] != "192.0.2.1:1234" {
				t.Fatalf("audit line %v", l)
			}
			if tc.status == 200 {
				if seen == nil {
					t.Fatal("next was not called")
				}
				c, ok := ConsumerFrom(seen.Context())
				if !ok || c.ID != "merchant-42" || ConsumerKey(seen) != "merchant-42" {
					t.Fatalf("consumer %+v", c)
				}
				if seen.Header.Get("Authorization") != "" {
					t.Fatal("token was forwarded")
				}
				if r.Header.Get("Authorization") == "" {
					t.Fatal("the caller's request header was modified")
				}
				if l["decision"] != "allow" || l["consumer"] != "merchant-42" || l["level"] != "INFO" || l["stage"] != "authz" {
					t.Fatalf("audit line %v", l)
				}
				return
			}
			if seen != nil {
				t.Fatal("next was called on a denied request")
			}
			if l["decision"] != "deny" || l["reason"] != tc.reason || l["status"] != float64(tc.status) || l["level"] != "WARN" {
				t.Fatalf("audit line %v, want reason %q", l, tc.reason)
			}
		})
	}
}

func TestMiddlewareAPIKeyForward(t *testing.T) {
	keys, err := NewAPIKeys(APIKeysConfig{Keys: []APIKey{{Name: "acme", Hash: HashAPIKey("secret-1")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, forward := range []bool{false, true} {
		mw, err := Middleware(Policy{Authenticator: keys, Forward: forward})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-API-Key", "secret-1")
		w, seen := serve(t, mw, r)
		if w.Code != 200 || seen == nil {
			t.Fatalf("forward=%v: status %d", forward, w.Code)
		}
		if got := seen.Header.Get("X-API-Key") != ""; got != forward {
			t.Fatalf("forward=%v: key forwarded = %v", forward, got)
		}
		r.Header.Set("X-API-Key", "wrong")
		w, _ = serve(t, mw, r)
		if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "APIKey ") {
			t.Fatalf("wrong key: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
}

func TestMiddlewareNeedsAuthenticator(t *testing.T) {
	if _, err := Middleware(Policy{}); err == nil {
		t.Fatal("accepted a policy without authenticator")
	}
}

func TestAuditNilDiscards(t *testing.T) {
	var a *Audit
	a.Log(t.Context(), Event{Decision: DecisionDeny}) // must not panic
}

func BenchmarkMiddlewareJWT(b *testing.B) {
	for _, alg := range DefaultAlgorithms {
		b.Run("alg="+alg, func(b *testing.B) {
			s := newSigner(b, alg, "k1", 0)
			v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Audiences: []string{"payments"}, Keys: mustJWKS(b, s), Clock: fixedClock(epoch)})
			if err != nil {
				b.Fatal(err)
			}
			mw, err := Middleware(Policy{Authenticator: v})
			if err != nil {
				b.Fatal(err)
			}
			h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+s.sign(b, goodClaims()))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

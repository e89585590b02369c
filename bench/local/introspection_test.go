package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/scenarios"
)

// TestAuthorizationServer: the run's introspection endpoint knows the
// run's test tokens: a good one and one for another audience are active
// with their sub and aud, an expired, unsigned or foreign-key one is not,
// and a caller without the gateway's client credentials is refused.
func TestAuthorizationServer(t *testing.T) {
	plan := loadPlan(t, partnerGuards)
	as, err := newAuthorizationServer(plan, 7)
	if err != nil {
		t.Fatal(err)
	}
	is, err := consumer.NewIssuer(7)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(token, id, secret string) (int, map[string]any) {
		t.Helper()
		body := url.Values{"token": {token}}.Encode()
		req := httptest.NewRequest(http.MethodPost, introspectionPath("partners"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		rec := httptest.NewRecorder()
		as.ServeHTTP(rec, req)
		var ans map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &ans)
		return rec.Code, ans
	}
	now := time.Now()
	for _, tc := range []struct {
		bad    string
		active bool
	}{
		{scenarios.BadNone, true},
		{scenarios.BadWrongAudience, true},
		{scenarios.BadExpired, false},
		{scenarios.BadUnsigned, false},
		{scenarios.BadUnknownKey, false},
	} {
		tok, err := is.Token("partners-0", "https://as.test", "payments", tc.bad, now)
		if err != nil {
			t.Fatal(err)
		}
		code, ans := ask(tok, introspectionClientID, as.secret)
		if code != 200 || ans["active"] != tc.active {
			t.Errorf("%q token: %d %v, want active %v", tc.bad, code, ans, tc.active)
		}
		if tc.active && ans["sub"] != "partners-0" {
			t.Errorf("%q token: sub %v", tc.bad, ans["sub"])
		}
	}
	if code, _ := ask("x", introspectionClientID, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong client secret: %d, want 401", code)
	}
}

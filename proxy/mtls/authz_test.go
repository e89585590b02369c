package mtls

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"pgregory.net/rapid"
)

func TestPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		id      string
		match   bool
	}{
		{"*", "spiffe://a/b", true},
		{"spiffe://payments.example/ns/prod/sa/payments", "spiffe://payments.example/ns/prod/sa/payments", true},
		{"spiffe://payments.example/ns/prod/sa/payments", "spiffe://payments.example/ns/prod/sa/payments2", false},
		{"spiffe://payments.example/ns/prod/*", "spiffe://payments.example/ns/prod/sa/risk", true},
		{"spiffe://payments.example/ns/prod/*", "spiffe://payments.example/ns/dev/sa/risk", false},
		{"*/sa/payments", "spiffe://x/ns/dev/sa/payments", true},
		{"*/sa/payments", "spiffe://x/ns/dev/sa/ledger", false},
		{"spiffe://payments.example/ns/*/sa/payments", "spiffe://payments.example/ns/dev/sa/payments", true},
		{"spiffe://payments.example/ns/*/sa/payments", "spiffe://payments.example/ns/a/b/sa/payments", false},
		{"spiffe://payments.example/ns/*/sa/*", "spiffe://payments.example/ns/dev/sa/x", true},
		{"spiffe://payments.example/ns/*/sa/*", "spiffe://payments.example/ns/dev/sa/x/y", false},
		{"spiffe://payments.example/ns/pr*d/sa/*", "spiffe://payments.example/ns/prod/sa/x", true},
	} {
		t.Run(tc.pattern+" "+tc.id, func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Match(tc.id); got != tc.match {
				t.Fatalf("Match = %v", got)
			}
		})
	}
	for _, bad := range []string{"", "payments", "spiffe://UPPER/x", "https://x/*/y", "spiffe://x/**/y"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) accepted", bad)
		}
	}
}

func TestRulesDecide(t *testing.T) {
	for _, tc := range []struct {
		name        string
		allow, deny []string
		id          string // "" for a plaintext peer
		want        bool
		reason      string
	}{
		{"no rules admit all", nil, nil, "spiffe://payments.example/sa/x", true, "no allow rules"},
		{"no rules admit plaintext", nil, nil, "", true, "no allow rules"},
		{"allow exact", []string{paymentsID.String()}, nil, paymentsID.String(), true, "allowed by rule " + paymentsID.String()},
		{"allow other", []string{paymentsID.String()}, nil, riskID.String(), false, "no allow rule matches"},
		{"plaintext with allow rules", []string{"*"}, nil, "", false, "no verified peer identity"},
		{"deny wins over allow", []string{"spiffe://payments.example/*"}, []string{"*/sa/risk"}, riskID.String(), false, "denied by rule */sa/risk"},
		{"deny only", nil, []string{"*/sa/risk"}, paymentsID.String(), true, "no allow rules"},
		{"deny does not match plaintext", nil, []string{"*"}, "", true, "no allow rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRules(tc.allow, tc.deny)
			if err != nil {
				t.Fatal(err)
			}
			var id spiffeid.ID
			if tc.id != "" {
				id = spiffeid.RequireFromString(tc.id)
			}
			got, reason := r.Decide(id, tc.id != "")
			if got != tc.want || reason != tc.reason {
				t.Fatalf("Decide = %v %q, want %v %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

// TestRulesDenyWins: whatever the rules, a peer matching a deny pattern is
// refused, and a peer admitted with allow rules present matches one.
func TestRulesDenyWins(t *testing.T) {
	segs := []string{"ns", "prod", "dev", "sa", "payments", "risk"}
	seg := rapid.SampledFrom(segs)
	pattern := rapid.Custom(func(t *rapid.T) string {
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			return "*"
		case 1:
			return "spiffe://td/" + seg.Draw(t, "a") + "/*"
		case 2:
			return "*/" + seg.Draw(t, "a")
		}
		return "spiffe://td/" + seg.Draw(t, "a") + "/*/" + seg.Draw(t, "b")
	})
	rapid.Check(t, func(t *rapid.T) {
		allow := rapid.SliceOfN(pattern, 0, 3).Draw(t, "allow")
		deny := rapid.SliceOfN(pattern, 0, 3).Draw(t, "deny")
		id := spiffeid.RequireFromString("spiffe://td/" + strings.Join(rapid.SliceOfN(seg, 1, 4).Draw(t, "path"), "/"))
		r, err := NewRules(allow, deny)
		if err != nil {
			t.Fatal(err)
		}
		ok, _ := r.Decide(id, true)
		for _, p := range r.deny {
			if p.Match(id.String()) && ok {
				t.Fatalf("%s matches deny %s but was admitted", id, p)
			}
		}
		if ok && len(r.allow) > 0 {
			matched := false
			for _, p := range r.allow {
				matched = matched || p.Match(id.String())
			}
			if !matched {
				t.Fatalf("%s admitted without matching an allow rule", id)
			}
		}
	})
}

// verifiedRequest is a request whose TLS state says crypto/tls verified a
// chain with leaf's identity.
func verifiedRequest(leaf *x509.Certificate) *http.Request {
	r := httptest.NewRequest("GET", "/ledger", nil)
	r.Header.Set("X-Request-Id", "r-7")
	if leaf != nil {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}}
	}
	return r
}

func TestAuthzMiddleware(t *testing.T) {
	ca := mustCA(t, "payments.example", epoch)
	var buf bytes.Buffer
	mw, err := Authz(AuthzPolicy{
		Route: "ledger",
		Allow: []string{"spiffe://payments.example/ns/prod/*"},
		Deny:  []string{"*/sa/risk"},
		Audit: auth.NewAudit(&buf),
		Clock: fixedClock(epoch),
	})
	if err != nil {
		t.Fatal(err)
	}
	var consumer string
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { consumer = auth.ConsumerKey(r) }))
	unverified := verifiedRequest(mustIssue(t, ca, paymentsID, epoch, time.Hour).Leaf)
	unverified.TLS.VerifiedChains = nil
	for _, tc := range []struct {
		name     string
		req      *http.Request
		status   int
		decision string
		reason   string
	}{
		{"allowed", verifiedRequest(mustIssue(t, ca, paymentsID, epoch, time.Hour).Leaf), 200, "allow", "allowed by rule spiffe://payments.example/ns/prod/*"},
		{"denied", verifiedRequest(mustIssue(t, ca, riskID, epoch, time.Hour).Leaf), 403, "deny", "denied by rule */sa/risk"},
		{"plaintext", verifiedRequest(nil), 403, "deny", "no verified peer identity"},
		{"presented but not verified", unverified, 403, "deny", "no verified peer identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			consumer = ""
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req)
			if w.Code != tc.status {
				t.Fatalf("status %d", w.Code)
			}
			var line map[string]any
			sc := bufio.NewScanner(&buf)
			if !sc.Scan() {
				t.Fatal("no audit line")
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if sc.Scan() {
				t.Fatal("more than one audit line")
			}
			if line["decision"] != tc.decision || line["reason"] != tc.reason || line["route"] != "ledger" ||
				line["request_id"] != "r-7" || line["method"] != "mtls" || line["time"] != "2025-03-01T12:00:00Z" {
				t.Fatalf("audit line %v", line)
			}
			if tc.status == 200 && (consumer != paymentsID.String() || line["principal"] != paymentsID.String()) {
				t.Fatalf("consumer %q, principal %v", consumer, line["principal"])
			}
		})
	}
	if _, err := Authz(AuthzPolicy{Allow: []string{"not-an-id"}}); err == nil {
		t.Fatal("bad pattern accepted")
	}
}

// TestPermissiveAuthz runs the middleware behind a real PERMISSIVE listener:
// the same port serves an mTLS peer and refuses a plaintext one on a route
// that requires an identity, while an open route serves both.
func TestPermissiveAuthz(t *testing.T) {
	m := newMesh(t)
	guarded, err := Authz(AuthzPolicy{Allow: []string{gatewayID.String()}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/guarded", guarded(whoami))
	mux.Handle("/open", whoami)
	s := startServer(t, ModePermissive, m.serverTLS(), mux)
	ctx := context.Background()
	mtlsClient, plain := client(t, m.clientTLS(nil), true), client(t, nil, true)
	for _, tc := range []struct {
		name   string
		c      *http.Client
		url    string
		status int
	}{
		{"mtls guarded", mtlsClient, "https://" + s.addr + "/guarded", 200},
		{"plaintext guarded", plain, "http://" + s.addr + "/guarded", 403},
		{"mtls open", mtlsClient, "https://" + s.addr + "/open", 200},
		{"plaintext open", plain, "http://" + s.addr + "/open", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, err := get(ctx, tc.c, tc.url)
			if err != nil || st != tc.status {
				t.Fatalf("status %d, err %v; want %d", st, err, tc.status)
			}
		})
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"*", "spiffe://td/a/*", "*/sa/x", "spiffe://td/*/b/*", "spiffe://td/a"} {
		f.Add(s, "spiffe://td/a/b")
	}
	f.Fuzz(func(t *testing.T, pattern, id string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		p.Match(id) // must not panic
		if !strings.Contains(pattern, "*") && !p.Match(pattern) {
			t.Fatalf("exact pattern %q does not match itself", pattern)
		}
		if p.kind == patGlob && !p.Match(strings.ReplaceAll(pattern, "*", "x")) {
			t.Fatalf("glob %q does not match itself with stars filled", pattern)
		}
	})
}

func BenchmarkAuthz(b *testing.B) {
	ca := mustCA(b, "payments.example", epoch)
	mw, err := Authz(AuthzPolicy{Allow: []string{"spiffe://payments.example/ns/*/sa/payments"}, Deny: []string{"*/sa/risk"}, Clock: fixedClock(epoch)})
	if err != nil {
		b.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := verifiedRequest(mustIssue(b, ca, paymentsID, epoch, time.Hour).Leaf)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func TestAuthzPolicyFromYAML(t *testing.T) {
	var p AuthzPolicy
	src := "allow: [\"spiffe://payments.example/ns/prod/*\"]\ndeny: [\"*/sa/risk\"]\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), &p, yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	if len(p.Allow) != 1 || len(p.Deny) != 1 {
		t.Fatalf("decoded %+v", p)
	}
	if _, err := Authz(p); err != nil {
		t.Fatal(err)
	}
}

package guard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/quota"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

func serve(h http.Handler, remote, consumer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = remote
	req.Header.Set("X-Consumer", consumer)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func consumerOf(r *http.Request) string { return r.Header.Get("X-Consumer") }

func TestIPRestrictionAndACL(t *testing.T) {
	ip, err := access.NewIPRestriction(access.IPRestrictionConfig{Allow: []string{"127.1.0.0/16"}, Deny: []string{"127.1.0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	acl, err := access.NewACL(access.ACLConfig{Allow: []string{"partners"}, Deny: []string{"suspended"},
		Groups: map[string][]string{"partners": {"a", "b"}, "suspended": {"b"}}})
	if err != nil {
		t.Fatal(err)
	}
	refuse := PlainRefuse("X-Reason")
	h := IPRestriction(ip, refuse)(ACL(acl, consumerOf, refuse)(ok))
	for _, tc := range []struct {
		remote, consumer string
		code             int
		reason           string
	}{
		{"127.1.0.2:4000", "a", 200, ""},
		{"127.0.0.1:4000", "a", 403, ReasonIPDenied},
		{"127.1.0.9:4000", "a", 403, ReasonIPDenied},
		{"[::ffff:127.1.0.3]:4000", "a", 200, ""},
		{"127.1.0.2:4000", "b", 403, ReasonACLDenied},
		{"127.1.0.2:4000", "c", 403, ReasonACLDenied},
		{"127.1.0.2:4000", "", 403, ReasonACLDenied},
	} {
		rec := serve(h, tc.remote, tc.consumer)
		if rec.Code != tc.code || rec.Header().Get("X-Reason") != tc.reason {
			t.Errorf("%s %q: %d %q, want %d %q", tc.remote, tc.consumer, rec.Code, rec.Header().Get("X-Reason"), tc.code, tc.reason)
		}
	}
}

func TestQuotaHeaders(t *testing.T) {
	q, err := quota.New(quota.Config{Limit: 2, Period: quota.Day})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC)
	h := Quota(q, consumerOf, func() time.Time { return now }, PlainRefuse("X-Reason"))(ok)
	for i, want := range []struct {
		code      int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		rec := serve(h, "127.0.0.1:1", "a")
		if rec.Code != want.code || rec.Header().Get("RateLimit-Remaining") != want.remaining ||
			rec.Header().Get("RateLimit-Limit") != "2" || rec.Header().Get("RateLimit-Reset") != "60" {
			t.Errorf("request %d: %d %v", i, rec.Code, rec.Header())
		}
		if want.code == 429 && (rec.Header().Get("Retry-After") != "60" || rec.Header().Get("X-Reason") != ReasonQuotaExceeded) {
			t.Errorf("429 without Retry-After 60 and its reason: %v", rec.Header())
		}
	}
	if rec := serve(h, "127.0.0.1:1", "b"); rec.Code != 200 {
		t.Errorf("another consumer: %d", rec.Code)
	}
	now = now.Add(time.Minute) // the next day
	if rec := serve(h, "127.0.0.1:1", "a"); rec.Code != 200 {
		t.Errorf("next day: %d", rec.Code)
	}
}

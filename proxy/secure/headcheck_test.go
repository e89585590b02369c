package secure

import (
	"io"
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
)

// TestAuthIsHeadChecker checks that the auth middleware as this package
// registers it (tagged) lets the proxy's fast path judge API keys from the
// request head, with the same verdicts as the middleware, and that the
// middlewares that cannot, or an audit log that needs the request, keep
// their routes on the general path.
func TestAuthIsHeadChecker(t *testing.T) {
	params := map[string]any{"type": "apiKey", "keys": []any{map[string]any{"name": "acme", "hash": auth.HashAPIKey("k")}}}
	fields := func(value string, n int) func(string) (string, int) {
		return func(name string) (string, int) {
			if name != auth.DefaultAPIKeyHeader {
				t.Errorf("asked for field %q", name)
			}
			return value, n
		}
	}
	var stripped []string
	strip := func(name string) { stripped = append(stripped, name) }

	mw, err := (&layer{}).authFactory("r", params)
	if err != nil {
		t.Fatal(err)
	}
	hc, ok := mw(http.NotFoundHandler()).(proxy.HeadChecker)
	if !ok {
		t.Fatal("the tagged auth middleware is not a proxy.HeadChecker")
	}
	if !hc.CheckHead(fields("k", 1), strip) || len(stripped) != 1 || stripped[0] != auth.DefaultAPIKeyHeader {
		t.Errorf("a good key: stripped %v", stripped)
	}
	for _, bad := range []struct {
		v string
		n int
	}{{"", 0}, {"wrong", 1}, {"k", 2}, {"", 1}} {
		stripped = nil
		if hc.CheckHead(fields(bad.v, bad.n), strip) || len(stripped) != 0 {
			t.Errorf("%q ×%d passed the head check (stripped %v)", bad.v, bad.n, stripped)
		}
	}

	audited, err := (&layer{audit: auth.NewAudit(io.Discard)}).authFactory("r", params)
	if err != nil {
		t.Fatal(err)
	}
	if hc, ok := audited(http.NotFoundHandler()).(proxy.HeadChecker); ok && hc.CheckHead(fields("k", 1), strip) {
		t.Error("with an audit log the head check passed: the log's record needs the request")
	}

	peer, err := (&layer{}).peerAuthzFactory("r", map[string]any{"deny": []any{"*/sa/evil"}})
	if err != nil {
		t.Fatal(err)
	}
	if hc, ok := peer(http.NotFoundHandler()).(proxy.HeadChecker); ok && hc.CheckHead(fields("k", 1), strip) {
		t.Error("peerAuthz passed a head check: it needs the peer's certificate")
	}
}

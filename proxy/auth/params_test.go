package auth

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestBuildFromYAML decodes params as the proxy decodes a route
// middleware's params (goccy/go-yaml, unknown fields refused) and builds
// the middleware.
func TestBuildFromYAML(t *testing.T) {
	s := newSigner(t, "ES256", "k1", 0)
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, jwksJSON(t, s), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		yaml    string
		header  [2]string
		status  int
		buildOK bool
	}{
		{"jwt", "type: jwt\nissuer: https://issuer.test\naudiences: [payments]\nclockSkew: 30s\njwksFile: " + jwks + "\nscopes: [payments:write]\n",
			[2]string{"Authorization", "Bearer " + s.sign(t, goodClaims())}, 200, true},
		{"api key", "type: apiKey\nheader: X-Key\nkeys:\n  - name: acme\n    hash: " + HashAPIKey("k-1") + "\n",
			[2]string{"X-Key", "k-1"}, 200, true},
		{"api key, wrong key", "type: apiKey\nkeys:\n  - name: acme\n    hash: " + HashAPIKey("k-1") + "\n",
			[2]string{"X-API-Key", "k-2"}, 401, true},
		{"jwt without keys", "type: jwt\nissuer: i\n", [2]string{}, 0, false},
		{"jwt with both key sources", "type: jwt\nissuer: i\njwksFile: a\njwksUrl: http://127.0.0.1/\n", [2]string{}, 0, false},
		{"jwt with a remote url off loopback", "type: jwt\nissuer: i\njwksUrl: https://idp.example/jwks\n", [2]string{}, 0, false},
		{"unknown type", "type: basic\n", [2]string{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Params
			if err := yaml.UnmarshalWithOptions([]byte(tc.yaml), &p, yaml.DisallowUnknownField()); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			mw, err := Build("pay", p, Env{Audit: NewAudit(&buf), Clock: fixedClock(epoch)})
			if (err == nil) != tc.buildOK {
				t.Fatalf("Build: %v", err)
			}
			if err != nil {
				return
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set(tc.header[0], tc.header[1])
			w, _ := serve(t, mw, r)
			if w.Code != tc.status {
				t.Fatalf("status %d (%s)", w.Code, w.Body)
			}
			if buf.Len() == 0 {
				t.Fatal("no audit line")
			}
		})
	}
}

package proxy

import (
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestGatewayRoutingTable(t *testing.T) {
	api := upstream(t, echo("api"))
	web := upstream(t, echo("web"))
	admin := upstream(t, echo("admin"))
	cfg := config.Config{
		Clusters: []config.ClusterConfig{
			{Name: "api", Endpoints: eps(api)},
			{Name: "web", Endpoints: eps(web)},
			{Name: "admin", Endpoints: eps(admin)},
		},
		Routes: []config.RouteConfig{
			{Name: "exact", Match: config.MatchConfig{Path: "/exact"}, Cluster: "admin"},
			{Name: "hosted", Match: config.MatchConfig{Host: "admin.example.com"}, Cluster: "admin"},
			{Name: "wild", Match: config.MatchConfig{Host: "*.wild.test", Prefix: "/"}, Cluster: "web"},
			{Name: "strip", Match: config.MatchConfig{Prefix: "/api/"}, Cluster: "api", Rewrite: config.RewriteConfig{StripPrefix: true}},
			{Name: "prefixrw", Match: config.MatchConfig{Prefix: "/v1/"}, Cluster: "api", Rewrite: config.RewriteConfig{Prefix: "/v2/"}},
			{Name: "regex", Match: config.MatchConfig{Regex: `/users/[0-9]+`}, Cluster: "api",
				Rewrite: config.RewriteConfig{Regex: &config.RegexRewriteConfig{Pattern: `^/users/([0-9]+)$`, Substitution: "/u/$1"}}},
			{Name: "post", Match: config.MatchConfig{Prefix: "/submit", Methods: []string{"POST"}}, Cluster: "api"},
			{Name: "canary", Match: config.MatchConfig{Prefix: "/feature", Headers: []config.HeaderMatchConfig{{Name: "x-canary", Exact: "yes"}}}, Cluster: "admin"},
			{Name: "nocookie", Match: config.MatchConfig{Prefix: "/feature", Headers: []config.HeaderMatchConfig{{Name: "cookie", Invert: true}}}, Cluster: "web"},
			{Name: "hostrw", Match: config.MatchConfig{Prefix: "/hostrw"}, Cluster: "api", Rewrite: config.RewriteConfig{Host: "internal.api"}},
			{Name: "autohost", Match: config.MatchConfig{Prefix: "/autohost"}, Cluster: "api", Rewrite: config.RewriteConfig{HostFromEndpoint: true}},
			{Name: "web", Match: config.MatchConfig{Prefix: "/web"}, Cluster: "web"},
			{Name: "clean", Match: config.MatchConfig{Path: "/clean/exact"}, Cluster: "admin",
				PathNormalization: config.PathNormalizationConfig{DotSegments: true, MergeSlashes: true}},
		},
	}
	h := start(t, cfg)
	tests := []struct {
		name     string
		method   string
		path     string
		hdr      []string
		status   int
		upstream string
		wantPath string
		wantHost string
	}{
		{name: "exact path", path: "/exact", status: 200, upstream: "admin", wantPath: "/exact"},
		{name: "exact path is not a prefix", path: "/exactly", status: 404},
		{name: "host match ignores port and case", path: "/anything", hdr: []string{"Host", "ADMIN.example.com:8080"}, status: 200, upstream: "admin", wantHost: "ADMIN.example.com:8080"},
		{name: "wildcard host", path: "/x", hdr: []string{"Host", "a.b.wild.test"}, status: 200, upstream: "web"},
		{name: "wildcard needs a subdomain", path: "/x", hdr: []string{"Host", "wild.test"}, status: 404},
		{name: "strip prefix", path: "/api/users?q=1", status: 200, upstream: "api", wantPath: "/users"},
		{name: "prefix rewrite", path: "/v1/orders", status: 200, upstream: "api", wantPath: "/v2/orders"},
		{name: "regex match and rewrite", path: "/users/42", status: 200, upstream: "api", wantPath: "/u/42"},
		{name: "regex is anchored", path: "/users/42/x", status: 404},
		{name: "method match", method: "POST", path: "/submit", status: 200, upstream: "api"},
		{name: "method mismatch", path: "/submit", status: 404},
		{name: "header exact", path: "/feature", hdr: []string{"X-Canary", "yes"}, status: 200, upstream: "admin"},
		{name: "header inverted", path: "/feature", status: 200, upstream: "web"},
		{name: "no header route left", path: "/feature", hdr: []string{"Cookie", "a=b"}, status: 404},
		{name: "host rewrite", path: "/hostrw", status: 200, upstream: "api", wantHost: "internal.api"},
		{name: "host from endpoint", path: "/autohost", status: 200, upstream: "api", wantHost: api},
		{name: "dot segments are matched and forwarded as sent", path: "/web/../exact", status: 200, upstream: "web", wantPath: "/web/../exact"},
		{name: "dot segments resolved by the route's normalisation", path: "/clean/a/../exact", status: 200, upstream: "admin", wantPath: "/clean/exact"},
		{name: "no route", path: "/nothing", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, h.url+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Keep the path as written: the client would clean "..".
			req.URL.Opaque = ""
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				if tc.hdr[i] == "Host" {
					req.Host = tc.hdr[i+1]
				} else {
					req.Header.Set(tc.hdr[i], tc.hdr[i+1])
				}
			}
			resp, body := h.do(t, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.status == 404 {
				if got := resp.Header.Get(HeaderReason); got != ReasonNoRoute {
					t.Errorf("reason %q, want %q", got, ReasonNoRoute)
				}
				return
			}
			e := decodeEcho(t, body)
			if e.Name != tc.upstream {
				t.Errorf("upstream %q, want %q", e.Name, tc.upstream)
			}
			if tc.wantPath != "" && e.Path != tc.wantPath {
				t.Errorf("path %q, want %q", e.Path, tc.wantPath)
			}
			if tc.wantHost != "" && e.Host != tc.wantHost {
				t.Errorf("host %q, want %q", e.Host, tc.wantHost)
			}
		})
	}
}

func TestWeightedSplit(t *testing.T) {
	stable := upstream(t, echo("stable"))
	canary := upstream(t, echo("canary"))
	h := start(t, config.Config{
		Clusters: []config.ClusterConfig{{Name: "stable", Endpoints: eps(stable)}, {Name: "canary", Endpoints: eps(canary)}},
		Routes:   []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Split: []config.SplitConfig{{Cluster: "stable", Weight: 90}, {Cluster: "canary", Weight: 10}}}},
	})
	const n = 1000
	counts := map[string]int{}
	for range n {
		_, body := h.get(t, "/")
		counts[decodeEcho(t, body).Name]++
	}
	// Binomial(1000, 0.1) has a standard deviation under 10: 50..150 is a
	// five-sigma band.
	if c := counts["canary"]; c < 50 || c > 150 {
		t.Errorf("canary got %d of %d requests, want about 100 (%v)", c, n, counts)
	}
}

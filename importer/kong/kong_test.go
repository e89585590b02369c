package kong

import (
	"strings"
	"testing"

	"github.com/meshbench/meshbench/importer"
)

func get(n *importer.Node, path string) string {
	for _, k := range strings.Split(path, ".") {
		if n == nil {
			break
		}
		n = n.Get(k)
	}
	if n == nil {
		return "<absent>"
	}
	return n.Flat()
}

func importCorpus(t *testing.T) *importer.Result {
	t.Helper()
	res, err := Import(nil, "testdata/kong.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Findings.Errors(false); len(errs) > 0 {
		t.Fatalf("invalid findings: %v", errs)
	}
	return res
}

func TestCorpusPolicy(t *testing.T) {
	res := importCorpus(t)
	for path, v := range map[string]string{
		"balancer.type":                   `"weighted_round_robin"`,
		"healthCheck.interval":            `"5s"`,
		"healthCheck.path":                `"/healthz"`,
		"healthCheck.timeout":             `"1s"`,
		"healthCheck.healthyThreshold":    `2`,
		"healthCheck.unhealthyThreshold":  `3`,
		"outlierDetection.consecutive5xx": `5`,
		"retries.attempts":                `3`,
		"retries.retryOn":                 `["connect-failure", "reset"]`,
		"timeouts.connect":                `"250ms"`,
		"timeouts.perTry":                 `"2s"`,
		"timeouts.request":                `"0s"`,
		"quota.limit":                     `2000000`,
		"quota.period":                    `"month"`,
		"quota.key":                       `"api_key"`,
		"quota.routes":                    `["create-payment"]`,
		"cache.routes":                    `["payment-status"]`,
		"cache.ttl":                       `"30s"`,
	} {
		if got := get(res.Policy, path); got != v {
			t.Errorf("policy.%s = %s, want %s", path, got, v)
		}
	}
	if got := res.Weights["payments"]; len(got) != 2 || got[0] != 90 || got[1] != 10 {
		t.Errorf("weights = %v, want [90 10]", got)
	}
	if got := get(res.ConsumerGroups, ""); got == "" {
		t.Error("no consumer groups")
	}
	var groups []string
	for _, g := range res.ConsumerGroups.Items() {
		groups = append(groups, g.Flat())
	}
	if got := strings.Join(groups, " "); got != `{name: "merchants", consumers: [0, 1]} {name: "partners", consumers: [1]}` {
		t.Errorf("consumerGroups = %s", got)
	}
}

func TestCorpusRoutes(t *testing.T) {
	res := importCorpus(t)
	if len(res.Routes) != 3 {
		t.Fatalf("%d routes, want 3", len(res.Routes))
	}
	r := res.Routes[0]
	for path, v := range map[string]string{
		"name":                   `"create-payment"`,
		"match.pathPrefix":       `"/v1/payments"`,
		"match.method":           `"POST"`,
		"match.host":             `"pay.example.com"`,
		"match.headers.x-tenant": `"acme"`,
		"service":                `"payments"`,
		"auth.type":              `"apiKey"`,
		"auth.header":            `"apikey"`,
		"auth.keys":              `["key-a", "key-b"]`,
		"acl.allow":              `["merchants"]`,
		"rateLimit.type":         `"sliding_window"`,
		"rateLimit.rate":         `"600/m"`,
		"rateLimit.window":       `"1m"`,
		"rateLimit.key":          `"api_key"`,
		"ipRestriction.allow":    `["10.0.0.0/8", "127.0.0.1/32"]`,
		"ipRestriction.deny":     `["10.6.6.6/32"]`,
	} {
		if got := get(r, path); got != v {
			t.Errorf("routes[0].%s = %s, want %s", path, got, v)
		}
	}
	if got := get(res.Routes[2], "name") + get(res.Routes[2], "service"); got != `"legacy""legacy"` {
		t.Errorf("routes[2] = %s", got)
	}
	if len(res.Faults) != 1 || res.Faults[0].Flat() != `{at: "0s", action: "abort", target: "route:legacy", status: 410, percentage: 100}` {
		t.Errorf("faults = %v", res.Faults)
	}
}

func TestCorpusFindings(t *testing.T) {
	res := importCorpus(t)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"testdata/kong.yaml:10:5: unsupported: service payments: services[0].write_timeout:",
		"testdata/kong.yaml:24:15: unsupported: plugin key-auth: services[0].routes[0].plugins[0].config.hide_credentials:",
		"testdata/kong.yaml:31:15: unsupported: plugin rate-limiting: services[0].routes[0].plugins[2].config.hour:",
		"testdata/kong.yaml:32:15: unsupported: plugin rate-limiting: services[0].routes[0].plugins[2].config.day:",
		"testdata/kong.yaml:30:15: approximated: plugin rate-limiting: services[0].routes[0].plugins[2].config.minute:",
		"testdata/kong.yaml:80:7: unsupported: plugin request-termination: plugins[1].config.message:",
		"testdata/kong.yaml:81:5: unsupported: plugin cors: plugins[2].name: plugin \"cors\" has no meshbench equivalent",
		"testdata/kong.yaml:63:9: approximated: upstream payments-upstream: upstreams[0].healthchecks.passive.unhealthy:",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q in\n%s", want, all)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"syntax", "_format_version: \"3.0\"\nservices:\n  - name: [a\n", "in.yaml:3:11: error: syntax error"},
		{"version", "_format_version: \"1.1\"\n", "in.yaml:1:1: error: _format_version: _format_version \"1.1\""},
		{"type", "_format_version: \"3.0\"\nservices:\n  - name: p\n    retries: many\n", "in.yaml:4:14: error: wrong type"},
		{"service", "_format_version: \"3.0\"\nroutes:\n  - name: r\n    service: {name: nope}\n", "in.yaml:4:15: error: route r: routes[0].service.name: service \"nope\" is not declared"},
		{"algorithm", "_format_version: \"3.0\"\nupstreams:\n  - name: u\n    algorithm: fastest\n", "in.yaml:4:5: error: upstream u: upstreams[0].algorithm: unknown algorithm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := ImportBytes("in.yaml", []byte(c.text))
			err := res.Findings.Check(false)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error =\n%v\nwant prefix\n%s", err, c.want)
			}
		})
	}
}

package istio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/importer"
)

// get walks a result node by a dotted path of mapping keys.
func get(t *testing.T, n *importer.Node, path string) string {
	t.Helper()
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

func importMesh(t *testing.T, opt Options) *importer.Result {
	t.Helper()
	res, err := Import([]string{"testdata/mesh"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Findings.Errors(false); len(errs) > 0 {
		t.Fatalf("invalid findings: %v", errs)
	}
	return res
}

// TestCorpusPolicy checks, key by key, the policy the corpus imports to.
func TestCorpusPolicy(t *testing.T) {
	res := importMesh(t, Options{})
	want := map[string]string{
		"balancer.type":                              `"least_request"`,
		"balancer.locality.enabled":                  `true`,
		"balancer.slowStart.window":                  `"30s"`,
		"balancer.slowStart.minWeightPercent":        `20`,
		"balancer.slowStart.aggression":              `2`,
		"circuitBreaker.maxConnections":              `100`,
		"circuitBreaker.maxPending":                  `64`,
		"circuitBreaker.maxRequests":                 `200`,
		"circuitBreaker.maxRetries":                  `5`,
		"circuitBreaker.failureRatio":                `1`,
		"circuitBreaker.consecutiveFailures":         `0`,
		"timeouts.connect":                           `"250ms"`,
		"timeouts.request":                           `"2s"`,
		"outlierDetection.consecutive5xx":            `3`,
		"outlierDetection.consecutiveGatewayFailure": `2`,
		"outlierDetection.interval":                  `"5s"`,
		"outlierDetection.baseEjectionTime":          `"15s"`,
		"outlierDetection.maxEjectionPercent":        `50`,
		"retries.attempts":                           `3`,
		"retries.perTryTimeout":                      `"500ms"`,
		"retries.retryOn":                            `["5xx", "reset", "connect-failure", "retriable-status-codes"]`,
		"retries.retriableStatusCodes":               `[503]`,
		"security.mtls.mode":                         `"STRICT"`,
	}
	for path, v := range want {
		if got := get(t, res.Policy, path); got != v {
			t.Errorf("policy.%s = %s, want %s", path, got, v)
		}
	}
	if n := res.Policy.Get("retries").Get("backoff"); n != nil {
		t.Errorf("retries.backoff set without backoff in the input: %s", n.Flat())
	}
	// Comments say where each key came from.
	if c := res.Policy.Get("outlierDetection").Get("interval").Comment; c != "testdata/mesh/destinationrule.yaml:18:7 spec.trafficPolicy.outlierDetection.interval" {
		t.Errorf("comment = %q", c)
	}
}

func TestCorpusTopology(t *testing.T) {
	res := importMesh(t, Options{})
	var names []string
	for _, r := range res.Routes {
		names = append(names, get(t, r, "name"))
	}
	if got := strings.Join(names, " "); got != `"create-payment" "status-0" "status-1"` {
		t.Fatalf("routes = %s", got)
	}
	r := res.Routes[0]
	for path, v := range map[string]string{
		"match.pathPrefix":       `"/v1/payments"`,
		"match.method":           `"POST"`,
		"match.headers.x-tenant": `"acme"`,
		"service":                `"payments"`,
		"auth.type":              `"jwt"`,
		"auth.issuer":            `"https://issuer.example.com"`,
		"auth.audience":          `"payments"`,
		"ipRestriction.allow":    `["10.0.0.0/8", "127.0.0.1/32"]`,
		"ipRestriction.deny":     `["10.6.6.0/24"]`,
		"acl.allow":              `["merchants"]`,
	} {
		if got := get(t, r, path); got != v {
			t.Errorf("routes[0].%s = %s, want %s", path, got, v)
		}
	}
	if got := get(t, res.Routes[1], "match.pathRegex"); got != `"/v1/payments/[^/]+"` {
		t.Errorf("routes[1].match.pathRegex = %s", got)
	}
	if got := get(t, res.Routes[2], "match.path") + " " + get(t, res.Routes[2], "match.host"); got != `"/v1/status" "pay.example.com"` {
		t.Errorf("routes[2] path, host = %s", got)
	}
	// Two replicas per subset, sorted by subset name (canary, stable); 90/10.
	if got := res.Weights["payments"]; len(got) != 4 || got[0] != 50 || got[1] != 50 || got[2] != 450 || got[3] != 450 {
		t.Errorf("payments weights = %v, want [50 50 450 450]", got)
	}
	if got := res.Weights["cards"]; len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Errorf("cards weights = %v (ServiceEntry endpoints' weights)", got)
	}
	var faults []string
	for _, f := range res.Faults {
		faults = append(faults, f.Flat())
	}
	want := `{at: "0s", action: "abort", target: "route:create-payment", status: 503, percentage: 1.5}|` +
		`{at: "0s", action: "delay", target: "route:status-0", delay: "50ms", percentage: 10}|` +
		`{at: "0s", action: "delay", target: "route:status-1", delay: "50ms", percentage: 10}`
	if got := strings.Join(faults, "|"); got != want {
		t.Errorf("faults =\n%s\nwant\n%s", got, want)
	}
}

// TestCorpusFindings checks that every field left out or approximated is
// reported at its exact place.
func TestCorpusFindings(t *testing.T) {
	res := importMesh(t, Options{})
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"testdata/mesh/destinationrule.yaml:21:7: unsupported: DestinationRule payments: spec.trafficPolicy.outlierDetection.minHealthPercent:",
		"testdata/mesh/destinationrule.yaml:27:7: unsupported: DestinationRule payments: spec.subsets[1].trafficPolicy:",
		"testdata/mesh/destinationrule.yaml:12:5: approximated: DestinationRule payments: spec.trafficPolicy.connectionPool:",
		"testdata/mesh/virtualservice.yaml:31:7: unsupported: VirtualService payments: spec.http[0].mirror:",
		"testdata/mesh/virtualservice.yaml:30:9: approximated: VirtualService payments: spec.http[0].rewrite.uri:",
		"testdata/mesh/virtualservice.yaml:55:17: approximated: VirtualService risk: spec.http[0].retries.attempts: meshbench has one policy for the whole mesh",
		"testdata/mesh/security.yaml:15:3: approximated: RequestAuthentication payments-jwt: spec.jwtRules:",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q in\n%s", want, all)
		}
	}
	if err := res.Findings.Check(true); err == nil {
		t.Error("--strict: findings must fail the import")
	}
	if err := res.Findings.Check(false); err != nil {
		t.Errorf("without --strict: %v", err)
	}
}

// TestScenarioReplicas: with the scenario's replica labels, subset weights
// land on the replicas the labels select.
func TestScenarioReplicas(t *testing.T) {
	res := importMesh(t, Options{Services: map[string][]map[string]string{
		"payments": {{"version": "v1"}, {"version": "v1"}, {"version": "v1"}, {"version": "v2"}},
		"risk":     {{}, {}},
	}})
	if got := res.Weights["payments"]; len(got) != 4 || got[0] != 300 || got[3] != 100 {
		t.Errorf("weights = %v, want [300 300 300 100]", got)
	}
}

func TestMalformed(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, text, want string }{
		{"syntax.yaml", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: x\nspec:\n  hosts: [a\n", "syntax.yaml:6:10: error: syntax error"},
		{"kind.yaml", "apiVersion: networking.istio.io/v1\nkind: VirtualServise\nmetadata: {name: x}\n", "kind.yaml:2:7: error: VirtualServise x: kind: unknown kind \"VirtualServise\""},
		{"api.yaml", "apiVersion: networking.istio.io/v9\nkind: DestinationRule\nmetadata: {name: x}\n", "api.yaml:1:13: error: DestinationRule x: apiVersion: apiVersion \"networking.istio.io/v9\""},
		{"type.yaml", "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: x\nspec:\n  host: payments\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: lots\n", "type.yaml:10:9: error: DestinationRule x: spec.trafficPolicy.connectionPool.tcp.maxConnections: wrong type"},
		{"multi.yaml", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: a}\nspec: {mtls: {mode: STRICT}}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: b}\nspec:\n  mtls:\n    mode: [STRICT]\n", "multi.yaml:11:5: error: PeerAuthentication b: spec.mtls.mode: wrong type"},
		{"subset.yaml", "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [p]\n  http:\n    - route:\n        - destination: {host: p, subset: nope}\n", "subset.yaml:8:34: error: VirtualService v: spec.http[0].route[0].destination.subset: subset \"nope\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Import([]string{p}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = res.Findings.Check(false)
			if err == nil {
				t.Fatal("no error")
			}
			if want := filepath.Join(dir, c.want); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error =\n%v\nwant prefix\n%s", err, want)
			}
		})
	}
}

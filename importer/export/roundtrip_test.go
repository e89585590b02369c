package export

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/importer/istio"
	"github.com/meshbench/meshbench/importer/kong"
	"github.com/meshbench/meshbench/scenarios"
)

// base is a scenario whose variant "v" carries the policy under test, and
// whose payments replicas are labelled into two subsets.
const base = `apiVersion: meshbench/v1
kind: Scenario
name: roundtrip
duration: 60s
topology:
  gateway:
%[1]s    routes:
      - name: create-payment
        match: {method: POST, pathPrefix: /v1/payments}
        service: payments
%[2]s  services:
    - name: payments
      replicas: 4
      serviceTime: {type: lognormal, median: 4ms, p99: 20ms}
      labels: [{version: v1}, {version: v1}, {version: v1}, {version: v2}]
      calls: [{service: risk}]
    - name: risk
      replicas: 2
      serviceTime: 2ms
load:
  - name: checkout
    target: {method: POST, path: /v1/payments}
    rate: 100/s
%[3]s
variants:
  - name: v
%[4]s
`

// access is the gateway's access control under test: the consumer groups,
// the route's keys (auth, acl, ipRestriction) and the load's consumers.
type access struct {
	groups, route, consumers string
}

func (a access) scenario(variant string) string {
	return fmt.Sprintf(base, a.groups, a.route, a.consumers, variant)
}

var groupsYAML = `    consumerGroups:
      - {name: gold, consumers: [0, 1]}
      - {name: silver, consumers: [2]}
      - {name: banned, consumers: [1]}
`

func flow(ss []string) string { return "[" + strings.Join(ss, ", ") + "]" }

// drawAccess draws a route's acl and ipRestriction (each maybe absent),
// behind the auth given, with consumers of the identity it verifies.
func drawAccess(t *rapid.T, auth, identity string, oneACLList bool) access {
	a := access{route: "        auth: " + auth + "\n"}
	if rapid.Bool().Draw(t, "acl") {
		allow := rapid.SliceOfDistinct(rapid.SampledFrom([]string{"gold", "silver"}), rapid.ID[string]).Draw(t, "aclAllow")
		deny := rapid.SliceOfDistinct(rapid.SampledFrom([]string{"banned"}), rapid.ID[string]).Draw(t, "aclDeny")
		if len(allow)+len(deny) == 0 {
			allow = []string{"gold"}
		}
		if oneACLList && len(allow) > 0 { // Kong's acl takes one list
			deny = nil
		}
		a.route += fmt.Sprintf("        acl: {allow: %s, deny: %s}\n", flow(allow), flow(deny))
		a.groups = groupsYAML
		a.consumers = "    consumers: {count: 4, identity: " + identity + "}\n"
	}
	if rapid.Bool().Draw(t, "ip") {
		allow := rapid.SliceOfDistinct(rapid.SampledFrom([]string{"127.0.0.0/8", "10.0.0.0/8", "192.168.1.7/32"}), rapid.ID[string]).Draw(t, "ipAllow")
		deny := rapid.SliceOfDistinct(rapid.SampledFrom([]string{"127.0.0.9/32", "10.6.6.0/24"}), rapid.ID[string]).Draw(t, "ipDeny")
		if len(allow)+len(deny) == 0 {
			deny = []string{"10.6.6.0/24"}
		}
		a.route += fmt.Sprintf("        ipRestriction: {allow: %s, deny: %s}\n", flow(allow), flow(deny))
	}
	return a
}

func ms(t *rapid.T, label string, lo, hi int) time.Duration {
	return time.Duration(rapid.IntRange(lo, hi).Draw(t, label)) * time.Millisecond
}

// istioVariant draws a variant whose every key Istio represents.
func istioVariant(t *rapid.T) string {
	var b strings.Builder
	b.WriteString("    policy:\n")
	bal := rapid.SampledFrom([]string{"weighted_round_robin", "least_request", "random", "ring_hash", "maglev"}).Draw(t, "balancer")
	fmt.Fprintf(&b, "      balancer: {type: %s", bal)
	if bal == "ring_hash" || bal == "maglev" {
		fmt.Fprintf(&b, ", hashKey: {header: x-user}")
	}
	if bal == "ring_hash" {
		fmt.Fprintf(&b, ", minRingSize: %d", rapid.IntRange(1, 4096).Draw(t, "ring"))
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "      timeouts: {connect: %s, request: %s}\n", ms(t, "connect", 1, 2000), ms(t, "request", 1000, 10000))
	if rapid.Bool().Draw(t, "retries") {
		on := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"5xx", "gateway-error", "reset", "connect-failure"}), 1, 4, rapid.ID[string]).Draw(t, "retryOn")
		fmt.Fprintf(&b, "      retries: {attempts: %d, perTryTimeout: %s, retryOn: [%s], backoff: {base: %s}}\n",
			rapid.IntRange(2, 6).Draw(t, "attempts"), ms(t, "perTry", 10, 1000), strings.Join(on, ", "), ms(t, "backoff", 1, 100))
	}
	if rapid.Bool().Draw(t, "outlier") {
		fmt.Fprintf(&b, "      outlierDetection: {consecutive5xx: %d, consecutiveGatewayFailure: %d, interval: %s, baseEjectionTime: %s, maxEjectionPercent: %d}\n",
			rapid.IntRange(1, 20).Draw(t, "c5xx"), rapid.IntRange(0, 20).Draw(t, "cgf"), ms(t, "interval", 100, 30000), ms(t, "ejection", 100, 60000), rapid.IntRange(0, 100).Draw(t, "maxEject"))
	}
	if rapid.Bool().Draw(t, "breaker") {
		fmt.Fprintf(&b, "      circuitBreaker: {maxConnections: %d, maxPending: %d, maxRequests: %d, maxRetries: %d}\n",
			rapid.IntRange(1, 5000).Draw(t, "maxConn"), rapid.IntRange(1, 5000).Draw(t, "maxPending"), rapid.IntRange(1, 5000).Draw(t, "maxReq"), rapid.IntRange(1, 100).Draw(t, "maxRetries"))
	}
	if rapid.Bool().Draw(t, "mtls") {
		fmt.Fprintf(&b, "      security: {mtls: {mode: %s}}\n", rapid.SampledFrom([]string{"STRICT", "PERMISSIVE", "DISABLE"}).Draw(t, "mode"))
	}
	w1, w2 := rapid.IntRange(1, 100).Draw(t, "w1"), rapid.IntRange(1, 100).Draw(t, "w2")
	fmt.Fprintf(&b, "    weights: {payments: [%d, %d, %d, %d]}\n", w1, w1, w1, w2)
	return b.String()
}

func load(t *rapid.T, dir, name, text string) *scenarios.Plan {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(p)
	if err != nil {
		t.Fatalf("%s does not load:\n%v\n%s", name, err, text)
	}
	return plan
}

// roundTrip exports variant v, imports the export as variant v of the
// same scenario (from:), and returns both plans' variants.
func roundTrip(t *rapid.T, target string, acc access, variantYAML string) (orig, back, generated *scenarios.Plan, out *Output) {
	dir, err := os.MkdirTemp("", "roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	orig = load(t, dir, "orig.yaml", acc.scenario(variantYAML))
	if target == "istio" {
		out, err = Istio(orig, "v")
	} else {
		out, err = Kong(orig, "v")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "export.yaml"), []byte(out.Text), 0o644); err != nil {
		t.Fatal(err)
	}
	back = load(t, dir, "back.yaml", acc.scenario(fmt.Sprintf("    from: {%s: ./export.yaml}\n", target)))
	for _, n := range back.Notes {
		if strings.Contains(n.Msg, "routes the scenario lacks") {
			t.Errorf("the export's routes do not import as the scenario's: %s", n)
		}
	}
	// The routes' access control is topology, which from: leaves to the
	// scenario: `meshbench import` of the export writes it.
	var res *importer.Result
	exported := filepath.Join(dir, "export.yaml")
	if target == "istio" {
		res, err = istio.Import([]string{exported}, istio.Options{})
	} else {
		res, err = kong.Import(nil, exported)
	}
	if err != nil {
		t.Fatal(err)
	}
	generated = load(t, dir, "generated.yaml", res.Scenario("generated", "v", []string{"export.yaml"}))
	return orig, back, generated, out
}

// eqAccess compares the route's acl and ipRestriction with the imported
// ones, and that the groups the acl names are declared back.
func eqAccess(t *rapid.T, orig, generated *scenarios.Plan) {
	a, b := orig.Topology.Gateway.Routes[0], generated.Topology.Gateway.Routes[0]
	eq(t, "acl", a.ACL, b.ACL)
	eq(t, "ipRestriction", a.IPRestriction, b.IPRestriction)
	if b.ACL != nil {
		for _, g := range append(append([]string{}, b.ACL.Allow...), b.ACL.Deny...) {
			if !slices.ContainsFunc(generated.Topology.Gateway.ConsumerGroups, func(c scenarios.ConsumerGroup) bool { return c.Name == g }) {
				t.Errorf("group %s is not declared back", g)
			}
		}
	}
}

func share(p *scenarios.Plan) float64 {
	vp := p.ForVariant(0)
	svc, _ := vp.Topology.Service("payments")
	total := 0
	for i := range svc.Replicas {
		total += svc.ReplicaWeight(i)
	}
	return float64(svc.ReplicaWeight(3)) / float64(total) * 100
}

func eq(t *rapid.T, what string, a, b any) {
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("%s: exported %v, imported back %v", what, a, b)
	}
}

// TestIstioRoundTrip: importing an Istio export gives back the variant for
// every key Istio represents (weights up to Istio's whole percents).
func TestIstioRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		acc := drawAccess(t, "{type: jwt, issuer: https://issuer.example.com, audience: payments}", "jwt", false)
		quota := rapid.Bool().Draw(t, "quota")
		variant := istioVariant(t)
		if quota {
			variant = strings.Replace(variant, "    weights:", "      quota: {limit: 1000, period: day}\n    weights:", 1)
		}
		orig, back, generated, out := roundTrip(t, "istio", acc, variant)
		eqAccess(t, orig, generated)
		if quota && !slices.ContainsFunc(out.Notes, func(n string) bool { return strings.HasPrefix(n, "quota") }) {
			t.Errorf("the notes do not say Istio cannot represent the quota: %v", out.Notes)
		}
		a, b := orig.Variants[0].Policy, back.Variants[0].Policy
		eq(t, "balancer.type", a.Balancer.Type, b.Balancer.Type)
		eq(t, "balancer.hashKey", a.Balancer.HashKey, b.Balancer.HashKey)
		if a.Balancer.Type == scenarios.BalancerRingHash {
			eq(t, "balancer.minRingSize", a.Balancer.MinRingSize, b.Balancer.MinRingSize)
		}
		eq(t, "timeouts.connect", a.Timeouts.Connect, b.Timeouts.Connect)
		eq(t, "timeouts.request", a.Timeouts.Request, b.Timeouts.Request)
		eq(t, "retries present", a.Retries != nil, b.Retries != nil)
		if a.Retries != nil && b.Retries != nil {
			eq(t, "retries.attempts", a.Retries.Attempts, b.Retries.Attempts)
			eq(t, "retries.perTryTimeout", a.Retries.PerTryTimeout, b.Retries.PerTryTimeout)
			eq(t, "retries.retryOn", a.Retries.RetryOn, b.Retries.RetryOn)
			eq(t, "retries.backoff.base", a.Retries.Backoff.Base, b.Retries.Backoff.Base)
		}
		eq(t, "outlierDetection present", a.OutlierDetection != nil, b.OutlierDetection != nil)
		if a.OutlierDetection != nil && b.OutlierDetection != nil {
			x, y := *a.OutlierDetection, *b.OutlierDetection
			eq(t, "outlierDetection", []any{x.Consecutive5xx, x.ConsecutiveGatewayFailure, x.Interval, x.BaseEjectionTime, x.MaxEjectionPercent},
				[]any{y.Consecutive5xx, y.ConsecutiveGatewayFailure, y.Interval, y.BaseEjectionTime, y.MaxEjectionPercent})
		}
		eq(t, "circuitBreaker present", a.CircuitBreaker != nil, b.CircuitBreaker != nil)
		if a.CircuitBreaker != nil && b.CircuitBreaker != nil {
			x, y := *a.CircuitBreaker, *b.CircuitBreaker
			eq(t, "circuitBreaker thresholds", []int{x.MaxConnections, x.MaxPending, x.MaxRequests, x.MaxRetries}, []int{y.MaxConnections, y.MaxPending, y.MaxRequests, y.MaxRetries})
		}
		eq(t, "security", a.Security != nil && a.Security.MTLS != nil, b.Security != nil && b.Security.MTLS != nil)
		if a.Security != nil && a.Security.MTLS != nil && b.Security != nil && b.Security.MTLS != nil {
			eq(t, "security.mtls.mode", a.Security.MTLS.Mode, b.Security.MTLS.Mode)
		}
		if sa, sb := share(orig), share(back); math.Abs(sa-sb) > 1 {
			t.Errorf("canary share: exported %.2f%%, imported back %.2f%%", sa, sb)
		}
	})
}

// kongVariant draws a variant whose every key Kong represents, and says
// whether it has a rate limit.
func kongVariant(t *rapid.T) (string, bool) {
	var b strings.Builder
	b.WriteString("    policy:\n")
	bal := rapid.SampledFrom([]string{"weighted_round_robin", "peak_ewma", "ring_hash"}).Draw(t, "balancer")
	fmt.Fprintf(&b, "      balancer: {type: %s", bal)
	if bal == "ring_hash" {
		b.WriteString(", hashKey: {header: x-user}")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "      timeouts: {connect: %s, perTry: %s, request: 0s}\n", ms(t, "connect", 1, 2000), ms(t, "perTry", 10, 5000))
	if rapid.Bool().Draw(t, "retries") {
		fmt.Fprintf(&b, "      retries: {attempts: %d, retryOn: [connect-failure, reset]}\n", rapid.IntRange(2, 6).Draw(t, "attempts"))
	}
	if rapid.Bool().Draw(t, "health") {
		interval := rapid.IntRange(1, 30).Draw(t, "hcInterval")
		fmt.Fprintf(&b, "      healthCheck: {interval: %ds, timeout: %ds, healthyThreshold: %d, unhealthyThreshold: %d, path: /health}\n",
			interval, rapid.IntRange(1, interval).Draw(t, "hcTimeout"), rapid.IntRange(1, 10).Draw(t, "healthy"), rapid.IntRange(1, 10).Draw(t, "unhealthy"))
	}
	if rapid.Bool().Draw(t, "outlier") {
		fmt.Fprintf(&b, "      outlierDetection: {consecutive5xx: %d, consecutiveGatewayFailure: %d}\n", rapid.IntRange(1, 20).Draw(t, "c5xx"), rapid.IntRange(0, 20).Draw(t, "cgf"))
	}
	rateLimit := rapid.Bool().Draw(t, "rateLimit")
	if rateLimit {
		fmt.Fprintf(&b, "      rateLimit: {type: sliding_window, rate: %d/s, window: 1s, key: client_ip}\n", rapid.IntRange(1, 5000).Draw(t, "rate"))
	}
	w1, w2 := rapid.IntRange(1, 100).Draw(t, "w1"), rapid.IntRange(101, 200).Draw(t, "w2")
	fmt.Fprintf(&b, "    weights: {payments: [%d, %d, %d, %d]}\n", w1, w1, w1, w2)
	return b.String(), rateLimit
}

// TestKongRoundTrip: importing a Kong export gives back the variant for
// every key Kong represents.
func TestKongRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		acc := drawAccess(t, "{type: apiKey, header: x-api-key}", "apiKey", true)
		variant, rateLimit := kongVariant(t)
		if rapid.Bool().Draw(t, "quota") {
			key := rapid.SampledFrom([]string{"api_key", "client_ip"}).Draw(t, "quotaKey")
			routes := rapid.SampledFrom([]string{"", ", routes: [create-payment]"}).Draw(t, "quotaRoutes")
			if rateLimit && routes == "" {
				key = "client_ip" // one plugin counts both, by one limit_by
			}
			variant = strings.Replace(variant, "    weights:", fmt.Sprintf("      quota: {limit: %d, period: %s, key: %s%s}\n    weights:",
				rapid.IntRange(1, 1000000).Draw(t, "quotaLimit"), rapid.SampledFrom([]string{"day", "month"}).Draw(t, "period"), key, routes), 1)
		}
		orig, back, generated, _ := roundTrip(t, "kong", acc, variant)
		eqAccess(t, orig, generated)
		if acc.groups != "" {
			want := map[string]string{}
			for _, g := range orig.Topology.Gateway.ConsumerGroups {
				want[g.Name] = fmt.Sprint(g.Consumers)
			}
			got := map[string]string{}
			for _, g := range generated.Topology.Gateway.ConsumerGroups {
				got[g.Name] = fmt.Sprint(g.Consumers)
			}
			eq(t, "consumerGroups", want, got)
		}
		a, b := orig.Variants[0].Policy, back.Variants[0].Policy
		eq(t, "quota present", a.Quota != nil, b.Quota != nil)
		if a.Quota != nil && b.Quota != nil {
			x, y := *a.Quota, *b.Quota
			eq(t, "quota", []any{x.Limit, x.Period, x.Key, x.Routes}, []any{y.Limit, y.Period, y.Key, y.Routes})
		}
		eq(t, "balancer.type", a.Balancer.Type, b.Balancer.Type)
		eq(t, "balancer.hashKey", a.Balancer.HashKey, b.Balancer.HashKey)
		eq(t, "timeouts", a.Timeouts, b.Timeouts)
		eq(t, "retries present", a.Retries != nil, b.Retries != nil)
		if a.Retries != nil && b.Retries != nil {
			eq(t, "retries", []any{a.Retries.Attempts, a.Retries.RetryOn}, []any{b.Retries.Attempts, b.Retries.RetryOn})
		}
		eq(t, "healthCheck present", a.HealthCheck != nil, b.HealthCheck != nil)
		if a.HealthCheck != nil && b.HealthCheck != nil {
			x, y := *a.HealthCheck, *b.HealthCheck
			eq(t, "healthCheck", []any{x.Interval, x.Timeout, x.HealthyThreshold, x.UnhealthyThreshold, x.Path}, []any{y.Interval, y.Timeout, y.HealthyThreshold, y.UnhealthyThreshold, y.Path})
		}
		eq(t, "outlierDetection present", a.OutlierDetection != nil, b.OutlierDetection != nil)
		if a.OutlierDetection != nil && b.OutlierDetection != nil {
			eq(t, "outlierDetection", []int{a.OutlierDetection.Consecutive5xx, a.OutlierDetection.ConsecutiveGatewayFailure}, []int{b.OutlierDetection.Consecutive5xx, b.OutlierDetection.ConsecutiveGatewayFailure})
		}
		eq(t, "rateLimit present", a.RateLimit != nil, b.RateLimit != nil)
		if a.RateLimit != nil && b.RateLimit != nil {
			x, y := *a.RateLimit, *b.RateLimit
			eq(t, "rateLimit", []any{x.Type, x.Rate, x.Window, x.Key}, []any{y.Type, y.Rate, y.Window, y.Key})
		}
		eq(t, "weights", orig.Variants[0].Weights["payments"], back.Variants[0].Weights["payments"])
	})
}

// TestProxyConfig: the proxy config of the shipped example's proposal
// loads in the proxy, with the variant's outlier detection and weights.
func TestProxyConfig(t *testing.T) {
	e, err := scenarios.Shipped("istio-outlier-proposal")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Proxy(plan, "proposal")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen: 127.0.0.1:10000", "address: 127.0.0.1:20003", "weight: 100", "consecutive5xx: 3"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("proxy config lacks %q:\n%s", want, out.Text)
		}
	}
}

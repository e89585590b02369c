package dataplane

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// knobBases are policies under which every knob of the scenario's policy
// block matters: a knob may only act beside another (a rate limit's
// limit only with a concurrency type, a percentile only without a
// route-level delay, the policy's per-try timeout only when the retries
// name none), so a knob reaches the proxy when changing it changes the
// configuration under at least one base.
var knobBases = []string{
	`  balancer: {type: least_request, slowStart: {window: 10s}, locality: {enabled: true}, hashKey: {header: X-K}}
  timeouts: {connect: 1s, perTry: 200ms, request: 2s}
  retries: {attempts: 2, retryOn: [5xx, retriable-status-codes], retriableStatusCodes: [503], perTryTimeout: 100ms, backoff: {base: 5ms, max: 50ms},
            budget: {ratio: 0.2}, hedging: {delay: 10ms, maxHedges: 1}}
  circuitBreaker: {failureRatio: 0.5, minRequests: 10, consecutiveFailures: 3}
  outlierDetection: {consecutive5xx: 5, consecutiveGatewayFailure: 3, successRate: {}, failurePercentage: {}}
  rateLimit: {type: token_bucket, rate: 10/s, burst: 5}
  healthCheck: {interval: 1s}
`,
	`  balancer: {type: ring_hash}
  retries: {attempts: 2, hedging: {percentile: p90}}
  rateLimit: {type: adaptive_concurrency, limit: 10, minLimit: 2, maxLimit: 50}
`,
}

// knobValues are other valid values for the knobs whose type alone does
// not give one.
var knobValues = map[string]any{
	"Balancer.Type":   scenarios.BalancerMaglev,
	"Retries.RetryOn": []string{scenarios.RetryOn5xx, scenarios.RetryOnReset},
	"RateLimit.Type":  scenarios.LimiterSlidingWindow,
	"RateLimit.Key":   scenarios.LimitKeyRoute,
}

// TestEveryPolicyKnobReachesTheProxy changes each leaf of the scenario's
// policy block in turn and requires the generated gateway or sidecar
// configuration to change: no knob is accepted by the scenario format and
// dropped on the way to the proxy, on any backend.
func TestEveryPolicyKnobReachesTheProxy(t *testing.T) {
	var bases []scenarios.Policy
	for _, b := range knobBases {
		plan := planOf(t, "", b)
		bases = append(bases, plan.Variants[0].Policy)
	}
	seen := map[string]bool{}
	for bi := range bases {
		walkKnobs(reflect.ValueOf(&bases[bi]).Elem(), "", func(path string, v reflect.Value) {
			if _, ok := seen[path]; !ok {
				seen[path] = false
			}
			before := generated(t, &bases[bi])
			old := reflect.New(v.Type()).Elem()
			old.Set(v)
			if !perturb(path, v) {
				t.Errorf("%s: no other value to try (kind %s); add one to knobValues", path, v.Kind())
				return
			}
			if !reflect.DeepEqual(before, generated(t, &bases[bi])) {
				seen[path] = true
			}
			v.Set(old)
		})
	}
	for path, reached := range seen {
		if !reached {
			t.Errorf("policy.%s: changing it changes no proxy configuration", lowerPath(path))
		}
	}
	if len(seen) < 40 {
		t.Errorf("walked %d knobs; the policy block has more", len(seen))
	}
}

// generated is everything the translation makes of pol.
func generated(t *testing.T, pol *scenarios.Policy) []any {
	t.Helper()
	topo := scenarios.Topology{
		Gateway:  scenarios.Gateway{Zone: "z", Routes: []scenarios.Route{{Name: "r", Service: "s"}}},
		Services: []scenarios.Service{{Name: "s"}},
	}
	gw, err := Gateway(pol, &topo)
	if err != nil {
		t.Fatal(err)
	}
	return []any{gw, Sidecar(pol), Cluster(pol, "s", "z", false)}
}

// walkKnobs calls f with every leaf field under v (structs are walked,
// pointers to structs followed when set).
func walkKnobs(v reflect.Value, path string, f func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			p := v.Type().Field(i).Name
			if path != "" {
				p = path + "." + p
			}
			walkKnobs(v.Field(i), p, f)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			walkKnobs(v.Elem(), path, f)
		}
	default:
		f(path, v)
	}
}

// perturb sets v to another value than its own.
func perturb(path string, v reflect.Value) bool {
	if alt, ok := knobValues[path]; ok {
		v.Set(reflect.ValueOf(alt))
		return true
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Int64: // time.Duration
		v.SetInt(v.Int() + int64(time.Second))
	case reflect.Float64:
		v.SetFloat(v.Float()/2 + 0.3)
	case reflect.String:
		v.SetString(v.String() + "-x")
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Int {
			return false
		}
		v.Set(reflect.Append(v, reflect.ValueOf(504)))
	default:
		return false
	}
	return true
}

// lowerPath spells a Go field path as the scenario's key path.
func lowerPath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		switch {
		case s == "SourceIP":
			parts[i] = "sourceIP"
		case s == "TTL":
			parts[i] = "ttl"
		default:
			parts[i] = strings.ToLower(s[:1]) + s[1:]
		}
	}
	return strings.Join(parts, ".")
}

package scenarios_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/meshbench/meshbench/importer/istio" // variants from: istio
	_ "github.com/meshbench/meshbench/importer/kong"  // variants from: kong
	"github.com/meshbench/meshbench/scenarios"
)

// TestImportedLibraryExample: the shipped example's variants come from
// the Istio configuration next to it: the proposal's DestinationRule and
// the VirtualService's subset weights on the labelled replicas.
func TestImportedLibraryExample(t *testing.T) {
	for _, name := range []string{"library/istio-outlier-proposal.yaml", "istio-outlier-proposal.yaml", "istio-outlier-proposal"} {
		src, err := os.ReadFile("library/istio-outlier-proposal.yaml")
		if err != nil {
			t.Fatal(err)
		}
		// Loaded from disk, and by name as the shipped library is (embedded).
		p, err := scenarios.LoadBytes(name, src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prod, prop := p.Variants[0], p.Variants[1]
		if prod.From != nil || prop.From != nil {
			t.Error("a loaded plan keeps from:")
		}
		od := prod.Policy.OutlierDetection
		if od == nil || od.Consecutive5xx != 5 || od.Interval != 10*time.Second || od.BaseEjectionTime != 30*time.Second || od.MaxEjectionPercent != 10 {
			t.Errorf("production outlierDetection = %+v", od)
		}
		od = prop.Policy.OutlierDetection
		if od == nil || od.Consecutive5xx != 3 || od.Interval != 5*time.Second || od.BaseEjectionTime != time.Minute || od.MaxEjectionPercent != 50 {
			t.Errorf("proposal outlierDetection = %+v", od)
		}
		for _, v := range []scenarios.Variant{prod, prop} {
			pol := v.Policy
			if pol.Balancer.Type != scenarios.BalancerLeastRequest || pol.Timeouts.Connect != 250*time.Millisecond || pol.Timeouts.Request != time.Second {
				t.Errorf("%s: balancer %s, timeouts %+v", v.Name, pol.Balancer.Type, pol.Timeouts)
			}
			if r := pol.Retries; r == nil || r.Attempts != 2 || r.PerTryTimeout != 400*time.Millisecond || strings.Join(r.RetryOn, ",") != "connect-failure,reset" {
				t.Errorf("%s: retries %+v", v.Name, r)
			}
			if w := v.Weights["payments"]; len(w) != 4 || w[0] != 300 || w[3] != 100 {
				t.Errorf("%s: weights %v, want [300 300 300 100]", v.Name, w)
			}
		}
		if len(p.Notes) != 0 {
			t.Errorf("notes = %v", p.Notes)
		}
	}
}

const fromScenario = `apiVersion: meshbench/v1
kind: Scenario
name: from
duration: 60s
topology:
  gateway:
    routes: [{name: all, service: payments}]
  services:
    - name: payments
      replicas: 2
      serviceTime: 2ms
      labels: [{version: v1}, {version: v2}]
load:
  - {name: l, target: {method: GET, path: /}, rate: 10/s}
variants:
  - name: mesh
    %s
`

func loadFrom(t *testing.T, variant string, files map[string]string) error {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "s.yaml")
	src := strings.ReplaceAll(strings.Replace(fromScenario, "%s", variant, 1), "DIR", dir)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := scenarios.Load(p)
	if err != nil {
		return &pathError{dir: dir, err: err}
	}
	return nil
}

type pathError struct {
	dir string
	err error
}

func (e *pathError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.dir+string(filepath.Separator), "")
}

// TestFromErrors: errors inside referenced files keep their file:line:col.
func TestFromErrors(t *testing.T) {
	dr := "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: p}\nspec:\n  host: payments\n  trafficPolicy:\n    outlierDetection:\n      interval: often\n"
	for _, c := range []struct {
		name, variant string
		files         map[string]string
		want          string
	}{
		{"wrong type", "from: {istio: ./mesh/}", map[string]string{"mesh/dr.yaml": dr}, "mesh/dr.yaml:8:7: spec.trafficPolicy.outlierDetection.interval: DestinationRule p: wrong type"},
		{"strict", "from: {istio: ./mesh/, strict: true}", map[string]string{"mesh/dr.yaml": "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: p}\nspec:\n  host: payments\n  exportTo: [\".\"]\n"}, "mesh/dr.yaml:6:3: spec.exportTo: DestinationRule p: meshbench cannot represent this field"},
		{"both", "from: {istio: ./mesh/, kong: ./k.yaml}", nil, "s.yaml:17:5: variants[0].from: from names one source"},
		{"missing", "from: {kong: ./nope.yaml}", nil, "s.yaml:17:18: variants[0].from.kong: cannot import ./nope.yaml"},
		{"kong syntax", "from: {kong: ./k.yaml}", map[string]string{"k.yaml": "_format_version: \"3.0\"\nservices:\n  - name: [x\n"}, "k.yaml:3:11: syntax error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := loadFrom(t, c.variant, c.files)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error =\n%v\nwant prefix\n%s", err, c.want)
			}
		})
	}
}

func TestLabelsPerReplica(t *testing.T) {
	src := strings.Replace(strings.Replace(fromScenario, "labels: [{version: v1}, {version: v2}]", "labels: [{version: v1}]", 1), "%s", "", 1)
	_, err := scenarios.LoadBytes("s.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:12:7: topology.services[0].labels: give one mapping of labels per replica: 1 for 2 replicas") {
		t.Errorf("error = %v", err)
	}
}

// TestFromKeysWin: the variant's own keys win over the import's.
func TestFromKeysWin(t *testing.T) {
	dir := t.TempDir()
	dr := "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: p}\nspec:\n  host: payments\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM}\n    outlierDetection: {consecutive5xxErrors: 7}\n"
	if err := os.WriteFile(filepath.Join(dir, "dr.yaml"), []byte(dr), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fromScenario, "%s", "from: {istio: ./dr.yaml}\n    policy: {balancer: {type: least_request}}", 1)
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pol := plan.Variants[0].Policy
	if pol.Balancer.Type != scenarios.BalancerLeastRequest || pol.OutlierDetection == nil || pol.OutlierDetection.Consecutive5xx != 7 {
		t.Errorf("balancer %s, outlierDetection %+v", pol.Balancer.Type, pol.OutlierDetection)
	}
	// The plan's JSON is a scenario without from: that loads as itself.
	js, err := plan.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := scenarios.LoadBytes("plan.json", js)
	if err != nil {
		t.Fatal(err)
	}
	if again.Variants[0].Policy.OutlierDetection.Consecutive5xx != 7 {
		t.Error("the plan does not reload as itself")
	}
}

// TestFromTopologyNote: imported routes the scenario lacks are a note.
func TestFromTopologyNote(t *testing.T) {
	dir := t.TempDir()
	vs := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [payments]\n  http:\n    - name: other\n      route: [{destination: {host: payments}}]\n      timeout: 1s\n      retries: {attempts: 1, retryOn: 5xx}\n"
	if err := os.WriteFile(filepath.Join(dir, "vs.yaml"), []byte(vs), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(fromScenario, "%s", "from: {istio: ./vs.yaml}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Notes) != 1 || !strings.Contains(plan.Notes[0].String(), "s.yaml:17:19: variants[0].from.istio: note: the import has gateway routes the scenario lacks: other (to payments)") {
		t.Errorf("notes = %v", plan.Notes)
	}
	if r := plan.Variants[0].Policy.Retries; r == nil || r.Attempts != 2 || plan.Variants[0].Policy.Timeouts.Request != time.Second {
		t.Errorf("retries %+v", r)
	}
}

// TestFromKong: a variant from a decK file takes its policy and weights.
func TestFromKong(t *testing.T) {
	dir := t.TempDir()
	deck := `_format_version: "3.0"
services:
  - name: payments
    host: payments-upstream
    retries: 2
    connect_timeout: 300
    read_timeout: 900
    routes:
      - {name: all, paths: [/], strip_path: false}
upstreams:
  - name: payments-upstream
    algorithm: least-connections
    targets:
      - {target: "a:80", weight: 80}
      - {target: "b:80", weight: 20}
plugins:
  - name: rate-limiting
    config: {second: 50, day: 100000, limit_by: ip}
  - name: rate-limiting
    route: all
    config: {month: 2000000, limit_by: ip}
`
	if err := os.WriteFile(filepath.Join(dir, "kong.yaml"), []byte(deck), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(fromScenario, "%s", "from: {kong: ./kong.yaml}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	v := plan.Variants[0]
	pol := v.Policy
	if pol.Balancer.Type != scenarios.BalancerLeastRequest || pol.Timeouts.Connect != 300*time.Millisecond || pol.Timeouts.PerTry != 900*time.Millisecond || pol.Timeouts.Request != 0 {
		t.Errorf("balancer %s, timeouts %+v", pol.Balancer.Type, pol.Timeouts)
	}
	if r := pol.Retries; r == nil || r.Attempts != 3 || strings.Join(r.RetryOn, ",") != "connect-failure,reset" {
		t.Errorf("retries %+v", r)
	}
	if rl := pol.RateLimit; rl == nil || rl.Type != scenarios.LimiterSlidingWindow || rl.Rate != 50 || rl.Window != time.Second || rl.Key != scenarios.LimitKeyClientIP {
		t.Errorf("rateLimit %+v", rl)
	}
	// Kong's day and month limits are a quota; meshbench has one, the
	// first imported, the other a note.
	if q := pol.Quota; q == nil || q.Limit != 100000 || q.Period != scenarios.PeriodDay || q.Key != scenarios.LimitKeyClientIP || len(q.Routes) != 0 {
		t.Errorf("quota %+v", q)
	}
	if !slices.ContainsFunc(plan.Notes, func(is scenarios.Issue) bool { return strings.Contains(is.Msg, "one quota (policy.quota)") }) {
		t.Errorf("notes lack the second quota: %v", plan.Notes)
	}
	if w := v.Weights["payments"]; len(w) != 2 || w[0] != 80 || w[1] != 20 {
		t.Errorf("weights %v", w)
	}
}

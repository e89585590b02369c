package scenarios

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// sweepBase has a variant with a policy and a load override, so that the
// tests can see what a point changes and what it keeps.
const sweepBase = minimal + `policy:
  retries: {attempts: 2}
variants:
  - name: plain
  - name: busy
    policy: {balancer: {type: least_request}}
    load:
      load-1: {rate: 300/s}
slo:
  - {metric: p99, max: 200ms}
  - {metric: p99, max: 1ms, variant: plain}
`

func TestSweepExpand(t *testing.T) {
	cases := []struct{ flag, want string }{
		{"policy.balancer.choices=2,3,4", "2 3 4"},
		{"policy.balancer.choices={from: 2, to: 10, step: 3}", "2 5 8"},
		{"policy.balancer.choices={from: 2, to: 5}", "2 3 4 5"},
		{"policy.balancer.choices={from: 1, to: 100, steps: 5, scale: log}", "1 3 10 32 100"},
		{"load.load-1.rate={from: 200/s, to: 2000/s, steps: 4}", "200/s 800/s 1400/s 2000/s"},
		{"policy.timeouts.request={from: 10ms, to: 1s, steps: 3, scale: log}", "10ms 100ms 1s"},
		{"policy.timeouts.request={from: 500us, to: 1ms, step: 250us}", "500us 750us 1ms"},
		{"policy.retries.budget.ratio={from: 10%, to: 50%, step: 20%}", "10% 30% 50%"},
		{"policy.retries.budget.ratio=[10%, 20%]", "10% 20%"},
	}
	for _, tc := range cases {
		sp, err := ParseSweepParam(tc.flag)
		if err != nil {
			t.Errorf("%s: %v", tc.flag, err)
			continue
		}
		got, err := sp.Expand()
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v (%v), want %s", tc.flag, got, err, tc.want)
		}
	}
	for _, bad := range []struct{ flag, msg string }{
		{"policy.balancer.choices", "want PATH=VALUES"},
		{"policy.balancer.choices={from: 2, to: 5, stepz: 1}", `unknown key "stepz" (did you mean "step"?)`},
		{"load.load-1.rate={from: 2/s, to: 5ms, steps: 3}", "different units"},
		{"load.load-1.rate={from: 2/s, to: 5/s}", "give step"},
		{"policy.timeouts.request={from: 0ms, to: 1s, steps: 3, scale: log}", "greater than 0"},
		{"policy.balancer.choices={from: 9, to: 5}", "below from"},
		{"policy.balancer.choices={from: 2, to: 5, step: 1, steps: 3}", "not both"},
	} {
		sp, err := ParseSweepParam(bad.flag)
		if err == nil {
			_, err = sp.Expand()
		}
		if err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%s: %v, want %q", bad.flag, err, bad.msg)
		}
	}
}

func TestSweepNumber(t *testing.T) {
	for in, want := range map[string][2]any{
		"3": {3.0, UnitNumber}, "0.25": {0.25, UnitNumber}, "20%": {0.2, UnitPercent},
		"120/m": {2.0, UnitRate}, "1.5s": {1500.0, UnitDuration}, "250us": {0.25, UnitDuration},
	} {
		x, unit, ok := SweepNumber(in)
		if !ok || x != want[0] || unit != want[1] {
			t.Errorf("SweepNumber(%q) = %v %v %v", in, x, unit, ok)
		}
	}
	if _, _, ok := SweepNumber("peak_ewma"); ok {
		t.Error("a name read as a number")
	}
}

func TestPointOverrides(t *testing.T) {
	plan := mustLoad(t, sweepBase)
	p, err := plan.Point("busy", []Override{
		{Path: "policy.retries.budget.ratio", Value: "20%"},
		{Path: "policy.balancer.choices", Value: "3"},
		{Path: "topology.services.payments.concurrency", Value: "8"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Variants[0]
	if len(p.Variants) != 1 || v.Name != "busy" {
		t.Fatalf("variants %v", p.variantNames())
	}
	if v.Policy.Balancer.Type != BalancerLeastRequest || v.Policy.Balancer.Choices != 3 {
		t.Errorf("balancer %+v: the variant's type and the swept choices", v.Policy.Balancer)
	}
	if v.Policy.Retries == nil || v.Policy.Retries.Attempts != 2 || v.Policy.Retries.Budget == nil || float64(v.Policy.Retries.Budget.Ratio) != 0.2 {
		t.Errorf("retries %+v", v.Policy.Retries)
	}
	if p.Services[0].Concurrency != 8 {
		t.Errorf("concurrency %d", p.Services[0].Concurrency)
	}
	if w := p.ForVariant(0).Load[0]; w.Shape == nil || float64(w.Shape.Rate) != 300 {
		t.Errorf("the variant's load override is lost: %+v", w)
	}
	if len(p.SLO) != 1 || !slices.Equal(p.Backends, []string{BackendSim}) {
		t.Errorf("SLOs %v (the other variant's dropped), backends %v", p.SLO, p.Backends)
	}
	// A load key replaces the variant's override of that key.
	p, err = plan.Point("busy", []Override{{Path: "load.load-1.rate", Value: "50/s"}}, []string{BackendSim, BackendLocal})
	if err != nil {
		t.Fatal(err)
	}
	if w := p.ForVariant(0).Load[0]; w.Shape == nil || float64(w.Shape.Rate) != 50 {
		t.Errorf("rate override: %+v", w.Shape)
	}
	// The base plan is untouched.
	if plan.Services[0].Concurrency != 1 || len(plan.Variants) != 2 {
		t.Error("Point changed its plan")
	}
	if _, err := plan.Point("bsy", nil, nil); err == nil || !strings.Contains(err.Error(), `did you mean "busy"`) {
		t.Errorf("unknown variant: %v", err)
	}
}

func TestSweepSectionLoadsAndRoundTrips(t *testing.T) {
	src := sweepBase + `sweep:
  variant: busy
  repeat: 3
  params:
    policy.retries.budget.ratio: [10%, 20%]
    load.load-1.rate: {from: 100/s, to: 400/s, steps: 4}
  tune:
    minimize: p99_ms
    subjectTo: ["availability>=99.9%"]
    budgetRuns: 50
    budgetTime: 2m
`
	plan := mustLoad(t, src)
	sw := plan.Sweep
	if sw == nil || sw.Variant != "busy" || sw.Mode != SweepCross || sw.Repeat != 3 || sw.MaxPoints != DefaultMaxPoints {
		t.Fatalf("sweep %+v", sw)
	}
	if len(sw.Params) != 2 || sw.Params[0].Path != "policy.retries.budget.ratio" || sw.Params[1].Range == nil || sw.Params[0].At != "test.yaml:28:5" {
		t.Fatalf("params %+v", sw.Params)
	}
	if sw.Tune == nil || sw.Tune.BudgetTime != 2*time.Minute {
		t.Fatalf("tune %+v", sw.Tune)
	}
	c, err := ParseConstraint(sw.Tune.SubjectTo[0])
	if err != nil || !c.Min || c.Value != 0.999 || !c.Holds(0.9995) || c.Holds(0.99) {
		t.Errorf("constraint %+v %v", c, err)
	}
	raw, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadBytes("plan.json", raw)
	if err != nil {
		t.Fatalf("plan.json does not load: %v\n%s", err, raw)
	}
	a, _ := json.Marshal(again)
	if string(a) != string(raw) {
		t.Errorf("plan.json round trip differs:\n%s\n%s", raw, a)
	}
}

// FuzzParseSweepParam: no flag text may crash the parser or the expansion.
func FuzzParseSweepParam(f *testing.F) {
	for _, s := range []string{"policy.balancer.choices=2,3", "a={from: 1, to: 1e9, steps: 3, scale: log}", "x=[&a 1, *a]", "=", "p={from: 1ms, to: 9h, step: 1ns}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSweepParam(s)
		if err == nil {
			_, _ = sp.Expand()
		}
	})
}

package bench

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// gateNoisySummary returns a summary of one backend × variant with n repeats
// whose metrics scatter around fixed centres with lognormal noise of the
// given relative spread; p99Factor scales the p99 centre.
func gateNoisySummary(r *rand.Rand, n int, spread, p99Factor float64) *Summary {
	s := &Summary{Schema: SummarySchema, Scenario: "gate-test"}
	noise := func(x float64) float64 { return x * math.Exp(r.NormFloat64()*spread) }
	for i := range n {
		avail := math.Min(1, 0.999+r.NormFloat64()*0.0003)
		req := int64(30000)
		s.Runs = append(s.Runs, RunSummary{
			Backend: "sim", Variant: "peak-ewma", Repeat: i, Seed: uint64(i + 1),
			Stats: Stats{
				Requests: req, Successes: int64(math.Round(avail * float64(req))),
				Availability:  avail,
				ThroughputRPS: noise(500),
				LatencyMS: Latency{
					Mean: noise(14), P50: noise(12), P90: noise(30),
					P99: noise(120 * p99Factor), P999: noise(300), Max: 900,
				},
			},
		})
	}
	return s
}

func TestGateDetectsRegressionAndToleratesNoise(t *testing.T) {
	const (
		trials  = 100
		repeats = 10
		spread  = 0.08 // 8% run-to-run noise on every metric
	)
	var missed, falsePositives int
	for trial := range trials {
		r := rand.New(rand.NewPCG(uint64(trial), 7))
		base := gateNoisySummary(r, repeats, spread, 1)
		same := gateNoisySummary(r, repeats, spread, 1)
		worse := gateNoisySummary(r, repeats, spread, 1.3)

		res, err := Gate(base, same, GateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pass {
			falsePositives++
		}
		res, err = Gate(base, worse, GateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p99Failed := false
		for _, c := range res.Failed() {
			if c.Metric.Name == "p99" {
				p99Failed = true
			}
		}
		if res.Pass || !p99Failed {
			missed++
		}
	}
	if missed != 0 {
		t.Errorf("p99 +30%% with %d repeats: gate passed %d of %d trials, want 0", repeats, missed, trials)
	}
	if max := trials * 5 / 100; falsePositives >= max {
		t.Errorf("identical distributions: gate failed %d of %d trials, want fewer than %d (5%%)", falsePositives, trials, max)
	}
	t.Logf("missed regressions %d/%d, false positives %d/%d", missed, trials, falsePositives, trials)
}

func TestGateVerdicts(t *testing.T) {
	one := func(p99, avail, tput float64, n int) *Summary {
		s := &Summary{Schema: SummarySchema}
		for i := range n {
			// A little spread so the U test sees no ties.
			d := float64(i) * 0.001
			s.Runs = append(s.Runs, RunSummary{Backend: "sim", Variant: "v", Repeat: i,
				Stats: Stats{Requests: 1000, Successes: int64(avail * 1000), Availability: avail,
					ThroughputRPS: tput + d, LatencyMS: Latency{P50: 10 + d, P90: 20 + d, P99: p99 + d, P999: 200 + d, Mean: 12 + d}}})
		}
		return s
	}
	tests := []struct {
		name          string
		base, cur     *Summary
		opts          GateOptions
		wantPass      bool
		metric        string
		wantVerdict   string
		wantTested    bool
		thresholdOnly bool
	}{
		{name: "n=1 within tolerance passes on threshold", base: one(100, 0.999, 500, 1), cur: one(105, 0.999, 500, 1),
			wantPass: true, metric: "p99", wantVerdict: "ok (threshold only)"},
		{name: "n=1 beyond tolerance fails on threshold", base: one(100, 0.999, 500, 1), cur: one(120, 0.999, 500, 1),
			metric: "p99", wantVerdict: "REGRESSION (threshold only)"},
		{name: "n=5 cannot reach alpha 0.05 over 8 checks", base: one(100, 0.999, 500, 5), cur: one(150, 0.999, 500, 5),
			metric: "p99", wantVerdict: "REGRESSION (threshold only)"},
		{name: "n=6 separated and beyond tolerance fails", base: one(100, 0.999, 500, 6), cur: one(150, 0.999, 500, 6),
			metric: "p99", wantVerdict: "REGRESSION", wantTested: true},
		{name: "n=6 separated but within a looser tolerance", base: one(100, 0.999, 500, 6), cur: one(150, 0.999, 500, 6),
			opts: GateOptions{Tolerances: map[string]Tolerance{"p99": {Value: 0.6}}}, wantPass: true,
			metric: "p99", wantVerdict: "worse, within tolerance", wantTested: true},
		{name: "n=6 faster is an improvement", base: one(100, 0.999, 500, 6), cur: one(60, 0.999, 500, 6),
			wantPass: true, metric: "p99", wantVerdict: "improved", wantTested: true},
		{name: "throughput drop beyond 5% fails", base: one(100, 0.999, 500, 6), cur: one(100, 0.999, 450, 6),
			metric: "throughput", wantVerdict: "REGRESSION", wantTested: true},
		{name: "availability drop of 0.5pp fails", base: one(100, 0.999, 500, 1), cur: one(100, 0.994, 500, 1),
			metric: "availability", wantVerdict: "REGRESSION (threshold only)"},
		{name: "availability drop of 0.05pp passes", base: one(100, 0.999, 500, 1), cur: one(100, 0.9985, 500, 1),
			wantPass: true, metric: "availability", wantVerdict: "ok (threshold only)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Gate(tc.base, tc.cur, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Pass != tc.wantPass {
				t.Errorf("Pass = %v, want %v; failed: %v", res.Pass, tc.wantPass, res.Failed())
			}
			var found bool
			for _, c := range res.Checks {
				if c.Metric.Name != tc.metric {
					continue
				}
				found = true
				if c.Verdict != tc.wantVerdict {
					t.Errorf("%s verdict = %q, want %q (p=%v delta=%v)", c.Name(), c.Verdict, tc.wantVerdict, c.P, c.DeltaPct)
				}
				if c.Tested != tc.wantTested {
					t.Errorf("%s Tested = %v, want %v", c.Name(), c.Tested, tc.wantTested)
				}
			}
			if !found {
				t.Fatalf("no check for %s", tc.metric)
			}
		})
	}
}

func TestGateExcludesFailedRunsAndReportsUnmatched(t *testing.T) {
	base := &Summary{Runs: []RunSummary{
		{Backend: "sim", Variant: "a", Stats: Stats{Requests: 10, Successes: 10, Availability: 1}},
		{Backend: "sim", Variant: "gone", Stats: Stats{Requests: 10, Successes: 10, Availability: 1}},
	}}
	cur := &Summary{Runs: []RunSummary{
		{Backend: "sim", Variant: "a", Stats: Stats{Requests: 10, Successes: 10, Availability: 1}},
		{Backend: "sim", Variant: "a", Repeat: 1, Error: "backend crashed"},
		{Backend: "sim", Variant: "new", Stats: Stats{Requests: 10, Successes: 10, Availability: 1}},
	}}
	res, err := Gate(base, cur, GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.OnlyBaseline, ","); got != "sim/gone" {
		t.Errorf("OnlyBaseline = %q", got)
	}
	if got := strings.Join(res.OnlyCurrent, ","); got != "sim/new" {
		t.Errorf("OnlyCurrent = %q", got)
	}
	if len(res.Excluded) != 1 || !strings.Contains(res.Excluded[0], "backend crashed") {
		t.Errorf("Excluded = %q", res.Excluded)
	}
	if n := res.Checks[0].Current.N(); n != 1 {
		t.Errorf("current sample size = %d, want 1 (the failed repeat excluded)", n)
	}
}

func TestGateNothingInCommon(t *testing.T) {
	a := &Summary{Runs: []RunSummary{{Backend: "sim", Variant: "a", Stats: Stats{Requests: 1}}}}
	b := &Summary{Runs: []RunSummary{{Backend: "local", Variant: "a", Stats: Stats{Requests: 1}}}}
	if _, err := Gate(a, b, GateOptions{}); !errors.Is(err, ErrNothingToGate) {
		t.Fatalf("err = %v, want ErrNothingToGate", err)
	}
}

func TestHolm(t *testing.T) {
	checks := []GateCheck{{P: 0.01}, {P: 0.04}, {P: 0.03}, {P: 0.5}}
	gateHolm(checks)
	// Sorted: 0.01×4=0.04, 0.03×3=0.09, 0.04×2=0.08→0.09 (monotone), 0.5×1=0.5.
	want := []float64{0.04, 0.09, 0.09, 0.5}
	for i, c := range checks {
		if math.Abs(c.PAdjusted-want[i]) > 1e-12 {
			t.Errorf("check %d: adjusted p = %v, want %v", i, c.PAdjusted, want[i])
		}
	}
}

func TestMinUTestP(t *testing.T) {
	tests := []struct {
		n1, n2 int
		want   float64
	}{
		{1, 1, 1}, {3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {10, 2, 2.0 / 66}, {0, 5, 1},
	}
	for _, tc := range tests {
		if got := gateMinUTestP(tc.n1, tc.n2); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("gateMinUTestP(%d, %d) = %v, want %v", tc.n1, tc.n2, got, tc.want)
		}
	}
}

// A summary gated against itself always passes, whatever its values.
func TestGateSelfPassesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "repeats")
		s := &Summary{}
		for i := range n {
			req := rapid.Int64Range(1, 1e6).Draw(t, "requests")
			succ := rapid.Int64Range(0, req).Draw(t, "successes")
			s.Runs = append(s.Runs, RunSummary{Backend: "sim", Variant: "v", Repeat: i,
				Stats: Stats{Requests: req, Successes: succ, Availability: float64(succ) / float64(req),
					ThroughputRPS: rapid.Float64Range(0, 1e5).Draw(t, "tput"),
					LatencyMS:     Latency{P50: rapid.Float64Range(0, 1e4).Draw(t, "p50"), P99: rapid.Float64Range(0, 1e4).Draw(t, "p99")}}})
		}
		res, err := Gate(s, s, GateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pass {
			t.Fatalf("self-comparison failed: %+v", res.Failed())
		}
	})
}

func TestParseTolerances(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    map[string]Tolerance // only the keys to check
		wantErr string
	}{
		{name: "empty gives defaults", spec: "", want: map[string]Tolerance{"p99": {Value: 0.10}, "throughput": {Value: 0.05}, "availability": {Value: 0.1, Absolute: true}}},
		{name: "issue example", spec: "p99=10%,throughput=5%", want: map[string]Tolerance{"p99": {Value: 0.10}, "throughput": {Value: 0.05}}},
		{name: "spaces and alias", spec: " p99.9 = 25% , mean=0%", want: map[string]Tolerance{"p999": {Value: 0.25}, "mean": {Value: 0}}},
		{name: "percentage points", spec: "availability=0.05pp,error_rate=1%", want: map[string]Tolerance{"availability": {Value: 0.05, Absolute: true}, "error_rate": {Value: 0.01}}},
		{name: "missing equals", spec: "p99:10%", wantErr: "want METRIC=AMOUNT"},
		{name: "unknown metric", spec: "p98=10%", wantErr: `unknown metric "p98"`},
		{name: "no unit", spec: "p99=10", wantErr: "needs a unit"},
		{name: "pp on latency", spec: "p99=1pp", wantErr: "percentage points (pp) apply only"},
		{name: "not a number", spec: "p99=ten%", wantErr: "is not a number"},
		{name: "negative", spec: "p99=-5%", wantErr: "is negative"},
		{name: "duplicate", spec: "p99=5%,p99=6%", wantErr: "given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTolerances(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range tc.want {
				if g := got[k]; math.Abs(g.Value-w.Value) > 1e-12 || g.Absolute != w.Absolute {
					t.Errorf("%s = %+v, want %+v", k, g, w)
				}
			}
		})
	}
}

func TestToleranceString(t *testing.T) {
	if got := (Tolerance{Value: 0.1}).String(); got != "10%" {
		t.Errorf("got %q", got)
	}
	if got := (Tolerance{Value: 0.05, Absolute: true}).String(); got != "0.05pp" {
		t.Errorf("got %q", got)
	}
}

func FuzzParseTolerances(f *testing.F) {
	for _, s := range []string{"p99=10%", "availability=0.1pp,throughput=5%", "x", "=,=", "p99=1e308%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		tols, err := ParseTolerances(spec)
		if err != nil {
			return
		}
		for k, v := range tols {
			if v.Value < 0 || math.IsNaN(v.Value) {
				t.Fatalf("%s: bad tolerance %+v from %q", k, v, spec)
			}
		}
	})
}

func BenchmarkGate(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	base := gateNoisySummary(r, 10, 0.08, 1)
	cur := gateNoisySummary(r, 10, 0.08, 1.1)
	for b.Loop() {
		if _, err := Gate(base, cur, GateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseRegressionsScoped(t *testing.T) {
	tols, scoped, err := ParseRegressions("p99=20%,checkout.p99=10%,route:api.v1.p99.9=5%,workload:pay.availability=0.2pp")
	if err != nil {
		t.Fatal(err)
	}
	if tols["p99"].Value != 0.2 || tols["p50"].Value != 0.1 {
		t.Errorf("totals' tolerances %v", tols)
	}
	want := []struct{ label, kind, name, metric string }{
		{"checkout.p99", "", "checkout", "p99"},
		{"route:api.v1.p999", "route", "api.v1", "p999"},
		{"workload:pay.availability", "workload", "pay", "availability"},
	}
	if len(scoped) != len(want) {
		t.Fatalf("scoped %+v", scoped)
	}
	for i, w := range want {
		s := scoped[i]
		if s.Label() != w.label || s.Kind != w.kind || s.Name != w.name || s.Metric.Name != w.metric {
			t.Errorf("scoped[%d] = %+v (%s), want %+v", i, s, s.Label(), w)
		}
	}
	if !scoped[2].Absolute || scoped[2].Value != 0.2 {
		t.Errorf("pp tolerance %+v", scoped[2].Tolerance)
	}
	for _, bad := range []string{"checkout.p98=10%", "zone:a.p99=10%", ".p99=10%", "checkout.p99=10%,checkout.p99=5%", "checkout.p99=1pp"} {
		if _, _, err := ParseRegressions(bad); err == nil {
			t.Errorf("ParseRegressions(%q) accepted", bad)
		}
	}
}

// scopedSummary is n repeats of one run with routes checkout and lookup,
// checkout's p99 scaled by factor.
func scopedSummary(n int, factor float64) *Summary {
	s := &Summary{Schema: SummarySchema}
	for i := range n {
		d := float64(i) * 0.1
		st := func(p99 float64) Stats {
			return Stats{Requests: 1000, Successes: 1000, Availability: 1, ThroughputRPS: 100,
				LatencyMS: Latency{P50: 10 + d, P90: 20 + d, P99: p99 + d, P999: 200 + d, Mean: 12 + d}}
		}
		r := RunSummary{Backend: "sim", Variant: "v", Repeat: i, Stats: st(100)}
		r.Routes = map[string]Stats{"checkout": st(100 * factor), "lookup": st(100)}
		r.Workloads = map[string]Stats{"pay": st(100 * factor), "lookup": st(100)}
		s.Runs = append(s.Runs, r)
	}
	return s
}

func TestGateChecksARoute(t *testing.T) {
	base := scopedSummary(8, 1)
	cur := scopedSummary(8, 1.5) // checkout's p99 up 50%, the totals unchanged
	check := func(spec string) (*GateResult, error) {
		tols, scoped, err := ParseRegressions(spec)
		if err != nil {
			t.Fatal(err)
		}
		return Gate(base, cur, GateOptions{Tolerances: tols, Scoped: scoped})
	}
	res, err := check("")
	if err != nil || !res.Pass {
		t.Fatalf("totals only: pass %v, err %v; the totals did not change", res != nil && res.Pass, err)
	}
	for _, spec := range []string{"checkout.p99=10%", "route:checkout.p99=10%", "pay.p99=10%"} {
		res, err := check(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		failed := res.Failed()
		if res.Pass || len(failed) != 1 || failed[0].Metric.Name != strings.Split(spec, "=")[0] {
			t.Errorf("%s: pass %v, failed %v; want the route's p99 alone to fail", spec, res.Pass, failed)
		}
		if len(res.Checks) != len(gateMetrics)+1 {
			t.Errorf("%s: %d checks, want the %d totals' and one", spec, len(res.Checks), len(gateMetrics))
		}
	}
	if res, err := check("lookup.p99=10%"); err == nil {
		t.Errorf("lookup is both a route and a workload: accepted (%v)", res.Pass)
	}
	if res, err := check("route:lookup.p99=10%"); err != nil || !res.Pass {
		t.Errorf("route:lookup.p99: pass %v, err %v; want a pass", res != nil && res.Pass, err)
	}
	for _, spec := range []string{"nope.p99=10%", "route:pay.p99=10%", "workload:checkout.p99=10%"} {
		if _, err := check(spec); err == nil || !strings.Contains(err.Error(), "unknown") {
			t.Errorf("%s: err %v, want an unknown route or workload", spec, err)
		}
	}
	// Summaries written before per-route statistics.
	old := scopedSummary(2, 1)
	for i := range old.Runs {
		old.Runs[i].Routes, old.Runs[i].Workloads = nil, nil
	}
	_, scoped, _ := ParseRegressions("checkout.p99=10%")
	if _, err := Gate(old, old, GateOptions{Scoped: scoped}); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("old summaries: err %v, want a word on their age", err)
	}
}

func TestGateNamesUntrustworthyRuns(t *testing.T) {
	base, cur := scopedSummary(2, 1), scopedSummary(2, 1)
	cur.Runs[1].Untrustworthy = "behind"
	res, err := Gate(base, cur, GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Untrustworthy) != 1 || res.Untrustworthy[0] != "current sim/v repeat 1" {
		t.Errorf("untrustworthy %v", res.Untrustworthy)
	}
}

// TestGateNamesBusyRuns: a run measured while the rest of its machine was
// busy is judged, and named apart from the untrustworthy ones.
func TestGateNamesBusyRuns(t *testing.T) {
	base, cur := scopedSummary(2, 1), scopedSummary(2, 1)
	other, steal := 0.3, 0.0
	base.Runs[0].CPU = &CPU{Cores: 0.5, PerRequestMS: 1, OtherCores: &other, StealCores: &steal}
	res, err := Gate(base, cur, GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Busy) != 1 || res.Busy[0] != "baseline sim/v repeat 0" || len(res.Untrustworthy) != 0 {
		t.Errorf("busy %v, untrustworthy %v", res.Busy, res.Untrustworthy)
	}
}

package reports

import (
	"bytes"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
	"pgregory.net/rapid"
)

func TestNiceStep(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0.7, 0.5}, {1, 1}, {1.2, 1}, {2.2, 2}, {3, 2.5}, {4, 5}, {7.5, 10}, {12, 10}, {0.03, 0.025}, {180, 200}, {0, 1},
	}
	for _, tc := range tests {
		if got := niceStep(tc.in); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNiceTicksLabels(t *testing.T) {
	tests := []struct {
		name     string
		min, max float64
		target   int
		limit    float64
		want     []string
	}{
		{"seconds", 0, 120, 10, math.Inf(1), []string{"0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100", "110", "120"}},
		{"throughput", 0, 540, 5, math.Inf(1), []string{"0", "100", "200", "300", "400", "500"}},
		{"availability capped", 97.5, 100.4, 5, 100, []string{"97.5", "98.0", "98.5", "99.0", "99.5", "100.0"}},
		{"two and a half", 0, 12, 5, math.Inf(1), []string{"0.0", "2.5", "5.0", "7.5", "10.0"}},
		{"quarter steps", 0, 1, 4, math.Inf(1), []string{"0.00", "0.25", "0.50", "0.75", "1.00"}},
		{"steps of 250", 0, 1100, 4, math.Inf(1), []string{"0", "250", "500", "750", "1000"}},
		{"negative zero", -0.0000001, 10, 5, math.Inf(1), []string{"0", "2", "4", "6", "8", "10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tk := range niceTicksIn(tc.min, tc.max, tc.target, tc.limit) {
				if tk.Label != "" {
					got = append(got, tk.Label)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("labels = %v, want %v", got, tc.want)
			}
		})
	}
}

// Labelled ticks lie within the axis, increase, and read back as their
// value.
func TestNiceTicksProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := rapid.Float64Range(-1e6, 1e6).Draw(t, "min")
		span := rapid.Float64Range(1e-3, 1e6).Draw(t, "span")
		target := rapid.IntRange(2, 12).Draw(t, "target")
		ticks := niceTicksIn(lo, lo+span, target, math.Inf(1))
		prev := math.Inf(-1)
		labelled := 0
		for _, tk := range ticks {
			if tk.Value < lo-span*1e-6 || tk.Value > lo+span*(1+1e-6) {
				t.Fatalf("tick %v outside [%v, %v]", tk.Value, lo, lo+span)
			}
			if tk.Value <= prev {
				t.Fatalf("ticks not increasing: %v after %v", tk.Value, prev)
			}
			prev = tk.Value
			if tk.Label == "" {
				continue
			}
			labelled++
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || math.Abs(v-tk.Value) > span*1e-6 {
				t.Fatalf("label %q for value %v", tk.Label, tk.Value)
			}
		}
		if labelled < 1 || labelled > 2*target+2 {
			t.Fatalf("%d labelled ticks for target %d", labelled, target)
		}
	})
}

func TestLogTicks(t *testing.T) {
	labels := func(min, max float64) string {
		var out []string
		for _, tk := range logTicks(min, max) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return strings.Join(out, " ")
	}
	if got := labels(3, 400); got != "5 10 20 50 100 200" {
		t.Errorf("two decades: %q", got)
	}
	if got := labels(0.5, 20000); got != "1 10 100 1000 10000" {
		t.Errorf("five decades: %q", got)
	}
	if got := labels(0.02, 0.3); got != "0.02 0.05 0.1 0.2" {
		t.Errorf("below 1 ms: %q", got)
	}
}

func TestNaturalLess(t *testing.T) {
	got := []string{"payments[10]", "payments[2]", "ledger[0]", "payments[1]", "payments", "payments[1]x"}
	sort.Slice(got, func(i, j int) bool { return naturalLess(got[i], got[j]) })
	want := "ledger[0] payments payments[1] payments[1]x payments[2] payments[10]"
	if strings.Join(got, " ") != want {
		t.Errorf("sorted = %v", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.StringMatching(`[a-c]{0,3}[0-9]{0,3}[a-c\[\]]{0,2}`).Draw(t, "a")
		b := rapid.StringMatching(`[a-c]{0,3}[0-9]{0,3}[a-c\[\]]{0,2}`).Draw(t, "b")
		if naturalLess(a, b) && naturalLess(b, a) {
			t.Fatalf("%q and %q are each less than the other", a, b)
		}
		if naturalLess(a, a) {
			t.Fatalf("%q less than itself", a)
		}
	})
}

func TestRunLabels(t *testing.T) {
	tests := []struct {
		paths []string
		want  string
	}{
		{[]string{"runs/a", "runs/b"}, "a b"},
		{[]string{"x/current", "y/current/summary.json"}, "x/current y/current"},
		{[]string{"runs/a/", "runs/a"}, "a #1 a #2"},
	}
	for _, tc := range tests {
		if got := strings.Join(RunLabels(tc.paths), " "); got != tc.want {
			t.Errorf("RunLabels(%v) = %q, want %q", tc.paths, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtMS(0.5123), "0.512"}, {fmtMS(12.345), "12.35"}, {fmtMS(180.24), "180.2"}, {fmtMS(1234.5), "1234"}, {fmtMS(math.NaN()), "–"},
		{fmtPct(0.999123), "99.912%"}, {fmtCount(0), "0"}, {fmtCount(1234567), "1,234,567"}, {fmtCount(-1234), "-1,234"},
		{FormatThreshold(250, "ms"), "250 ms"}, {FormatThreshold(0.999, "ratio"), "99.9%"}, {FormatThreshold(400, "rps"), "400 req/s"},
		{signed(-0.04, 1), "0.0"}, {signed(2.5, 1), "+2.5"}, {signed(-2.5, 1), "−2.5"}, {signed(0, 2), "0.00"},
		{formatErr(0.041), "+4.1%"}, {formatErr(-0.12), "−12.0%"},
		{sloOutcome(bench.SLOVerdict{Metric: "p99", Bound: "max", Threshold: 250, Value: 412.3, Unit: "ms"}), "p99 412.3 ms exceeds the maximum 250 ms"},
		{sloOutcome(bench.SLOVerdict{Metric: "throughput", Bound: "min", Threshold: 400, Value: 380, Unit: "rps"}), "throughput 380.0 req/s is below the minimum 400 req/s"},
		{sloOutcome(bench.SLOVerdict{Metric: "availability", Workload: "customers", Bound: "min", Threshold: 0.999, Value: 0.51732, Unit: "ratio"}), "availability of customers 51.732% is below the minimum 99.9%"},
		{sloText(bench.SLOVerdict{Metric: "p99", Workload: "quiet", Bound: "max", Threshold: 100, Unit: "ms"}), "p99 of quiet ≤ 100 ms"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: got %q, want %q", i, tc.got, tc.want)
		}
	}
}

func TestGroupsAndTotals(t *testing.T) {
	s := &bench.Summary{Runs: []bench.RunSummary{
		{Backend: "sim", Variant: "a", Repeat: 1, Stats: bench.Stats{Requests: 100, Successes: 90, LatencyMS: bench.Latency{P99: 30}, Errors: map[string]int64{"timeout": 10}}},
		{Backend: "sim", Variant: "b", Repeat: 0, Stats: bench.Stats{Requests: 100, Successes: 100}},
		{Backend: "sim", Variant: "a", Repeat: 0, Stats: bench.Stats{Requests: 100, Successes: 100, LatencyMS: bench.Latency{P99: 10}},
			SLO: []bench.SLOVerdict{{Pass: true}, {Pass: false}}},
		{Backend: "sim", Variant: "a", Repeat: 2, Stats: bench.Stats{Requests: 100, Successes: 95, LatencyMS: bench.Latency{P99: 20}}},
		{Backend: "sim", Variant: "a", Repeat: 3, Error: "boom"},
	}}
	gs := Groups(s)
	if len(gs) != 2 || gs[0].Key.Variant != "a" || gs[1].Key.Variant != "b" {
		t.Fatalf("groups = %+v", gs)
	}
	if gs[0].Runs[0].Repeat != 0 || gs[0].Runs[3].Repeat != 3 {
		t.Errorf("repeats not in order")
	}
	tot := gs[0].Totals()
	if tot.Requests != 300 || tot.Successes != 285 || tot.Repeats != 4 {
		t.Errorf("totals = %+v", tot)
	}
	if tot.P99.Median != 20 || tot.P99.Min != 10 || tot.P99.Max != 30 || tot.P99.N != 3 {
		t.Errorf("p99 stat = %+v (the failed repeat must not count)", tot.P99)
	}
	if tot.SLOPassed != 1 || tot.SLOTotal != 2 || tot.SLOPass() || len(tot.Failed) != 1 || tot.Errors["timeout"] != 10 {
		t.Errorf("totals = %+v", tot)
	}
}

func TestLabelRowsStaggersOverlappingLabels(t *testing.T) {
	near := Timeline{Faults: []FaultWindow{
		{Start: 10 * time.Second, End: 11 * time.Second, Label: "kill payments[0]"},
		{Start: 12 * time.Second, End: 13 * time.Second, Label: "kill payments[1]"},
		{Start: 90 * time.Second, End: 95 * time.Second, Label: "kill payments[2]"},
	}}
	if got := labelRows(near, 500, 120); got != 2 {
		t.Errorf("labelRows = %d, want 2", got)
	}
	if got := labelRows(Timeline{}, 500, 120); got != 0 {
		t.Errorf("labelRows without faults = %d", got)
	}
}

func TestPredictions(t *testing.T) {
	s := reportstest.Summary(reportstest.Config{Backends: []string{"sim", "local", "containers"}, Variants: []string{"a", "b"}, Duration: 5 * time.Second})
	// A synthetic summary has no stored predictions, as one written
	// before they existed: they are computed with the default tolerance.
	preds, err := predictionViews(s, Groups(s))
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != 4 {
		t.Fatalf("%d predictions, want 4 (2 variants × 2 real backends)", len(preds))
	}
	for _, p := range preds {
		// The synthetic backends differ by a few percent.
		p50, p99 := metricErr(p.Prediction, bench.PredictP50), metricErr(p.Prediction, bench.PredictP99)
		if math.IsNaN(p50) || math.Abs(p50) > 0.3 || math.Abs(p99) > 0.5 || p.sim == nil || p.real == nil {
			t.Errorf("%s on %s: errors p50 %v, p99 %v", p.Variant, p.Backend, p50, p99)
		}
	}
	simOnly := reportstest.Summary(reportstest.Config{Duration: 5 * time.Second})
	if preds, _ := predictionViews(simOnly, Groups(simOnly)); len(preds) != 0 {
		t.Errorf("predictions without a real backend: %+v", preds)
	}
}

func TestComparisonTable(t *testing.T) {
	a := reportstest.Summary(reportstest.Config{Duration: 10 * time.Second})
	b := reportstest.Summary(reportstest.Config{Duration: 10 * time.Second, Seed: 2, LatencyFactor: 1.5, Variants: []string{"round-robin", "maglev"}})
	c := NewComparison([]ComparedRun{{Label: "a", Summary: a}, {Label: "b", Summary: b}})
	if len(c.Keys) != 3 {
		t.Fatalf("keys = %v", c.Keys)
	}
	var out bytes.Buffer
	if err := c.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"sim / round-robin", "sim / maglev", "absent", "p99 ms", "(+"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	var md bytes.Buffer
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### sim / peak-ewma") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

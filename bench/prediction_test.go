package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/meshbench/meshbench/scenarios"
)

// predRun is a run whose n successful requests all took latencyUS, with
// failed more that failed.
func predRun(t *testing.T, backend, variant string, repeat int, latencyUS int64, n, failed int64) RunSummary {
	t.Helper()
	h := hdr.New(minLatencyUS, maxLatencyUS, runSigFigs)
	for range n {
		if err := h.RecordValue(latencyUS); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	r := RunSummary{Backend: backend, Variant: variant, Repeat: repeat}
	r.Requests, r.Successes = n+failed, n
	r.Availability = float64(n) / float64(n+failed)
	r.LatencyMS = latencyOf(h)
	r.LatencyHDR = string(enc)
	return r
}

func metricOf(t *testing.T, p Prediction, name string) PredictionMetric {
	t.Helper()
	for _, m := range p.Metrics {
		if m.Metric == name {
			return m
		}
	}
	t.Fatalf("%s/%s has no %s: %+v", p.Variant, p.Backend, name, p.Metrics)
	return PredictionMetric{}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestPredictErrors(t *testing.T) {
	s := &Summary{Runs: []RunSummary{
		predRun(t, "sim", "rr", 0, 9000, 1000, 0),
		predRun(t, "sim", "lr", 0, 12000, 1000, 0),
		predRun(t, "local", "rr", 0, 10000, 990, 10),
		predRun(t, "local", "lr", 0, 10000, 1000, 0),
		predRun(t, "containers", "rr", 0, 20000, 1000, 0),
	}}
	tol := scenarios.DefaultPredictionTolerance()
	preds, err := Predict(s, tol)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != 3 {
		t.Fatalf("%d predictions, want 3 (rr and lr on local, rr on containers): %+v", len(preds), preds)
	}
	rr := preds[0]
	if rr.Variant != "rr" || rr.Backend != "local" || rr.SimRepeats != 1 || rr.RealRepeats != 1 {
		t.Fatalf("first prediction %+v", rr)
	}
	for _, name := range []string{PredictP50, PredictP99, PredictP999} {
		m := metricOf(t, rr, name)
		// HdrHistogram's 3 significant figures: within 0.2% of −10%.
		if !near(m.Error, -0.1, 0.002) || m.ErrorUnit != ErrorRelative || m.Unit != "ms" || !m.WithinTolerance {
			t.Errorf("rr %s: %+v, want an error of −10%% within the tolerance", name, m)
		}
		if m.SimSpread != nil || m.RealSpread != nil || m.WithinSpread {
			t.Errorf("rr %s: a spread from one repeat: %+v", name, m)
		}
	}
	av := metricOf(t, rr, PredictAvailability)
	if av.Sim != 1 || av.Real != 0.99 || !near(av.Error, 1, 1e-9) || av.ErrorUnit != ErrorPoints || av.Tolerance != 0.5 || av.WithinTolerance {
		t.Errorf("rr availability: %+v, want +1 pp outside 0.5 pp", av)
	}
	if rr.Verdict != PredictionFail || rr.Pass {
		t.Errorf("rr verdict %s, want fail (availability off by 1 pp)", rr.Verdict)
	}
	lr := preds[1]
	if p50 := metricOf(t, lr, PredictP50); !near(p50.Error, 0.2, 0.002) || p50.WithinTolerance {
		t.Errorf("lr p50 %+v, want +20%% outside 10%%", p50)
	}
	if lr.Verdict != PredictionFail {
		t.Errorf("lr verdict %s", lr.Verdict)
	}
	if c := preds[2]; c.Backend != "containers" || !near(metricOf(t, c, PredictP99).Error, -0.55, 0.002) {
		t.Errorf("containers prediction %+v", c)
	}

	tol.P50, tol.P99, tol.P999, tol.Availability = 0.25, 0.25, 0.25, 1
	preds, _ = Predict(s, tol)
	for _, p := range preds[:2] {
		if p.Verdict != PredictionPass || !p.Pass {
			t.Errorf("%s on %s within a looser tolerance: %s %+v", p.Variant, p.Backend, p.Verdict, p.Metrics)
		}
	}
}

// TestPredictSpread checks the verdict against the real backend's noise:
// outside the tolerance but inside the real repeats' min–max is "noise".
func TestPredictSpread(t *testing.T) {
	real := []RunSummary{
		predRun(t, "local", "rr", 0, 9000, 1000, 0),
		predRun(t, "local", "rr", 1, 10000, 1000, 0),
		predRun(t, "local", "rr", 2, 11000, 990, 10),
		// A repeat that failed outright measures nothing and is left out.
		{Backend: "local", Variant: "rr", Repeat: 3, Error: "refused"},
	}
	real[2].Untrustworthy = "schedule lag p99 12ms > 10ms"
	tol := scenarios.PredictionTolerance{P50: 0.02, P99: 0.02, P999: 0.02, Availability: 0.1}
	judge := func(simUS int64) Prediction {
		t.Helper()
		s := &Summary{Runs: append([]RunSummary{
			predRun(t, "sim", "rr", 0, simUS, 1000, 0),
			predRun(t, "sim", "rr", 1, simUS+400, 1000, 0),
		}, real...)}
		preds, err := Predict(s, tol)
		if err != nil || len(preds) != 1 {
			t.Fatalf("%v, %+v", err, preds)
		}
		return preds[0]
	}

	p := judge(9500)
	if p.RealRepeats != 3 || p.SimRepeats != 2 || p.RealUntrustworthy != 1 {
		t.Errorf("repeats sim %d real %d (%d untrustworthy), want 2 and 3 (1)", p.SimRepeats, p.RealRepeats, p.RealUntrustworthy)
	}
	p50 := metricOf(t, p, PredictP50)
	if p50.RealSpread == nil || !near(p50.RealSpread.Min, 9, 0.02) || !near(p50.RealSpread.Max, 11, 0.02) || p50.RealSpread.Repeats != 3 {
		t.Errorf("real p50 spread %+v, want 9–11 ms over 3 repeats", p50.RealSpread)
	}
	if p50.SimSpread == nil || !near(p50.SimSpread.Min, 9.5, 0.02) || !near(p50.SimSpread.Max, 9.9, 0.02) {
		t.Errorf("sim p50 spread %+v, want 9.5–9.9 ms", p50.SimSpread)
	}
	if p50.WithinTolerance || !p50.WithinSpread {
		t.Errorf("p50 %+v: want outside 2%% but inside the real spread", p50)
	}
	av := metricOf(t, p, PredictAvailability)
	if av.RealSpread == nil || av.RealSpread.Min != 0.99 || av.RealSpread.Max != 1 || !av.WithinSpread || av.WithinTolerance {
		t.Errorf("availability %+v: want +0.33 pp, outside 0.1 pp, inside 99%%–100%%", av)
	}
	if p.Verdict != PredictionNoise || !p.Pass {
		t.Errorf("verdict %s, want noise", p.Verdict)
	}

	if p := judge(7000); p.Verdict != PredictionFail || metricOf(t, p, PredictP50).WithinSpread {
		t.Errorf("a prediction below the real spread: verdict %s", p.Verdict)
	}
}

func TestPredictNeedsBoth(t *testing.T) {
	simOnly := &Summary{Runs: []RunSummary{predRun(t, "sim", "rr", 0, 9000, 10, 0)}}
	realOnly := &Summary{Runs: []RunSummary{predRun(t, "local", "rr", 0, 9000, 10, 0)}}
	otherVariant := &Summary{Runs: []RunSummary{predRun(t, "sim", "rr", 0, 9000, 10, 0), predRun(t, "local", "lr", 0, 9000, 10, 0)}}
	for _, s := range []*Summary{simOnly, realOnly, otherVariant} {
		if preds, err := Predict(s, scenarios.DefaultPredictionTolerance()); err != nil || len(preds) != 0 {
			t.Errorf("predictions %+v, %v; want none", preds, err)
		}
	}
	// No successful request on the real side: availability only.
	s := &Summary{Runs: []RunSummary{predRun(t, "sim", "rr", 0, 9000, 10, 0), predRun(t, "local", "rr", 0, 9000, 0, 10)}}
	preds, err := Predict(s, scenarios.DefaultPredictionTolerance())
	if err != nil || len(preds) != 1 || len(preds[0].Metrics) != 1 || preds[0].Metrics[0].Metric != PredictAvailability || preds[0].Verdict != PredictionFail {
		t.Errorf("no real successes: %+v, %v", preds, err)
	}
}

// TestPredictionsOfOldSummary reads a summary written before predictions
// existed: they are computed with the default tolerance, and a summary
// that has them keeps its own.
func TestPredictionsOfOldSummary(t *testing.T) {
	s := &Summary{Schema: SummarySchema, Runs: []RunSummary{predRun(t, "sim", "rr", 0, 9500, 100, 0), predRun(t, "local", "rr", 0, 10000, 100, 0)}}
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if _, ok := generic["predictions"]; ok {
		t.Fatal("a summary without predictions writes the key")
	}
	var old Summary
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	preds, err := PredictionsOf(&old)
	if err != nil || len(preds) != 1 || preds[0].Verdict != PredictionPass || metricOf(t, preds[0], PredictP50).Tolerance != scenarios.DefaultPredictionP50 {
		t.Fatalf("old summary: %+v, %v", preds, err)
	}

	strict := scenarios.PredictionTolerance{P50: 0.01, P99: 0.01, P999: 0.01}
	old.Predictions, _ = Predict(&old, strict)
	raw, _ = old.Marshal()
	var back Summary
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	preds, _ = PredictionsOf(&back)
	if len(preds) != 1 || preds[0].Verdict != PredictionFail {
		t.Errorf("stored predictions not kept: %+v", preds)
	}
}

// TestPredictCPU: the CPU is compared when every run on both sides has
// one, by the mean cores over repeats, and decides the verdict only when
// the scenario's judge names it.
func TestPredictCPU(t *testing.T) {
	run := func(backend string, repeat int, cores float64) RunSummary {
		r := predRun(t, backend, "rr", repeat, 10000, 1000, 0)
		r.CPU = &CPU{Cores: cores}
		return r
	}
	s := &Summary{Runs: []RunSummary{run("sim", 0, 1.2), run("sim", 1, 1.4), run("local", 0, 0.9), run("local", 1, 1.1)}}
	preds, err := Predict(s, scenarios.DefaultPredictionTolerance())
	if err != nil {
		t.Fatal(err)
	}
	m := metricOf(t, preds[0], PredictCPU)
	if m.Sim != 1.3 || m.Real != 1 || !near(m.Error, 0.3, 1e-9) || m.Unit != "cores" || m.WithinTolerance {
		t.Fatalf("cpu metric %+v, want sim 1.3, real 1, error +30%% outside the tolerance", m)
	}
	if m.RealSpread == nil || m.RealSpread.Min != 0.9 || m.RealSpread.Max != 1.1 {
		t.Errorf("real spread %+v, want 0.9–1.1", m.RealSpread)
	}
	if !m.NotJudged || !preds[0].Pass {
		t.Errorf("by default the cpu is shown, not judged: NotJudged %v, verdict %s", m.NotJudged, preds[0].Verdict)
	}
	tol := scenarios.DefaultPredictionTolerance()
	tol.Judge = []string{PredictP50, PredictCPU}
	if preds, err = Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	if preds[0].Pass {
		t.Errorf("judged on cpu, a +30%% error passes: %+v", preds[0])
	}
	// A run without a CPU figure (an older summary, a backend that cannot
	// measure it) leaves the metric out.
	s.Runs[3].CPU = nil
	if preds, err = Predict(s, scenarios.DefaultPredictionTolerance()); err != nil {
		t.Fatal(err)
	}
	for _, m := range preds[0].Metrics {
		if m.Metric == PredictCPU {
			t.Errorf("cpu compared with a run that has none: %+v", m)
		}
	}
}

// TestCPUBeside: what the rest of the machine spent is given in cores
// over the same span, and a run with other work and steal together over
// DisturbedCores says so.
func TestCPUBeside(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		other, steal time.Duration
		wantOther    float64
		wantSteal    float64
		disturbed    string
	}{
		{0, 0, 0, 0, ""},
		{s / 2, s / 4, 0.125, 0.0625, ""},
		{s, 0, 0.25, 0, "other processes used 0.25 cores and the hypervisor's steal took 0.00"},
		{s / 2, s / 2, 0.125, 0.125, "while it was measured"},
		{s / 4, 3 * s, 0.0625, 0.75, "steal took 0.75"},
	} {
		c := cpuOf(&CPUSpent{Used: 3 * s, Span: 4 * s, Beside: &Beside{Other: tc.other, Steal: tc.steal}}, 1500)
		if c.OtherCores == nil || *c.OtherCores != tc.wantOther || c.StealCores == nil || *c.StealCores != tc.wantSteal {
			t.Errorf("other %v, steal %v over 4s: %v and %v cores, want %v and %v", tc.other, tc.steal, c.OtherCores, c.StealCores, tc.wantOther, tc.wantSteal)
		}
		if got := c.Disturbed(); (tc.disturbed == "") != (got == "") || !strings.Contains(got, tc.disturbed) {
			t.Errorf("other %v, steal %v: Disturbed() = %q, want %q", tc.other, tc.steal, got, tc.disturbed)
		}
	}
	var none *CPU
	if none.Disturbed() != "" {
		t.Error("a run without CPU is disturbed")
	}
}

// TestCPUOf: cores over the span, CPU per request over the window's
// requests, nothing to divide by gives nothing.
func TestCPUOf(t *testing.T) {
	got := cpuOf(&CPUSpent{Used: 3 * time.Second, Span: 4 * time.Second}, 1500)
	if got == nil || got.Cores != 0.75 || got.PerRequestMS != 2 {
		t.Fatalf("cpuOf = %+v, want 0.75 cores and 2 ms per request", got)
	}
	if got.OtherCores != nil || got.StealCores != nil || got.Disturbed() != "" {
		t.Errorf("a window with nothing read beside it: %+v", got)
	}
	for _, tc := range []struct {
		spent *CPUSpent
		n     int64
	}{{nil, 10}, {&CPUSpent{Used: time.Second}, 10}, {&CPUSpent{Used: time.Second, Span: time.Second}, 0}} {
		if got := cpuOf(tc.spent, tc.n); got != nil {
			t.Errorf("cpuOf(%+v, %d) = %+v, want nil", tc.spent, tc.n, got)
		}
	}
}

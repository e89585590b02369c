package bench

import (
	"math"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

func loadPlan(t *testing.T, path string) *scenarios.Plan {
	t.Helper()
	p, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOfferedStepsOfCapacityKnee(t *testing.T) {
	p := loadPlan(t, "../scenarios/library/capacity-knee.yaml")
	want := []float64{400, 800, 1100, 1400, 1700, 2000}
	for _, tc := range []struct {
		plan *scenarios.Plan
		step float64
	}{{p, 10}, {p.WithDuration(30 * time.Second), 5}} {
		steps := OfferedSteps(tc.plan)
		if len(steps) != len(want) {
			t.Fatalf("steps %+v, want rates %v", steps, want)
		}
		for i, st := range steps {
			if st.RateRPS != want[i] || st.AtS != float64(i)*tc.step || st.EndS != float64(i+1)*tc.step {
				t.Errorf("step %d = %+v, want %v/s over [%v, %v)", i, st, want[i], float64(i)*tc.step, float64(i+1)*tc.step)
			}
		}
	}
}

func TestOfferedStepsOnlyForRisingSteps(t *testing.T) {
	rate := func(r float64) *scenarios.Shape {
		return &scenarios.Shape{Type: scenarios.ShapeConstant, Rate: scenarios.Rate(r)}
	}
	steps := func(rs ...float64) *scenarios.Shape {
		s := &scenarios.Shape{Type: scenarios.ShapeStep}
		for i, r := range rs {
			s.Steps = append(s.Steps, scenarios.Step{At: time.Duration(i) * 10 * time.Second, Rate: scenarios.Rate(r)})
		}
		return s
	}
	plan := func(ws ...scenarios.Workload) *scenarios.Plan {
		p := &scenarios.Plan{}
		p.Duration = 30 * time.Second
		p.Load = ws
		return p
	}
	w := func(s *scenarios.Shape, start, dur time.Duration) scenarios.Workload {
		return scenarios.Workload{Shape: s, Start: start, For: dur}
	}
	for name, tc := range map[string]struct {
		plan  *scenarios.Plan
		rates []float64
	}{
		"one constant rate":             {plan(w(rate(100), 0, 30*time.Second)), nil},
		"a rate that falls":             {plan(w(steps(100, 200, 150), 0, 30*time.Second)), nil},
		"a ramp":                        {plan(w(&scenarios.Shape{Type: scenarios.ShapeRamp, From: 1, To: 9}, 0, 30*time.Second)), nil},
		"a closed loop":                 {plan(w(steps(100, 200), 0, 30*time.Second), scenarios.Workload{Users: &scenarios.Users{Count: 3}, For: 30 * time.Second}), nil},
		"steps":                         {plan(w(steps(100, 200, 300), 0, 30*time.Second)), []float64{100, 200, 300}},
		"two workloads summed":          {plan(w(rate(50), 0, 30*time.Second), w(rate(70), 10*time.Second, 20*time.Second)), []float64{50, 120}},
		"a late start and an early end": {plan(w(steps(100, 200), 5*time.Second, 20*time.Second)), []float64{100, 200}},
		"a window past the timeline":    {plan(w(steps(100, 200, 300), 5*time.Second, 30*time.Second)), []float64{100, 200, 300}},
	} {
		t.Run(name, func(t *testing.T) {
			got := OfferedSteps(tc.plan)
			if len(got) != len(tc.rates) {
				t.Fatalf("steps %+v, want rates %v", got, tc.rates)
			}
			for i, st := range got {
				if st.RateRPS != tc.rates[i] {
					t.Errorf("step %d rate %v, want %v", i, st.RateRPS, tc.rates[i])
				}
			}
		})
	}
}

// kneeBuckets is a run's per-second buckets over steps of 5 s whose p99s
// are given per step; each step's first second is a wild value the knee
// must skip.
func kneeBuckets(p99s ...float64) []Bucket {
	var out []Bucket
	for i, v := range p99s {
		for s := range 5 {
			b := Bucket{StartS: float64(i*5 + s), WidthS: 1, Requests: 10, Successes: 10, P99MS: v}
			if s == 0 {
				b.P99MS = 10 * v
			}
			if math.IsInf(v, 1) {
				b.Successes = 0
			}
			out = append(out, b)
		}
	}
	return out
}

func TestKneeOf(t *testing.T) {
	steps := []KneeStep{{AtS: 0, EndS: 5, RateRPS: 400}, {AtS: 5, EndS: 10, RateRPS: 800}, {AtS: 10, EndS: 15, RateRPS: 1200}}
	ms := func(d time.Duration) *scenarios.Threshold { return &scenarios.Threshold{Value: d.Seconds()} }
	slo := scenarios.SLO{Metric: scenarios.MetricP99, Max: ms(50 * time.Millisecond)}
	for name, tc := range map[string]struct {
		p99s  []float64
		rate  float64
		bound string
	}{
		"crossed between steps": {[]float64{30, 40, 90}, 880, ""},
		"crossed at once":       {[]float64{60, 70, 90}, 400, KneeBelow},
		"never crossed":         {[]float64{10, 20, 49}, 1200, KneeAbove},
		"no answers past it":    {[]float64{30, 40, math.Inf(1)}, 1200, ""},
	} {
		t.Run(name, func(t *testing.T) {
			k := kneeOf(steps, slo, kneeBuckets(tc.p99s...))
			if k == nil {
				t.Fatal("no knee")
			}
			if !near(k.RateRPS, tc.rate, 0.05) || k.Bound != tc.bound || k.MaxMS != 50 || k.Metric != "p99" {
				t.Errorf("knee %v/s bound %q (max %v %s), want %v/s bound %q", k.RateRPS, k.Bound, k.MaxMS, k.Metric, tc.rate, tc.bound)
			}
			for i, st := range k.Steps {
				if v := tc.p99s[i]; math.IsInf(v, 1) {
					if st.ValueMS != nil || !st.Over {
						t.Errorf("step %d without answers: %+v", i, st)
					}
				} else if st.ValueMS == nil || *st.ValueMS != v || st.Over != (v > 50) {
					t.Errorf("step %d = %+v, want %v ms (the first second skipped)", i, st, v)
				}
			}
		})
	}
	if k := kneeOf(steps, slo, kneeBuckets(30, 40)); k != nil {
		t.Errorf("a step without buckets gave a knee: %+v", k)
	}
}

func TestEvaluateKnees(t *testing.T) {
	p := loadPlan(t, "../scenarios/library/capacity-knee.yaml").WithDuration(30 * time.Second)
	s := &Summary{Runs: []RunSummary{
		{Backend: "sim", Variant: "round_robin", Buckets: kneeBuckets(35, 36, 37, 45, 170, 180)},
		{Backend: "local", Variant: "least_request", Buckets: kneeBuckets(35, 36, 40, 60, 170, 180)},
	}}
	EvaluateKnees(p, s)
	if k := s.Runs[0].Knee; k == nil || !near(k.RateRPS, 1400+300*5.0/125, 0.05) {
		t.Errorf("sim knee %+v", k)
	}
	if k := s.Runs[1].Knee; k == nil || !near(k.RateRPS, 1100+300*10.0/20, 0.05) {
		t.Errorf("local knee %+v", k)
	}
	p.SLO = nil
	EvaluateKnees(p, s)
	if s.Runs[0].Knee != nil {
		t.Error("a knee without a latency SLO")
	}
}

func TestPredictKnee(t *testing.T) {
	knee := func(r RunSummary, rate float64) RunSummary {
		r.Knee = &Knee{Metric: "p99", MaxMS: 50, RateRPS: rate}
		return r
	}
	s := &Summary{Runs: []RunSummary{
		knee(predRun(t, "sim", "rr", 0, 30000, 1000, 0), 1380),
		knee(predRun(t, "local", "rr", 0, 100000, 1000, 0), 1200),
		knee(predRun(t, "local", "rr", 1, 100000, 1000, 0), 1300),
		knee(predRun(t, "local", "rr", 2, 100000, 1000, 0), 1400),
	}}
	tol := scenarios.DefaultPredictionTolerance()
	preds, err := Predict(s, tol)
	if err != nil {
		t.Fatal(err)
	}
	m := metricOf(t, preds[0], PredictKnee)
	if m.Unit != "rps" || m.Sim != 1380 || m.Real != 1300 || !near(m.Error, 80.0/1300, 1e-6) || !m.WithinTolerance {
		t.Errorf("knee metric %+v", m)
	}
	if m.RealSpread == nil || m.RealSpread.Min != 1200 || m.RealSpread.Max != 1400 || !m.WithinSpread {
		t.Errorf("knee spread %+v", m.RealSpread)
	}
	if preds[0].Pass {
		t.Errorf("p50 −70%% passed: %+v", preds[0])
	}

	tol.Judge = []string{PredictKnee}
	if preds, err = Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	if !preds[0].Pass || preds[0].Verdict != PredictionPass || !metricOf(t, preds[0], PredictP50).NotJudged || metricOf(t, preds[0], PredictKnee).NotJudged {
		t.Errorf("judged on the knee alone: %+v", preds[0])
	}
	s.Runs[0].Knee.RateRPS = 1700
	if preds, err = Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	if preds[0].Pass {
		t.Errorf("a knee 31%% off passed: %+v", preds[0])
	}

	s.Runs[1].Knee = nil
	if preds, err = Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	for _, m := range preds[0].Metrics {
		if m.Metric == PredictKnee {
			t.Errorf("a knee compared though a real repeat has none: %+v", m)
		}
	}
	if preds[0].Pass || len(preds[0].Unmeasured) != 1 || preds[0].Unmeasured[0] != PredictKnee {
		t.Errorf("a verdict resting on a knee not measured passed: %+v", preds[0])
	}
}

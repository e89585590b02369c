package load

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

// schedule drives a pacer as vegeta's attacker does, in virtual time: ask
// Pace, wait what it says, hit, and again; it returns the hit times. The
// loop is bounded by limit hits and by the window.
func schedule(t *testing.T, p vegeta.Pacer, window time.Duration, limit int) []time.Duration {
	t.Helper()
	var (
		elapsed time.Duration
		hits    []time.Duration
	)
	for len(hits) < limit {
		wait, stop := p.Pace(elapsed, uint64(len(hits)))
		if stop {
			return hits
		}
		if wait < 0 {
			t.Fatalf("Pace(%s, %d) waits %s", elapsed, len(hits), wait)
		}
		elapsed += wait
		if elapsed > window {
			return hits
		}
		hits = append(hits, elapsed)
	}
	t.Fatalf("pacer did not stop within %d hits", limit)
	return nil
}

func countIn(hits []time.Duration, from, to time.Duration) int {
	n := 0
	for _, h := range hits {
		if h >= from && h < to {
			n++
		}
	}
	return n
}

func TestPoissonMeanRateAndGaps(t *testing.T) {
	const rate = 800.0
	window := 50 * time.Second
	for _, seed := range []uint64{1, 2, 42} {
		p, err := NewConstantPoissonPacer(rate, window, seed)
		if err != nil {
			t.Fatal(err)
		}
		hits := schedule(t, p, window, 100000)
		want := rate * window.Seconds()
		// A Poisson count has stddev √mean; 4σ is a bound this seeded
		// test cannot cross by chance.
		if d := math.Abs(float64(len(hits)) - want); d > 4*math.Sqrt(want) {
			t.Errorf("seed %d: %d arrivals in %s, want %.0f ± %.0f", seed, len(hits), window, want, 4*math.Sqrt(want))
		}
		// Exponential gaps: the coefficient of variation is 1 (a constant
		// process has 0).
		var sum, sumSq float64
		for i := 1; i < len(hits); i++ {
			g := (hits[i] - hits[i-1]).Seconds()
			sum += g
			sumSq += g * g
		}
		n := float64(len(hits) - 1)
		mean := sum / n
		cv := math.Sqrt(sumSq/n-mean*mean) / mean
		if math.Abs(cv-1) > 0.05 {
			t.Errorf("seed %d: gaps have coefficient of variation %.3f, want 1 (exponential)", seed, cv)
		}
	}
}

func TestPoissonDeterministicPerSeed(t *testing.T) {
	window := 5 * time.Second
	mk := func(seed uint64) *PoissonPacer {
		p, err := NewConstantPoissonPacer(300, window, seed)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := schedule(t, mk(7), window, 10000)
	b := schedule(t, mk(7), window, 10000)
	c := schedule(t, mk(8), window, 10000)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d arrivals", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed: arrival %d at %s and %s", i, a[i], b[i])
		}
	}
	same := 0
	for i := range min(len(a), len(c)) {
		if a[i] == c[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 7 and 8 share %d arrival times", same)
	}

	// Arrival n does not depend on when, or in which order, it is asked
	// for: vegeta's Pace(elapsed, hits) contract.
	p := mk(7)
	for _, n := range []uint64{500, 3, 1000, 0, 999, 1000} {
		got, ok := p.Arrival(n)
		if !ok || got != a[n] {
			t.Errorf("Arrival(%d) = %s, %v; want %s", n, got, ok, a[n])
		}
	}
	// Late callers are told to go at once; the schedule stays the same.
	if wait, stop := p.Pace(a[10]+time.Second, 10); wait != 0 || stop {
		t.Errorf("Pace behind schedule = %s, %v; want 0, false", wait, stop)
	}
}

func TestPoissonThinningFollowsTheShape(t *testing.T) {
	window := 40 * time.Second
	w := scenarios.Workload{Name: "w", Arrival: scenarios.ArrivalPoisson, For: window, Shape: &scenarios.Shape{
		Type:  scenarios.ShapeStep,
		Steps: []scenarios.Step{{At: 10 * time.Second, Rate: 200}, {At: 20 * time.Second, Rate: 800}, {At: 30 * time.Second, Rate: 0}},
	}}
	p, err := NewPacer(w, window, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*PoissonPacer); !ok {
		t.Fatalf("NewPacer gave %T for poisson arrivals", p)
	}
	hits := schedule(t, p, window, 100000)
	for _, seg := range []struct {
		from, to time.Duration
		rate     float64
	}{{0, 10 * time.Second, 0}, {10 * time.Second, 20 * time.Second, 200}, {20 * time.Second, 30 * time.Second, 800}, {30 * time.Second, window, 0}} {
		n := countIn(hits, seg.from, seg.to)
		want := seg.rate * (seg.to - seg.from).Seconds()
		if d := math.Abs(float64(n) - want); d > 4*math.Sqrt(want)+0.5 {
			t.Errorf("[%s, %s): %d arrivals, want %.0f", seg.from, seg.to, n, want)
		}
	}
}

func TestStepPacer(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name   string
		steps  []Step
		window time.Duration
		want   []time.Duration // every arrival
	}{
		{"one step from zero", []Step{{0, 2}}, 2 * sec, []time.Duration{0, sec / 2, sec, 3 * sec / 2}},
		{"nothing before the first step", []Step{{sec, 4}}, 2 * sec, []time.Duration{sec, 5 * sec / 4, 6 * sec / 4, 7 * sec / 4}},
		{"rate changes mid-way", []Step{{0, 1}, {2 * sec, 2}}, 3 * sec, []time.Duration{0, sec, 2 * sec, 5 * sec / 2}},
		{"a pause between steps", []Step{{0, 1}, {sec, 0}, {3 * sec, 1}}, 5 * sec, []time.Duration{0, 3 * sec, 4 * sec}},
		{"all zero", []Step{{0, 0}}, 5 * sec, nil},
		{"step after the window", []Step{{10 * sec, 100}}, 5 * sec, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewStepPacer(tt.steps, tt.window)
			if err != nil {
				t.Fatal(err)
			}
			got := schedule(t, p, tt.window, 1000)
			if len(got) != len(tt.want) {
				t.Fatalf("arrivals %v, want %v", got, tt.want)
			}
			for i := range got {
				if d := got[i] - tt.want[i]; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("arrivals %v, want %v", got, tt.want)
				}
			}
		})
	}
	if _, err := NewStepPacer([]Step{{time.Second, 1}, {0, 1}}, time.Minute); err == nil {
		t.Error("steps out of order accepted")
	}
	if _, err := NewStepPacer([]Step{{0, -1}}, time.Minute); err == nil {
		t.Error("negative rate accepted")
	}
}

func TestConstantArrivalShapes(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name   string
		shape  scenarios.Shape
		window time.Duration
		want   []struct {
			from, to time.Duration
			n        float64
		}
		pacer string
	}{
		{
			name: "constant", shape: scenarios.Shape{Type: scenarios.ShapeConstant, Rate: 250}, window: 4 * sec, pacer: "vegeta.ConstantPacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 4 * sec, 1000}},
		},
		{
			name: "fractional constant", shape: scenarios.Shape{Type: scenarios.ShapeConstant, Rate: 2.5}, window: 8 * sec, pacer: "vegeta.ConstantPacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 8 * sec, 20}},
		},
		{
			name: "ramp", shape: scenarios.Shape{Type: scenarios.ShapeRamp, From: 100, To: 300}, window: 10 * sec, pacer: "vegeta.LinearPacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 5 * sec, 750}, {5 * sec, 10 * sec, 1250}},
		},
		{
			name: "ramp from zero", shape: scenarios.Shape{Type: scenarios.ShapeRamp, From: 0, To: 200}, window: 10 * sec, pacer: "load.rampFromZero",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 5 * sec, 250}, {5 * sec, 10 * sec, 750}},
		},
		{
			// mean + amplitude·sin(2πt/period): above the mean in the first
			// half period, below it in the second.
			name: "sine", shape: scenarios.Shape{Type: scenarios.ShapeSine, Mean: 200, Amplitude: 100, Period: 10 * sec}, window: 10 * sec, pacer: "vegeta.SinePacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 5 * sec, 1000 + 1000/math.Pi}, {5 * sec, 10 * sec, 1000 - 1000/math.Pi}},
		},
		{
			name: "sine touching zero", shape: scenarios.Shape{Type: scenarios.ShapeSine, Mean: 100, Amplitude: 100, Period: 4 * sec}, window: 4 * sec, pacer: "vegeta.SinePacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 4 * sec, 400}},
		},
		{
			name: "zero rate", shape: scenarios.Shape{Type: scenarios.ShapeConstant, Rate: 0}, window: 4 * sec, pacer: "load.idlePacer",
			want: []struct {
				from, to time.Duration
				n        float64
			}{{0, 4 * sec, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := tt.shape
			w := scenarios.Workload{Name: "w", Arrival: scenarios.ArrivalConstant, Shape: &sh, For: tt.window}
			p, err := NewPacer(w, tt.window, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(p); got != tt.pacer {
				t.Errorf("pacer %s, want %s", got, tt.pacer)
			}
			hits := schedule(t, p, tt.window, 100000)
			for _, seg := range tt.want {
				n := float64(countIn(hits, seg.from, seg.to))
				if math.Abs(n-seg.n) > 2+0.01*seg.n {
					t.Errorf("[%s, %s): %v arrivals, want %.1f", seg.from, seg.to, n, seg.n)
				}
			}
		})
	}
}

func typeName(p vegeta.Pacer) string {
	switch p.(type) {
	case vegeta.ConstantPacer:
		return "vegeta.ConstantPacer"
	case vegeta.LinearPacer:
		return "vegeta.LinearPacer"
	case vegeta.SinePacer:
		return "vegeta.SinePacer"
	case *StepPacer:
		return "load.StepPacer"
	case *PoissonPacer:
		return "load.PoissonPacer"
	case idlePacer:
		return "load.idlePacer"
	case rampFromZero:
		return "load.rampFromZero"
	}
	return "?"
}

func TestVegetaRate(t *testing.T) {
	for _, r := range []float64{1, 500, 0.5, 333.3333, 1.0 / 3600, 12345.678} {
		v := vegetaRate(r)
		got := float64(v.Freq) / v.Per.Seconds()
		if math.Abs(got-r)/r > 1e-3 && math.Abs(got-r) > 1e-3 {
			t.Errorf("vegetaRate(%v) = %v/%s = %v/s", r, v.Freq, v.Per, got)
		}
	}
	if v := vegetaRate(0); v.Freq != 0 {
		t.Errorf("vegetaRate(0) = %v", v)
	}
}

func TestNewPacerRefusesUsers(t *testing.T) {
	w := scenarios.Workload{Name: "u", Users: &scenarios.Users{Count: 3}}
	if _, err := NewPacer(w, time.Second, 1); err == nil {
		t.Error("closed-loop workload got a pacer")
	}
}

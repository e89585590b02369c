package scenarios

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
	"pgregory.net/rapid"
)

func f64(v float64) *float64 { return &v }

var testSpecs = []struct {
	name string
	spec DistributionSpec
}{
	{"constant", Constant(5 * time.Millisecond)},
	{"exponential", DistributionSpec{Type: DistExponential, Mean: 3 * time.Millisecond}},
	{"uniform", DistributionSpec{Type: DistUniform, Min: time.Millisecond, Max: 6 * time.Millisecond}},
	{"normal", DistributionSpec{Type: DistNormal, Mean: 5 * time.Millisecond, Stddev: 2 * time.Millisecond}},
	{"normal-truncated", DistributionSpec{Type: DistNormal, Mean: time.Millisecond, Stddev: 2 * time.Millisecond}},
	{"lognormal-quantiles", DistributionSpec{Type: DistLognormal, Median: 4 * time.Millisecond, P99: 25 * time.Millisecond}},
	{"lognormal-moments", DistributionSpec{Type: DistLognormal, Mu: f64(-3.9), Sigma: f64(0.8)}},
	{"pareto", DistributionSpec{Type: DistPareto, Scale: 2 * time.Millisecond, Shape: 1.6}},
	{"empirical", DistributionSpec{Type: DistEmpirical, Quantiles: []QuantilePoint{
		{0, time.Millisecond}, {0.5, 2 * time.Millisecond}, {0.9, 4 * time.Millisecond}, {0.99, 9 * time.Millisecond}, {1, 20 * time.Millisecond}}}},
}

func mustBuild(t interface {
	Helper()
	Fatalf(string, ...any)
}, s DistributionSpec) Distribution {
	t.Helper()
	d, err := s.Build()
	if err != nil {
		t.Fatalf("build %v: %v", s, err)
	}
	return d
}

// TestDistributionQuantiles draws 200,000 samples from each distribution
// with a fixed seed and checks the empirical CDF at Quantile(q) against q
// with the Dvoretzky–Kiefer–Wolfowitz bound: |F_n(x) − F(x)| ≤ ε for all x
// with probability 1 − α, ε = sqrt(ln(2/α) / 2n). With α = 1e-6 a correct
// sampler fails about once in a million seeds; a wrong one fails at once.
func TestDistributionQuantiles(t *testing.T) {
	const n = 200_000
	eps := math.Sqrt(math.Log(2/1e-6) / (2 * n))
	for _, tt := range testSpecs {
		if tt.spec.Type == DistConstant {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			d := mustBuild(t, tt.spec)
			r := rand.New(rand.NewPCG(1, 2))
			samples := make([]time.Duration, n)
			for i := range samples {
				samples[i] = d.Sample(r)
			}
			slices.Sort(samples)
			for _, q := range []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99} {
				x := d.Quantile(q)
				below, _ := slices.BinarySearch(samples, x+1) // samples ≤ x
				if fn := float64(below) / n; math.Abs(fn-q) > eps {
					t.Errorf("F_n(Quantile(%v) = %v) = %.4f, want %v ± %.4f", q, x, fn, q, eps)
				}
			}
		})
	}
}

// TestDistributionMeans checks Mean against the sample mean, within six
// standard errors, for the distributions with finite variance.
func TestDistributionMeans(t *testing.T) {
	const n = 200_000
	for _, tt := range testSpecs {
		if tt.spec.Type == DistPareto { // shape 1.6: infinite variance; see TestParetoMean
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			d := mustBuild(t, tt.spec)
			r := rand.New(rand.NewPCG(3, 4))
			var sum, sumSq float64
			for range n {
				x := d.Sample(r).Seconds()
				sum += x
				sumSq += x * x
			}
			mean := sum / n
			stderr := math.Sqrt(max(sumSq/n-mean*mean, 0) / n)
			if got := d.Mean().Seconds(); math.Abs(got-mean) > 6*stderr+1e-9 {
				t.Errorf("Mean() = %v, sample mean %v ± %v", d.Mean(), mean, stderr)
			}
		})
	}
}

func TestParetoMean(t *testing.T) {
	d := mustBuild(t, DistributionSpec{Type: DistPareto, Scale: 2 * time.Millisecond, Shape: 1.6})
	want := 2e-3 * 1.6 / 0.6 // xm·α/(α−1)
	if got := d.Mean().Seconds(); math.Abs(got-want) > 1e-9 {
		t.Errorf("Mean() = %v, want %vs", d.Mean(), want)
	}
	heavy := mustBuild(t, DistributionSpec{Type: DistPareto, Scale: 2 * time.Millisecond, Shape: 0.8})
	if heavy.Mean() != math.MaxInt64 || heavy.Quantile(1) != math.MaxInt64 {
		t.Errorf("an infinite mean or maximum must saturate: %v, %v", heavy.Mean(), heavy.Quantile(1))
	}
}

// TestLognormalRoundTrip: a lognormal given by median and p99 has exactly
// that median and p99 (to the nanosecond rounding of durations).
func TestLognormalRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		median := time.Duration(rapid.Int64Range(int64(10*time.Microsecond), int64(10*time.Second)).Draw(rt, "median"))
		ratio := rapid.Float64Range(1.01, 100).Draw(rt, "p99/median")
		p99 := time.Duration(float64(median) * ratio)
		d := mustBuild(rt, DistributionSpec{Type: DistLognormal, Median: median, P99: p99})
		if got := d.Quantile(0.5); absDur(got-median) > 2 {
			rt.Fatalf("median %v, want %v", got, median)
		}
		if got := d.Quantile(0.99); absDur(got-p99) > max(2, p99/1e9) {
			rt.Fatalf("p99 %v, want %v", got, p99)
		}
	})
	// mu and sigma are in ln-seconds: mu = ln(0.02) is a 20ms median.
	d := mustBuild(t, DistributionSpec{Type: DistLognormal, Mu: f64(math.Log(0.02)), Sigma: f64(0.5)})
	if got := d.Quantile(0.5); absDur(got-20*time.Millisecond) > 2 {
		t.Errorf("median %v, want 20ms", got)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// TestSampleMatchesDistuv: Sample is distuv's own sampler fed from the
// caller's generator, draw for draw.
func TestSampleMatchesDistuv(t *testing.T) {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	tests := []struct {
		name string
		spec DistributionSpec
		rand func(src rand.Source) float64
	}{
		{"exponential", testSpecs[1].spec, func(src rand.Source) float64 {
			return distuv.Exponential{Rate: 1 / sec(3*time.Millisecond), Src: src}.Rand()
		}},
		{"uniform", testSpecs[2].spec, func(src rand.Source) float64 {
			return distuv.Uniform{Min: sec(time.Millisecond), Max: sec(6 * time.Millisecond), Src: src}.Rand()
		}},
		{"lognormal", testSpecs[6].spec, func(src rand.Source) float64 {
			return distuv.LogNormal{Mu: -3.9, Sigma: 0.8, Src: src}.Rand()
		}},
		{"pareto", testSpecs[7].spec, func(src rand.Source) float64 {
			return distuv.Pareto{Xm: sec(2 * time.Millisecond), Alpha: 1.6, Src: src}.Rand()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustBuild(t, tt.spec)
			ours := rand.New(rand.NewPCG(5, 6))
			theirs := rand.NewPCG(5, 6)
			for i := range 1000 {
				if got, want := d.Sample(ours), secondsToDuration(tt.rand(theirs)); got != want {
					t.Fatalf("draw %d: %v, distuv %v", i, got, want)
				}
			}
		})
	}
}

func TestSampleDeterministic(t *testing.T) {
	for _, tt := range testSpecs {
		d := mustBuild(t, tt.spec)
		a, b := rand.New(rand.NewPCG(7, 8)), rand.New(rand.NewPCG(7, 8))
		for range 100 {
			if x, y := d.Sample(a), d.Sample(b); x != y {
				t.Fatalf("%s: %v != %v from equal seeds", tt.name, x, y)
			}
		}
	}
}

func TestSampleDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, tt := range testSpecs {
		d := mustBuild(t, tt.spec)
		if allocs := testing.AllocsPerRun(1000, func() { d.Sample(r) }); allocs != 0 {
			t.Errorf("%s: %v allocations per Sample", tt.name, allocs)
		}
	}
}

// TestQuantileProperties: quantiles never decrease, never go negative, and
// q outside [0, 1] (or NaN) is clamped instead of panicking.
func TestQuantileProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tt := testSpecs[rapid.IntRange(0, len(testSpecs)-1).Draw(rt, "spec")]
		d := mustBuild(rt, tt.spec)
		a := rapid.Float64Range(-0.5, 1.5).Draw(rt, "a")
		b := rapid.Float64Range(-0.5, 1.5).Draw(rt, "b")
		if a > b {
			a, b = b, a
		}
		qa, qb := d.Quantile(a), d.Quantile(b)
		if qa > qb || qa < 0 {
			rt.Fatalf("%s: Quantile(%v) = %v, Quantile(%v) = %v", tt.name, a, qa, b, qb)
		}
	})
	for _, tt := range testSpecs {
		d := mustBuild(t, tt.spec)
		if d.Quantile(math.NaN()) != d.Quantile(0) || d.Quantile(-1) != d.Quantile(0) || d.Quantile(2) != d.Quantile(1) {
			t.Errorf("%s: quantiles outside [0, 1] are not clamped", tt.name)
		}
	}
}

func TestEmpiricalExact(t *testing.T) {
	d := mustBuild(t, testSpecs[8].spec)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Millisecond}, {0.25, 1500 * time.Microsecond}, {0.5, 2 * time.Millisecond},
		{0.7, 3 * time.Millisecond}, {0.99, 9 * time.Millisecond}, {1, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := d.Quantile(tt.q); absDur(got-tt.want) > 1 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	// Flat below the first point and above the last.
	flat := mustBuild(t, DistributionSpec{Type: DistEmpirical, Quantiles: []QuantilePoint{{0.5, 10 * time.Millisecond}, {0.9, 30 * time.Millisecond}}})
	if flat.Quantile(0.1) != 10*time.Millisecond || flat.Quantile(0.95) != 30*time.Millisecond {
		t.Error("empirical tails are not flat")
	}
	// Mean: 0.5·10ms + 0.4·20ms + 0.1·30ms = 16ms.
	if got := flat.Mean(); absDur(got-16*time.Millisecond) > 1 {
		t.Errorf("Mean() = %v, want 16ms", got)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		spec DistributionSpec
	}{
		{"unknown type", DistributionSpec{Type: "weibull"}},
		{"exponential without mean", DistributionSpec{Type: DistExponential}},
		{"uniform upside down", DistributionSpec{Type: DistUniform, Min: 5, Max: 1}},
		{"normal without spread", DistributionSpec{Type: DistNormal, Mean: 5}},
		{"lognormal p99 below median", DistributionSpec{Type: DistLognormal, Median: 5, P99: 1}},
		{"lognormal zero sigma", DistributionSpec{Type: DistLognormal, Mu: f64(0), Sigma: f64(0)}},
		{"pareto zero shape", DistributionSpec{Type: DistPareto, Scale: 1}},
		{"empirical empty", DistributionSpec{Type: DistEmpirical}},
		{"empirical decreasing", DistributionSpec{Type: DistEmpirical, Quantiles: []QuantilePoint{{0.5, 2}, {0.9, 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.spec.Build(); err == nil {
				t.Error("built without error")
			}
		})
	}
}

func BenchmarkSample(b *testing.B) {
	for _, tt := range testSpecs {
		b.Run("type="+tt.name, func(b *testing.B) {
			d := mustBuild(b, tt.spec)
			r := rand.New(rand.NewPCG(1, 2))
			var sink time.Duration
			b.ReportAllocs()
			for b.Loop() {
				sink += d.Sample(r)
			}
			_ = sink
		})
	}
}

package scenarios

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Distribution is a distribution of durations, built from a DistributionSpec.
// Sample draws from the caller's generator, so that a simulation seeded the
// same way draws the same values; it does not allocate. Quantile(q) is the
// inverse CDF, with q clamped to [0, 1]. Values beyond the range of
// time.Duration (heavy tails, an infinite mean) saturate at its maximum.
type Distribution interface {
	Sample(r *rand.Rand) time.Duration
	Mean() time.Duration
	Quantile(q float64) time.Duration
}

// z99 is the standard normal's 0.99 quantile, Φ⁻¹(0.99).
const z99 = 2.3263478740408408

// Build returns the distribution the spec describes, or an error when its
// parameters are impossible. Specs from a loaded Plan always build.
//
// Where gonum's distuv has the distribution (exponential, uniform, normal,
// lognormal, pareto), Sample runs distuv's own sampler with the caller's
// *rand.Rand as its Src, and Mean and Quantile are distuv's; a *rand.Rand is
// a rand.Source, and distuv wraps its Src in a rand.Rand that does not
// escape, so sampling stays allocation-free.
func (s DistributionSpec) Build() (Distribution, error) {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	switch s.Type {
	case DistConstant:
		if s.Value < 0 {
			return nil, errors.New("constant: value must not be negative")
		}
		return constant(s.Value), nil
	case DistExponential:
		if s.Mean <= 0 {
			return nil, errors.New("exponential: mean must be greater than 0")
		}
		return exponential{distuv.Exponential{Rate: 1 / sec(s.Mean)}}, nil
	case DistUniform:
		if s.Min < 0 || s.Max < s.Min {
			return nil, errors.New("uniform: need 0 ≤ min ≤ max")
		}
		return uniform{distuv.Uniform{Min: sec(s.Min), Max: sec(s.Max)}}, nil
	case DistNormal:
		if s.Mean < 0 || s.Stddev <= 0 {
			return nil, errors.New("normal: need mean ≥ 0 and stddev > 0")
		}
		return newTruncNormal(sec(s.Mean), sec(s.Stddev)), nil
	case DistLognormal:
		mu, sigma, err := s.lognormalParams()
		if err != nil {
			return nil, err
		}
		return lognormal{distuv.LogNormal{Mu: mu, Sigma: sigma}}, nil
	case DistPareto:
		if s.Scale <= 0 || !(s.Shape > 0) {
			return nil, errors.New("pareto: scale and shape must be greater than 0")
		}
		return pareto{distuv.Pareto{Xm: sec(s.Scale), Alpha: s.Shape}}, nil
	case DistEmpirical:
		return newEmpirical(s.Quantiles)
	}
	return nil, fmt.Errorf("unknown distribution %q", s.Type)
}

// lognormalParams returns mu and sigma of ln(X), X in seconds.
func (s DistributionSpec) lognormalParams() (mu, sigma float64, err error) {
	if s.Mu != nil && s.Sigma != nil {
		if !(*s.Sigma > 0) || math.IsNaN(*s.Mu) || math.IsInf(*s.Mu, 0) {
			return 0, 0, errors.New("lognormal: sigma must be greater than 0 and mu finite")
		}
		return *s.Mu, *s.Sigma, nil
	}
	if s.Median <= 0 || s.P99 <= s.Median {
		return 0, 0, errors.New("lognormal: need 0 < median < p99")
	}
	mu = math.Log(s.Median.Seconds())
	return mu, (math.Log(s.P99.Seconds()) - mu) / z99, nil
}

// clampQ keeps q inside [0, 1]; distuv panics outside it.
func clampQ(q float64) float64 {
	if !(q > 0) { // also NaN
		return 0
	}
	return min(q, 1)
}

// constant always returns its value.
type constant time.Duration

func (c constant) Sample(*rand.Rand) time.Duration { return time.Duration(c) }
func (c constant) Mean() time.Duration             { return time.Duration(c) }
func (c constant) Quantile(float64) time.Duration  { return time.Duration(c) }

// exponential, uniform, lognormal and pareto sample through distuv with the
// caller's generator as Src (see Build).
type exponential struct{ d distuv.Exponential }

func (e exponential) Sample(r *rand.Rand) time.Duration {
	d := e.d
	d.Src = r
	return secondsToDuration(d.Rand())
}
func (e exponential) Mean() time.Duration { return secondsToDuration(e.d.Mean()) }
func (e exponential) Quantile(q float64) time.Duration {
	return secondsToDuration(e.d.Quantile(clampQ(q)))
}

type uniform struct{ d distuv.Uniform }

func (u uniform) Sample(r *rand.Rand) time.Duration {
	d := u.d
	d.Src = r
	return secondsToDuration(d.Rand())
}
func (u uniform) Mean() time.Duration { return secondsToDuration(u.d.Mean()) }
func (u uniform) Quantile(q float64) time.Duration {
	return secondsToDuration(u.d.Quantile(clampQ(q)))
}

type lognormal struct{ d distuv.LogNormal }

func (l lognormal) Sample(r *rand.Rand) time.Duration {
	d := l.d
	d.Src = r
	return secondsToDuration(d.Rand())
}
func (l lognormal) Mean() time.Duration { return secondsToDuration(l.d.Mean()) }
func (l lognormal) Quantile(q float64) time.Duration {
	return secondsToDuration(l.d.Quantile(clampQ(q)))
}

type pareto struct{ d distuv.Pareto }

func (p pareto) Sample(r *rand.Rand) time.Duration {
	d := p.d
	d.Src = r
	return secondsToDuration(d.Rand())
}

// Mean saturates when shape ≤ 1, where the mean is infinite.
func (p pareto) Mean() time.Duration {
	if p.d.Alpha <= 1 {
		return math.MaxInt64
	}
	return secondsToDuration(p.d.Mean())
}
func (p pareto) Quantile(q float64) time.Duration {
	return secondsToDuration(p.d.Quantile(clampQ(q)))
}

// truncNormal is a normal distribution conditioned on X ≥ 0. Sample
// redraws negative values (rejection sampling, at least half of draws are
// accepted since the mean is not negative); Mean and Quantile are the
// truncated distribution's exact ones.
type truncNormal struct {
	d    distuv.Normal
	cut  float64 // Φ(−μ/σ): the probability mass below 0 that is cut off
	mean float64
}

func newTruncNormal(mu, sigma float64) truncNormal {
	n := distuv.Normal{Mu: mu, Sigma: sigma}
	cut := n.CDF(0)
	alpha := -mu / sigma
	std := distuv.UnitNormal
	mean := mu + sigma*std.Prob(alpha)/(1-cut)
	return truncNormal{d: n, cut: cut, mean: mean}
}

func (t truncNormal) Sample(r *rand.Rand) time.Duration {
	d := t.d
	d.Src = r
	for {
		if x := d.Rand(); x >= 0 {
			return secondsToDuration(x)
		}
	}
}
func (t truncNormal) Mean() time.Duration { return secondsToDuration(t.mean) }
func (t truncNormal) Quantile(q float64) time.Duration {
	p := t.cut + clampQ(q)*(1-t.cut)
	if p >= 1 {
		return math.MaxInt64
	}
	return secondsToDuration(max(0, t.d.Quantile(p)))
}

// empirical is a piecewise-linear inverse CDF through the given points.
type empirical struct {
	q []float64
	v []float64 // seconds
}

func newEmpirical(points []QuantilePoint) (empirical, error) {
	if len(points) == 0 {
		return empirical{}, errors.New("empirical: needs at least one point")
	}
	e := empirical{q: make([]float64, len(points)), v: make([]float64, len(points))}
	for i, p := range points {
		if p.Q < 0 || p.Q > 1 || p.Value < 0 || i > 0 && (p.Q <= points[i-1].Q || p.Value < points[i-1].Value) {
			return empirical{}, errors.New("empirical: q must increase within [0,1] and values must not decrease")
		}
		e.q[i], e.v[i] = p.Q, p.Value.Seconds()
	}
	return e, nil
}

func (e empirical) Sample(r *rand.Rand) time.Duration { return e.Quantile(r.Float64()) }

func (e empirical) Quantile(q float64) time.Duration {
	q = clampQ(q)
	i := sort.SearchFloat64s(e.q, q) // first point with e.q[i] ≥ q
	switch {
	case i == 0:
		return secondsToDuration(e.v[0])
	case i == len(e.q):
		return secondsToDuration(e.v[len(e.v)-1])
	}
	f := (q - e.q[i-1]) / (e.q[i] - e.q[i-1])
	return secondsToDuration(e.v[i-1] + f*(e.v[i]-e.v[i-1]))
}

// Mean integrates the inverse CDF: flat below the first point and above the
// last, trapezoids between points.
func (e empirical) Mean() time.Duration {
	n := len(e.q)
	m := e.v[0]*e.q[0] + e.v[n-1]*(1-e.q[n-1])
	for i := 1; i < n; i++ {
		m += (e.q[i] - e.q[i-1]) * (e.v[i] + e.v[i-1]) / 2
	}
	return secondsToDuration(m)
}

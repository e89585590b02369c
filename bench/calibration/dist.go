package calibration

import (
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// Dist is an empirical distribution of a duration, kept as its quantiles
// at fixed probabilities (an HDR histogram's percentiles, or differences of
// two histograms' percentiles, quantile by quantile). The simulator draws
// from it by inverse transform sampling, interpolating linearly between
// the listed quantiles and clamping below P1 and above P999 (so a draw
// never exceeds the largest figure measured at the 99.9th percentile).
type Dist struct {
	P1   *config.Duration `yaml:"p1"`
	P5   *config.Duration `yaml:"p5"`
	P10  *config.Duration `yaml:"p10"`
	P25  *config.Duration `yaml:"p25"`
	P50  *config.Duration `yaml:"p50"`
	P75  *config.Duration `yaml:"p75"`
	P90  *config.Duration `yaml:"p90"`
	P95  *config.Duration `yaml:"p95"`
	P99  *config.Duration `yaml:"p99"`
	P999 *config.Duration `yaml:"p999"`
	// Mean is the measured mean (for reading; sampling uses the
	// quantiles).
	Mean *config.Duration `yaml:"mean"`
}

// Probs are the probabilities of Dist's quantiles, in field order.
var Probs = [...]float64{0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999}

var probNames = [...]string{"p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "p999"}

func (d *Dist) fields() [len(Probs)]**config.Duration {
	return [...]**config.Duration{&d.P1, &d.P5, &d.P10, &d.P25, &d.P50, &d.P75, &d.P90, &d.P95, &d.P99, &d.P999}
}

// NewDist builds a Dist from a quantile function q and a mean; negative
// quantiles (a difference of two noisy measurements) are clamped to 0 and
// the list made non-decreasing.
func NewDist(q func(p float64) time.Duration, mean time.Duration) *Dist {
	d := &Dist{}
	prev := time.Duration(0)
	for i, f := range d.fields() {
		v := max(q(Probs[i]), prev, 0)
		prev = v
		*f = D(v)
	}
	d.Mean = D(max(mean, 0))
	return d
}

// Quantiles returns the listed quantiles in order.
func (d *Dist) Quantiles() [len(Probs)]time.Duration {
	var out [len(Probs)]time.Duration
	for i, f := range d.fields() {
		if *f != nil {
			out[i] = (*f).D()
		}
	}
	return out
}

// Quantile is the distribution's quantile at u in [0, 1], interpolated.
func (d *Dist) Quantile(u float64) time.Duration {
	q := d.Quantiles()
	if u <= Probs[0] {
		return q[0]
	}
	for i := 1; i < len(Probs); i++ {
		if u <= Probs[i] {
			f := (u - Probs[i-1]) / (Probs[i] - Probs[i-1])
			return q[i-1] + time.Duration(f*float64(q[i]-q[i-1]))
		}
	}
	return q[len(q)-1]
}

// Sample draws one duration.
func (d *Dist) Sample(r *rand.Rand) time.Duration { return d.Quantile(r.Float64()) }

func checkDist(bad func(string, string, ...any), path string, d *Dist) {
	if d == nil {
		bad(path, "missing")
		return
	}
	var prev time.Duration
	for i, f := range d.fields() {
		p := path + "." + probNames[i]
		switch v := *f; {
		case v == nil:
			bad(p, "missing")
		case v.D() < 0:
			bad(p, "negative: %s", v)
		case v.D() < prev:
			bad(p, "%s is below the previous quantile %s (quantiles must not decrease)", v, prev)
		default:
			prev = v.D()
		}
	}
	if d.Mean == nil {
		bad(path+".mean", "missing")
	}
}

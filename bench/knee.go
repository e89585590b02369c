package bench

import (
	"math"
	"slices"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// Bounds of a Knee that the steps did not bracket.
const (
	// KneeAbove: the metric stayed within the SLO at every step, so the
	// knee lies above the highest rate offered (Knee.RateRPS is that rate).
	KneeAbove = "above"
	// KneeBelow: the metric was over the SLO from the first step, so the
	// knee lies below the lowest rate offered (Knee.RateRPS is that rate).
	KneeBelow = "below"
)

// Knee is where a run's latency turns: the offered rate at which the
// scenario's first latency SLO on p50, p99 or p99.9 with a max is first
// exceeded, on a load whose offered rate rises in steps (capacity-knee's
// question: at what rate does the mesh stop keeping p99 under its SLO?).
//
// Each step's figure is the median of the per-second buckets' metric
// over the step, its first bucket skipped (the queues are still filling
// or draining from the step before); a bucket without a successful
// request counts as over any bound. The knee is interpolated linearly
// between the last step within the SLO and the first over it, on the
// offered rates. A median of per-second figures rather than the step's
// merged percentile keeps one burst (a GC pause, a neighbour's time
// slice) from moving a step, the way a capacity test reads a plateau.
type Knee struct {
	// Metric is the SLO's latency metric (p50, p99 or p999) and MaxMS its bound.
	Metric string  `json:"metric"`
	MaxMS  float64 `json:"max_ms"`
	// RateRPS is the knee: the offered rate, requests per second, at
	// which Metric crosses MaxMS. With Bound set it is the bound's rate.
	RateRPS float64 `json:"rate_rps"`
	// Bound is KneeAbove or KneeBelow when the steps did not bracket the
	// knee; empty when they did.
	Bound string `json:"bound,omitempty"`
	// Steps are the figures the knee was read from, one per step.
	Steps []KneeStep `json:"steps"`
}

// KneeStep is one step of the offered load and the metric measured over it.
type KneeStep struct {
	// AtS and EndS bound the step on the run's timeline, in seconds.
	AtS  float64 `json:"at_s"`
	EndS float64 `json:"end_s"`
	// RateRPS is the offered rate over the step (every open-loop workload's).
	RateRPS float64 `json:"rate_rps"`
	// ValueMS is the median of the per-second figures; absent when most
	// buckets had no successful request (the step is over any bound).
	ValueMS *float64 `json:"value_ms,omitempty"`
	// Over is true when the step's figure exceeds the SLO's bound.
	Over bool `json:"over"`
}

// EvaluateKnees sets the Knee of every run of sum whose variant's load
// rises in steps, when plan has a latency SLO with a max that applies to
// the run (see Knee); other runs get none.
func EvaluateKnees(plan *scenarios.Plan, sum *Summary) {
	for i := range sum.Runs {
		r := &sum.Runs[i]
		vi := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == r.Variant })
		r.Knee = KneeOf(plan, vi, r.Backend, r.Buckets)
	}
}

// HasKnee reports whether runs of variant vi of plan on backend get a
// knee: plan has a latency SLO with a max for them and their load rises
// in steps.
func HasKnee(plan *scenarios.Plan, vi int, backend string) bool {
	if _, ok := kneeSLO(plan, vi, backend); !ok {
		return false
	}
	return len(OfferedSteps(plan.ForVariant(vi))) > 0
}

// KneeOf is the knee (see Knee) of a run of variant vi of plan on backend
// whose per-second buckets are buckets, or nil when plan has no latency SLO
// with a max for the run or its load does not rise in steps. A sweep's
// reducer, which keeps no Summary, reads its knee here.
func KneeOf(plan *scenarios.Plan, vi int, backend string, buckets []Bucket) *Knee {
	slo, ok := kneeSLO(plan, vi, backend)
	if !ok {
		return nil
	}
	return kneeOf(OfferedSteps(plan.ForVariant(vi)), slo, buckets)
}

// kneeSLO is the first SLO of plan on p50, p99 or p999 with a max that
// applies to runs of variant vi on backend and to all of their requests
// (the knee is read from the run's per-second buckets, which do not split
// by workload).
func kneeSLO(plan *scenarios.Plan, vi int, backend string) (scenarios.SLO, bool) {
	variant := ""
	if vi >= 0 && vi < len(plan.Variants) {
		variant = plan.Variants[vi].Name
	}
	for _, s := range plan.SLO {
		switch s.Metric {
		case scenarios.MetricP50, scenarios.MetricP99, scenarios.MetricP999:
		default:
			continue
		}
		if s.Max != nil && s.Workload == "" && s.Applies(variant, backend) {
			return s, true
		}
	}
	return scenarios.SLO{}, false
}

// OfferedSteps splits plan's timeline into the spans over which its
// offered rate (the sum of every open-loop workload's) is constant, and
// returns them when that rate rises from span to span: at least two
// spans, each faster than the one before, the spans before the load
// starts and after it ends left out. It returns nil for a load that does
// not rise in steps: a ramp or a sine, a closed-loop workload (whose rate
// is not offered but depends on latency), a single rate, or a rate that
// falls back.
func OfferedSteps(plan *scenarios.Plan) []KneeStep {
	var cuts []time.Duration
	for _, w := range plan.Load {
		if w.Users != nil || w.Shape == nil {
			return nil
		}
		switch w.Shape.Type {
		case scenarios.ShapeConstant:
		case scenarios.ShapeStep:
			for _, st := range w.Shape.Steps {
				cuts = append(cuts, w.Start+st.At)
			}
		default:
			return nil
		}
		cuts = append(cuts, w.Start, w.Start+w.For)
	}
	cuts = append(cuts, 0, plan.Duration)
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var steps []KneeStep
	for i := 0; i+1 < len(cuts); i++ {
		at, end := cuts[i], cuts[i+1]
		if at < 0 || end > plan.Duration {
			continue
		}
		rate := 0.0
		for _, w := range plan.Load {
			rate += w.RateAt(at)
		}
		if n := len(steps); n > 0 && steps[n-1].RateRPS == rate && steps[n-1].EndS == at.Seconds() {
			steps[n-1].EndS = end.Seconds()
			continue
		}
		steps = append(steps, KneeStep{AtS: at.Seconds(), EndS: end.Seconds(), RateRPS: rate})
	}
	for len(steps) > 0 && steps[0].RateRPS == 0 {
		steps = steps[1:]
	}
	for len(steps) > 0 && steps[len(steps)-1].RateRPS == 0 {
		steps = steps[:len(steps)-1]
	}
	if len(steps) < 2 {
		return nil
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].RateRPS <= steps[i-1].RateRPS {
			return nil
		}
	}
	return steps
}

// kneeOf reads the knee of one run from its buckets over steps, or nil
// when there are no steps or a step has no whole bucket.
func kneeOf(steps []KneeStep, slo scenarios.SLO, buckets []Bucket) *Knee {
	if len(steps) == 0 {
		return nil
	}
	_, t := slo.Bound()
	k := &Knee{Metric: slo.Metric, MaxMS: round(t.Value*1000, 4), Steps: slices.Clone(steps)}
	for i := range k.Steps {
		st := &k.Steps[i]
		var vals []float64
		for _, b := range buckets {
			if b.WidthS <= 0 || b.StartS < st.AtS-1e-9 || b.StartS+b.WidthS > st.EndS+1e-9 {
				continue
			}
			v := math.Inf(1)
			if b.Successes > 0 {
				v = bucketMetric(b, slo.Metric)
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			return nil
		}
		if len(vals) > 1 {
			vals = vals[1:] // the step's first bucket: the transition
		}
		v := median(vals)
		if !math.IsInf(v, 1) {
			v = round(v, 3)
			st.ValueMS = &v
		}
		st.Over = v > k.MaxMS
	}
	first := slices.IndexFunc(k.Steps, func(s KneeStep) bool { return s.Over })
	switch first {
	case -1:
		k.Bound, k.RateRPS = KneeAbove, k.Steps[len(k.Steps)-1].RateRPS
	case 0:
		k.Bound, k.RateRPS = KneeBelow, k.Steps[0].RateRPS
	default:
		lo, hi := k.Steps[first-1], k.Steps[first]
		f := 1.0 // over with no successful request: the knee is at the step
		if hi.ValueMS != nil {
			f = (k.MaxMS - *lo.ValueMS) / (*hi.ValueMS - *lo.ValueMS)
		}
		k.RateRPS = round(lo.RateRPS+(hi.RateRPS-lo.RateRPS)*f, 1)
	}
	return k
}

// bucketMetric is a bucket's figure for a latency metric (p50, p99, p999).
func bucketMetric(b Bucket, metric string) float64 {
	switch metric {
	case scenarios.MetricP50:
		return b.P50MS
	case scenarios.MetricP999:
		return b.P999MS
	}
	return b.P99MS
}

// median of vs (not empty); it sorts vs.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

package sweep

import (
	"sort"

	"github.com/meshbench/meshbench/bench/tune"
)

// MetricNames lists the metrics a Row holds, in the order files write them.
var MetricNames = []string{
	MetricP50, MetricP99, MetricP999, MetricAvailability, MetricErrorRate, MetricThroughput,
	MetricRequests, MetricRejected, MetricRetries, MetricHedges, MetricExtraLoad,
	MetricFaultP99, MetricFaultAvailability, MetricKnee,
}

// Maximised reports whether a larger value of metric is better
// (availability, throughput, the knee); every other metric is minimised.
func Maximised(metric string) bool {
	return metric == MetricAvailability || metric == MetricThroughput || metric == MetricFaultAvailability || metric == MetricKnee
}

// Interval is a metric's mean over a point's repeats with its 95%
// confidence interval (Student's t; Lo = Hi = Mean with one repeat).
type Interval = tune.Interval

// Estimate is the mean of xs with its 95% confidence interval.
func Estimate(xs []float64) Interval { return tune.Estimate(xs) }

// PointSummary is one point over its repeats.
type PointSummary struct {
	Point  int                `json:"point"`
	Params map[string]string  `json:"params"`
	X      map[string]float64 `json:"x"`
	// Metrics are each metric's mean and interval over the repeats that ran
	// without error.
	Metrics map[string]Interval `json:"metrics"`
	// Feasible is the share of repeats whose SLOs all passed (0..1).
	Feasible float64 `json:"feasible"`
	Repeats  int     `json:"repeats"`
	Errors   int     `json:"errors"`
	// Error is the first repeat's error, when every repeat failed.
	Error string `json:"error,omitempty"`
}

// Summarize groups rows by point, in point order.
func Summarize(rows []Row) []PointSummary {
	by := map[int][]Row{}
	for _, r := range rows {
		by[r.Point] = append(by[r.Point], r)
	}
	out := make([]PointSummary, 0, len(by))
	for p, rs := range by {
		ps := PointSummary{Point: p, Params: rs[0].Params, X: rs[0].X, Metrics: map[string]Interval{}}
		values := map[string][]float64{}
		feasible := 0
		for _, r := range rs {
			if r.Error != "" {
				ps.Errors++
				if ps.Error == "" {
					ps.Error = r.Error
				}
				continue
			}
			ps.Repeats++
			if r.Feasible {
				feasible++
			}
			for k, v := range r.Metrics {
				values[k] = append(values[k], v)
			}
		}
		if ps.Repeats > 0 {
			ps.Error = ""
			ps.Feasible = float64(feasible) / float64(ps.Repeats)
		}
		for k, xs := range values {
			ps.Metrics[k] = Estimate(xs)
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Point < out[j].Point })
	return out
}

// Best orders the points that ran by metric, best first (maximised
// metrics descending); points all of whose repeats met the SLOs come
// before the others, and points without the metric last.
func Best(points []PointSummary, metric string) []PointSummary {
	out := append([]PointSummary(nil), points...)
	key := func(p PointSummary) (int, float64) {
		iv, ok := p.Metrics[metric]
		if !ok || p.Repeats == 0 {
			return 2, 0
		}
		v := iv.Mean
		if Maximised(metric) {
			v = -v
		}
		if p.Feasible < 1 {
			return 1, v
		}
		return 0, v
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, vi := key(out[i])
		cj, vj := key(out[j])
		return ci < cj || ci == cj && vi < vj
	})
	return out
}

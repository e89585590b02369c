package reports

import (
	"fmt"
	"math"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/meshbench/meshbench/bench"
)

// Group is the repeats of one backend × variant, in repeat order.
type Group struct {
	Key  bench.RunKey
	Runs []bench.RunSummary
}

// Label names the group as reports print it: "sim / peak-ewma".
func (g Group) Label() string { return g.Key.Backend + " / " + g.Key.Variant }

// Groups splits a summary's runs by backend × variant, in order of first
// appearance (summary.json lists backend, then variant, then repeat).
func Groups(s *bench.Summary) []Group {
	var out []Group
	at := map[bench.RunKey]int{}
	for _, r := range s.Runs {
		k := bench.RunKey{Backend: r.Backend, Variant: r.Variant}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Group{Key: k})
		}
		out[i].Runs = append(out[i].Runs, r)
	}
	for i := range out {
		sort.SliceStable(out[i].Runs, func(a, b int) bool { return out[i].Runs[a].Repeat < out[i].Runs[b].Repeat })
	}
	return out
}

// Stat is a metric over a group's repeats: the median and the range.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// statOf computes a metric over runs; runs that failed outright (Requests
// 0) are left out because their zero latencies would mislead.
func statOf(runs []bench.RunSummary, f func(bench.RunSummary) float64) Stat {
	var vals []float64
	for _, r := range runs {
		if r.Requests == 0 {
			continue
		}
		vals = append(vals, f(r))
	}
	if len(vals) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	sort.Float64s(vals)
	n := len(vals)
	med := vals[n/2]
	if n%2 == 0 {
		med = (vals[n/2-1] + vals[n/2]) / 2
	}
	return Stat{Median: med, Min: vals[0], Max: vals[n-1], N: n}
}

// Totals is a group's repeats added up, for tables: counts are sums,
// availability is over all requests, and the other metrics are medians of
// the repeats.
type Totals struct {
	Repeats    int
	Requests   int64
	Successes  int64
	Retries    int64
	Errors     map[string]int64
	P50        Stat
	P90        Stat
	P99        Stat
	P999       Stat
	Mean       Stat
	Throughput Stat
	// SLOPassed and SLOTotal count verdicts over all repeats.
	SLOPassed, SLOTotal int
	Partial             bool
	Failed              []string // errors of repeats that failed
}

// Availability is successes over requests of all repeats (NaN when no
// request was made).
func (t Totals) Availability() float64 {
	if t.Requests == 0 {
		return math.NaN()
	}
	return float64(t.Successes) / float64(t.Requests)
}

// SLOPass reports whether every verdict passed.
func (t Totals) SLOPass() bool { return t.SLOPassed == t.SLOTotal }

// Totals adds up the group's repeats.
func (g Group) Totals() Totals {
	t := Totals{Repeats: len(g.Runs), Errors: map[string]int64{}}
	for _, r := range g.Runs {
		t.Requests += r.Requests
		t.Successes += r.Successes
		t.Retries += r.Retries
		for k, n := range r.Errors {
			t.Errors[k] += n
		}
		for _, v := range r.SLO {
			t.SLOTotal++
			if v.Pass {
				t.SLOPassed++
			}
		}
		t.Partial = t.Partial || r.Partial
		if r.Error != "" {
			t.Failed = append(t.Failed, fmt.Sprintf("repeat %d: %s", r.Repeat, r.Error))
		}
	}
	t.P50 = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.LatencyMS.P50 })
	t.P90 = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.LatencyMS.P90 })
	t.P99 = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.LatencyMS.P99 })
	t.P999 = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.LatencyMS.P999 })
	t.Mean = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.LatencyMS.Mean })
	t.Throughput = statOf(g.Runs, func(r bench.RunSummary) float64 { return r.ThroughputRPS })
	return t
}

// Histogram merges the latency histograms of the group's repeats: the
// distribution over all of them. It returns nil when no repeat recorded a
// successful request.
func (g Group) Histogram() (*hdr.Histogram, error) {
	var merged *hdr.Histogram
	for _, r := range g.Runs {
		if r.LatencyHDR == "" {
			continue
		}
		h, err := bench.DecodeHistogram(r.LatencyHDR)
		if err != nil {
			return nil, fmt.Errorf("%s repeat %d: %w", g.Label(), r.Repeat, err)
		}
		if h.TotalCount() == 0 {
			continue
		}
		if merged == nil {
			merged = h
			continue
		}
		merged.Merge(h)
	}
	return merged, nil
}

// availabilityStat is the per-repeat availability spread.
func (g Group) availabilityStat() Stat {
	return statOf(g.Runs, func(r bench.RunSummary) float64 { return r.Availability })
}

func groupKeys(gs []Group) []bench.RunKey {
	out := make([]bench.RunKey, len(gs))
	for i, g := range gs {
		out[i] = g.Key
	}
	return out
}

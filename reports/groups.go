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
	Hedges     int64
	Errors     map[string]int64
	P50        Stat
	P90        Stat
	P99        Stat
	P999       Stat
	Mean       Stat
	Throughput Stat
	// LagP99 is the p99 schedule lag of the repeats that sent open-loop
	// requests (N 0 when none did: closed loop, or an older summary), and
	// Untrusted counts the repeats marked untrustworthy.
	LagP99    Stat
	Untrusted int
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

// SLOText says how many SLO verdicts were met, "2 of 3 met", marked ✅
// when all were and ❌ when not; "—" when there are none.
func (t Totals) SLOText() string {
	if t.SLOTotal == 0 {
		return noValue
	}
	mark := "✅"
	if !t.SLOPass() {
		mark = "❌"
	}
	return fmt.Sprintf("%s %d of %d met", mark, t.SLOPassed, t.SLOTotal)
}

// SLOPass reports whether every verdict passed.
func (t Totals) SLOPass() bool { return t.SLOPassed == t.SLOTotal }

// Totals adds up the group's repeats.
func (g Group) Totals() Totals {
	t := totalsOf(g.Runs, func(r bench.RunSummary) (bench.Stats, bool) { return r.Stats, true })
	for _, r := range g.Runs {
		t.Retries += r.Retries
		t.Hedges += r.Hedges
		for _, v := range r.SLO {
			t.SLOTotal++
			if v.Pass {
				t.SLOPassed++
			}
		}
		t.Partial = t.Partial || r.Partial
		if r.Untrustworthy != "" {
			t.Untrusted++
		}
		if r.Error != "" {
			t.Failed = append(t.Failed, fmt.Sprintf("repeat %d: %s", r.Repeat, r.Error))
		}
	}
	return t
}

// totalsOf adds up the Stats that pick reads from each repeat; repeats
// where it finds none are left out.
func totalsOf(runs []bench.RunSummary, pick func(bench.RunSummary) (bench.Stats, bool)) Totals {
	t := Totals{Errors: map[string]int64{}}
	var picked []bench.RunSummary
	for _, r := range runs {
		st, ok := pick(r)
		if !ok {
			continue
		}
		t.Repeats++
		t.Requests += st.Requests
		t.Successes += st.Successes
		for k, n := range st.Errors {
			t.Errors[k] += n
		}
		picked = append(picked, bench.RunSummary{Stats: st})
	}
	t.P50 = statOf(picked, func(r bench.RunSummary) float64 { return r.LatencyMS.P50 })
	t.P90 = statOf(picked, func(r bench.RunSummary) float64 { return r.LatencyMS.P90 })
	t.P99 = statOf(picked, func(r bench.RunSummary) float64 { return r.LatencyMS.P99 })
	t.P999 = statOf(picked, func(r bench.RunSummary) float64 { return r.LatencyMS.P999 })
	t.Mean = statOf(picked, func(r bench.RunSummary) float64 { return r.LatencyMS.Mean })
	t.Throughput = statOf(picked, func(r bench.RunSummary) float64 { return r.ThroughputRPS })
	var lagged []bench.RunSummary
	for _, r := range picked {
		if r.ScheduleLag != nil {
			lagged = append(lagged, r)
		}
	}
	t.LagP99 = statOf(lagged, func(r bench.RunSummary) float64 { return r.ScheduleLag.P99MS })
	return t
}

// Breakdowns of a run's statistics (bench.RunSummary's Routes, Workloads
// and Instances).
const (
	ByRoute    = "route"
	ByWorkload = "workload"
	ByInstance = "instance"
)

// breakdown returns run r's statistics by kind (ByRoute, ByWorkload,
// ByInstance).
func breakdown(r bench.RunSummary, kind string) map[string]bench.Stats {
	switch kind {
	case ByRoute:
		return r.Routes
	case ByWorkload:
		return r.Workloads
	case ByInstance:
		return r.Instances
	}
	return nil
}

// Parts lists the names of the group's routes, workloads or instances
// (kind ByRoute, ByWorkload, ByInstance) in natural order; none for a
// summary written before the breakdowns existed.
func (g Group) Parts(kind string) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range g.Runs {
		for k := range breakdown(r, kind) {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	return names
}

// PartTotals adds up one route's, workload's or instance's statistics over
// the group's repeats.
func (g Group) PartTotals(kind, name string) Totals {
	return totalsOf(g.Runs, func(r bench.RunSummary) (bench.Stats, bool) {
		st, ok := breakdown(r, kind)[name]
		return st, ok
	})
}

// PartHistogram merges one route's, workload's or instance's latency
// histograms over the group's repeats; nil when none recorded a success.
func (g Group) PartHistogram(kind, name string) (*hdr.Histogram, error) {
	var merged *hdr.Histogram
	for _, r := range g.Runs {
		st, ok := breakdown(r, kind)[name]
		if !ok || st.LatencyHDR == "" {
			continue
		}
		h, err := bench.DecodeHistogram(st.LatencyHDR)
		if err != nil {
			return nil, fmt.Errorf("%s repeat %d %s %s: %w", g.Label(), r.Repeat, kind, name, err)
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

// Histogram merges the latency histograms of the group's repeats: the
// distribution over all of them. It returns nil when no repeat recorded a
// successful request.
func (g Group) Histogram() (*hdr.Histogram, error) {
	return bench.MergedHistogram(g.Runs)
}

// availabilityStat is the per-repeat availability spread.
// CPUCores is the cores the group's repeats used after their warm-up
// (bench.CPU), over the repeats that measured them; N is 0 when none did.
func (g Group) CPUCores() Stat {
	vals := make([]float64, 0, len(g.Runs))
	for _, r := range g.Runs {
		if r.CPU != nil {
			vals = append(vals, r.CPU.Cores)
		}
	}
	return statOfValues(vals)
}

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

package sweep

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// faultBucket is the width of the time buckets whose overlap with a fault
// window selects the requests fault_* metrics describe (bench's default
// bucket width, so the figures match a run's time series).
const faultBucket = bench.DefaultBucketWidth

// reducer is the sink of one run: it keeps the few counts and the latency
// histograms a Row needs and nothing per route, workload, instance or
// bucket, so a sweep's memory does not grow with its runs. A worker
// reuses one reducer for all its runs.
type reducer struct {
	warmup     time.Duration
	inFault    []bool // by faultBucket index: does the bucket overlap a fault
	requests   int64
	successes  int64
	rejected   int64
	retries    int64
	hedges     int64
	hist       *hdr.Histogram
	fRequests  int64
	fSuccesses int64
	fHist      *hdr.Histogram
	// knee is set when the plan's load rises in steps under a latency
	// SLO (bench.OfferedSteps): the per-second buckets the knee is read
	// from, as a run's (bench.KneeOf); nil otherwise.
	knee      []kneeBucket
	kneeHists []*hdr.Histogram // the buckets' histograms, reused from run to run
	// workloads are the requests of each workload an SLO names (after
	// the warm-up), for that SLO's verdict; empty when no SLO names one.
	workloads map[string]*workloadTally
}

// workloadTally is one workload's requests, for the SLOs that name it.
type workloadTally struct {
	requests, successes int64
	hist                *hdr.Histogram
}

// kneeSigFigs is the precision of a run's time buckets (bench), so that a
// sweep's knee is the knee `meshbench run` reports for the same run.
const kneeSigFigs = 2

// kneeBucket is one second of a run, for its knee: successful requests
// and their latency, with the precision of a run's buckets.
type kneeBucket struct {
	successes int64
	hist      *hdr.Histogram
}

func newReducer() *reducer {
	return &reducer{
		hist:  hdr.New(1, int64(time.Hour/time.Microsecond), 3),
		fHist: hdr.New(1, int64(time.Hour/time.Microsecond), 3),
	}
}

// reset readies the reducer for a run of plan.
func (r *reducer) reset(plan *scenarios.Plan) {
	r.warmup = plan.Warmup
	r.requests, r.successes, r.rejected, r.retries, r.hedges = 0, 0, 0, 0, 0
	r.fRequests, r.fSuccesses = 0, 0
	r.hist.Reset()
	r.fHist.Reset()
	r.inFault = r.inFault[:0]
	n := int((plan.Duration + faultBucket - 1) / faultBucket)
	for range n {
		r.inFault = append(r.inFault, false)
	}
	r.knee = r.knee[:0]
	if bench.HasKnee(plan, 0, scenarios.BackendSim) {
		for i := range n {
			if i == len(r.kneeHists) {
				r.kneeHists = append(r.kneeHists, hdr.New(1, int64(time.Hour/time.Microsecond), kneeSigFigs))
			}
			r.kneeHists[i].Reset()
			r.knee = append(r.knee, kneeBucket{hist: r.kneeHists[i]})
		}
	}
	for k := range r.workloads {
		if !slices.ContainsFunc(plan.SLO, func(s scenarios.SLO) bool { return s.Workload == k }) {
			delete(r.workloads, k)
		}
	}
	for _, s := range plan.SLO {
		if s.Workload == "" {
			continue
		}
		if r.workloads == nil {
			r.workloads = map[string]*workloadTally{}
		}
		w, ok := r.workloads[s.Workload]
		if !ok {
			w = &workloadTally{hist: hdr.New(1, int64(time.Hour/time.Microsecond), 3)}
			r.workloads[s.Workload] = w
		}
		w.requests, w.successes = 0, 0
		w.hist.Reset()
	}
	for _, f := range plan.Faults {
		from, to := faultWindow(f, plan.Duration)
		for b := int(from / faultBucket); b < n && time.Duration(b)*faultBucket < to; b++ {
			r.inFault[b] = true
		}
	}
}

// faultWindow is when a fault is active: from at for its for (to the end
// when 0); a restart for its downtime (at least the instant it happens).
func faultWindow(f scenarios.Fault, end time.Duration) (from, to time.Duration) {
	from = f.At
	switch {
	case f.Action == scenarios.ActionRestart:
		to = f.At + max(f.Downtime, time.Nanosecond)
	case f.For > 0:
		to = f.At + f.For
	default:
		to = end
	}
	return from, min(to, end)
}

func latencyUS(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), 1), int64(time.Hour/time.Microsecond))
}

// Record reduces one request.
func (r *reducer) Record(res bench.Result) {
	ok := res.OK()
	if b := int(res.Start / faultBucket); res.Start >= 0 && b < len(r.inFault) && r.inFault[b] {
		r.fRequests++
		if ok {
			r.fSuccesses++
			_ = r.fHist.RecordValue(latencyUS(res.Latency))
		}
	}
	if b := int(res.Start / faultBucket); ok && res.Start >= 0 && b < len(r.knee) {
		r.knee[b].successes++
		_ = r.knee[b].hist.RecordValue(latencyUS(res.Latency))
	}
	if res.Start < r.warmup {
		return
	}
	r.requests++
	r.retries += int64(res.Retries)
	r.hedges += int64(res.Hedges)
	switch res.Kind {
	case bench.KindOK:
		r.successes++
		_ = r.hist.RecordValue(latencyUS(res.Latency))
	case bench.KindStatus429, bench.KindBreakerOpen, bench.KindQueueFull, bench.KindNoEndpoint:
		r.rejected++
	}
	if w := r.workloads[res.Workload]; w != nil {
		w.requests++
		if ok {
			w.successes++
			_ = w.hist.RecordValue(latencyUS(res.Latency))
		}
	}
}

// latencyOf is a histogram's figures (µs) in ms, rounded as bench rounds
// summaries; zero for an empty one.
func latencyOf(h *hdr.Histogram) bench.Latency {
	if h.TotalCount() == 0 {
		return bench.Latency{}
	}
	return bench.Latency{
		Mean: math.Round(h.Mean()/1000*1e4) / 1e4,
		P50:  ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
}

// ms is a histogram value (µs) in ms, rounded as bench rounds summaries.
func ms(us int64) float64 { return math.Round(float64(us)/1000*1e4) / 1e4 }

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// fill writes the run's metrics into row and judges the plan's SLOs as
// bench judges a run's, over the window from warmup to end.
func (r *reducer) fill(row *Row, plan *scenarios.Plan, variant string, end time.Duration) {
	m := make(map[string]float64, 13)
	window := (end - r.warmup).Seconds()
	m[MetricRequests] = float64(r.requests)
	m[MetricRetries] = float64(r.retries)
	m[MetricHedges] = float64(r.hedges)
	rs := bench.RunSummary{Backend: scenarios.BackendSim, Variant: variant, Retries: r.retries, Hedges: r.hedges}
	rs.Requests, rs.Successes = r.requests, r.successes
	if r.requests > 0 {
		rs.Availability = round6(float64(r.successes) / float64(r.requests))
		m[MetricAvailability] = rs.Availability
		m[MetricErrorRate] = round6(1 - rs.Availability)
		m[MetricRejected] = round6(float64(r.rejected) / float64(r.requests))
		m[MetricExtraLoad] = round6(float64(r.retries+r.hedges) / float64(r.requests))
	}
	if window > 0 {
		rs.ThroughputRPS = math.Round(float64(r.successes)/window*1e3) / 1e3
		m[MetricThroughput] = rs.ThroughputRPS
	}
	if r.hist.TotalCount() > 0 {
		rs.LatencyMS = latencyOf(r.hist)
		m[MetricP50], m[MetricP99], m[MetricP999] = rs.LatencyMS.P50, rs.LatencyMS.P99, rs.LatencyMS.P999
	}
	if len(plan.Faults) > 0 {
		if r.fRequests > 0 {
			m[MetricFaultAvailability] = round6(float64(r.fSuccesses) / float64(r.fRequests))
		}
		if r.fHist.TotalCount() > 0 {
			m[MetricFaultP99] = ms(r.fHist.ValueAtQuantile(99))
		}
	}
	if len(r.knee) > 0 {
		if k := bench.KneeOf(plan, 0, scenarios.BackendSim, r.kneeBuckets()); k != nil && k.Bound != bench.KneeBelow {
			// Above the highest step the knee is at least that step's
			// rate; below the lowest it has no figure (see MetricKnee).
			m[MetricKnee] = k.RateRPS
		}
	}
	if len(r.workloads) > 0 {
		rs.Workloads = make(map[string]bench.Stats, len(r.workloads))
		for k, w := range r.workloads {
			st := bench.Stats{Requests: w.requests, Successes: w.successes, LatencyMS: latencyOf(w.hist)}
			if w.requests > 0 {
				st.Availability = round6(float64(w.successes) / float64(w.requests))
			}
			if window > 0 {
				st.ThroughputRPS = math.Round(float64(w.successes)/window*1e3) / 1e3
			}
			rs.Workloads[k] = st
		}
	}
	sum := bench.Summary{Runs: []bench.RunSummary{rs}}
	row.Feasible = bench.EvaluateSLOs(plan, &sum)
	row.Metrics = m
}

// kneeBuckets are the run's per-second buckets as a run's Summary has
// them, with the figures a knee reads.
func (r *reducer) kneeBuckets() []bench.Bucket {
	out := make([]bench.Bucket, len(r.knee))
	w := faultBucket.Seconds()
	for i, b := range r.knee {
		out[i] = bench.Bucket{StartS: float64(i) * w, WidthS: w, Successes: b.successes}
		if b.hist.TotalCount() > 0 {
			out[i].P50MS, out[i].P99MS, out[i].P999MS = ms(b.hist.ValueAtQuantile(50)), ms(b.hist.ValueAtQuantile(99)), ms(b.hist.ValueAtQuantile(99.9))
		}
	}
	return out
}

// runOne runs repeat r of a point's plan on backend and reduces it to row.
func (r *reducer) runOne(ctx context.Context, backend bench.Backend, plan *scenarios.Plan, repeat int, seed uint64, row *Row) error {
	r.reset(plan)
	out, err := backend.Run(ctx, bench.Job{Plan: plan, Variant: 0, Repeat: repeat, Seed: seed}, r)
	if err != nil {
		return err
	}
	if out.End < plan.Duration {
		return fmt.Errorf("the run stopped at %s of %s", out.End, plan.Duration)
	}
	r.fill(row, plan, plan.Variants[0].Name, plan.Duration)
	return nil
}

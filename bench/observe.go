package bench

import (
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// Observer watches a run as it goes: the live dashboard (`run --serve`)
// draws from it. It sees the same time buckets the report plots, and the
// same SLO judgement, so the page and the report cannot disagree.
//
// Its methods are called from the backends' goroutines (several at once
// when a Parallel backend runs jobs concurrently), in the path that records
// results: they must be quick, or deliberately slow — a dashboard that
// replays the simulator at real-time pace does so by sleeping in Bucket.
type Observer interface {
	// Bucket is told a job's time bucket (job is the index in Jobs order)
	// once results have started a whole bucket past its end, so that only
	// requests slower than a bucket width can still change it. soFar holds
	// the job's totals since the warm-up up to that point, without the
	// histogram encoding, with its SLO verdicts; Buckets and PerInstance
	// are left empty.
	Bucket(job, index int, b Bucket, soFar RunSummary)
	// Done is told a job's final summary, buckets and SLO verdicts
	// included: what summary.json will hold for it.
	Done(job int, rs RunSummary)
}

// observedSink records into an aggregator and tells an observer each time
// bucket once the results have moved a bucket past it. Per result it costs
// one comparison beyond the aggregator's own work.
type observedSink struct {
	agg   *Aggregator
	obs   Observer
	job   int
	plan  *scenarios.Plan
	meta  RunSummary    // backend, variant, repeat and seed: the SLOs' scope
	next  time.Duration // a result starting at or after next tells more
	flush int           // buckets [0, flush) have been told
}

// Record adds r to the aggregator and tells the observer the buckets that
// r's start leaves a whole bucket behind.
func (o *observedSink) Record(r Result) {
	o.agg.Record(r)
	if r.Start >= o.next {
		o.tell(r.Start)
	}
}

// tell reports buckets up to the one a whole bucket before start.
func (o *observedSink) tell(start time.Duration) {
	w := o.agg.bucketWidth
	upTo := int(start/w) - 1 // buckets [flush, upTo) are a bucket behind
	if upTo > len(o.agg.buckets) {
		upTo = len(o.agg.buckets)
	}
	if upTo > o.flush {
		soFar := o.agg.soFar(start)
		soFar.Backend, soFar.Variant, soFar.Repeat, soFar.Seed = o.meta.Backend, o.meta.Variant, o.meta.Repeat, o.meta.Seed
		judgeRun(o.plan, &soFar)
		for i := o.flush; i < upTo; i++ {
			o.obs.Bucket(o.job, i, o.agg.bucket(i), soFar)
		}
		o.flush = upTo
	}
	o.next = time.Duration(o.flush+2) * w
}

// soFar summarises the aggregator's totals, and each workload's share of
// them (for SLOs on one workload), over the window from the warm-up to
// now, cheaply: percentiles, counts and rates only.
func (a *Aggregator) soFar(now time.Duration) RunSummary {
	window := now - a.warmup
	s := RunSummary{Stats: a.total.soFar(window), Retries: a.retries, Hedges: a.hedges}
	if window > 0 {
		s.DurationS = window.Seconds()
	}
	if len(a.workloads) > 0 {
		s.Workloads = make(map[string]Stats, len(a.workloads))
		for k, w := range a.workloads {
			s.Workloads[k] = w.soFar(window)
		}
	}
	return s
}

// soFar is s over a window still open: no histogram encoding, no error
// breakdown.
func (s *statsAgg) soFar(window time.Duration) Stats {
	st := Stats{Requests: s.requests, Successes: s.successes, LatencyMS: latencyOf(s.hist)}
	if window > 0 {
		st.ThroughputRPS = round(float64(s.successes)/window.Seconds(), 3)
	}
	if st.Requests > 0 {
		st.Availability = round(float64(st.Successes)/float64(st.Requests), 6)
	}
	return st
}

// judgeRun fills r.SLO with the verdicts of plan's SLOs that apply to r,
// as EvaluateSLOs does for a whole summary.
func judgeRun(plan *scenarios.Plan, r *RunSummary) {
	one := Summary{Runs: []RunSummary{*r}}
	EvaluateSLOs(plan, &one)
	*r = one.Runs[0]
}

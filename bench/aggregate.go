package bench

import (
	"fmt"
	"math"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds between 1µs and one hour. Longer
// latencies are clamped to the maximum, so a stuck request still counts.
const (
	minLatencyUS = 1
	maxLatencyUS = int64(time.Hour / time.Microsecond)
	// The whole-run histogram keeps three significant digits (0.1% error); the
	// per-bucket ones two (1%), which is plenty for a time-series plot and keeps
	// a long run's buckets small.
	runSigFigs    = 3
	bucketSigFigs = 2
	// DefaultBucketWidth is the width of the time buckets of a run.
	DefaultBucketWidth = time.Second
)

// Aggregator reduces a stream of results for one backend × variant × repeat to
// a RunSummary. Memory depends on the run's duration (one small histogram per
// time bucket) and on the number of routes, workloads and instances (one
// histogram each), never on the number of requests.
//
// Results that start before the warm-up ends appear in the time buckets (so a
// plot shows the warm-up) but not in the totals.
type Aggregator struct {
	warmup      time.Duration
	bucketWidth time.Duration
	maxLag      time.Duration

	total       statsAgg
	retries     int64
	hedges      int64
	perInstance map[string]int64
	routes      map[string]*statsAgg
	workloads   map[string]*statsAgg
	instances   map[string]*statsAgg
	buckets     []*bucketAgg
	lastStart   time.Duration
}

// statsAgg accumulates one Stats: the run's totals, or one route's,
// workload's or instance's.
type statsAgg struct {
	requests  int64
	successes int64
	errors    [numKinds]int64
	hist      *hdr.Histogram
	lag       *hdr.Histogram // open-loop requests' schedule lag (µs); nil until one
}

func newStatsAgg() *statsAgg {
	return &statsAgg{hist: hdr.New(minLatencyUS, maxLatencyUS, runSigFigs)}
}

func (s *statsAgg) record(r Result, us int64) {
	s.requests++
	s.errors[r.Kind]++
	if r.OK() {
		s.successes++
		_ = s.hist.RecordValue(us)
	}
	if r.Scheduled {
		if s.lag == nil {
			s.lag = hdr.New(minLatencyUS, maxLatencyUS, runSigFigs)
		}
		_ = s.lag.RecordValue(lagUS(r.Lag))
	}
}

// stats summarises the accumulated requests over a measured window.
func (s *statsAgg) stats(window time.Duration) (Stats, error) {
	st := Stats{Requests: s.requests, Successes: s.successes, Errors: map[string]int64{}}
	for k := Kind(1); k < numKinds; k++ {
		if n := s.errors[k]; n > 0 {
			st.Errors[k.String()] = n
		}
	}
	if window > 0 {
		st.ThroughputRPS = round(float64(s.successes)/window.Seconds(), 3)
	}
	if s.requests > 0 {
		st.Availability = round(float64(s.successes)/float64(s.requests), 6)
	}
	st.LatencyMS = latencyOf(s.hist)
	enc, err := s.hist.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return Stats{}, fmt.Errorf("encode latency histogram: %w", err)
	}
	st.LatencyHDR = string(enc) // already base64, HdrHistogram's V2 compressed form
	if s.lag != nil && s.lag.TotalCount() > 0 {
		st.ScheduleLag = &ScheduleLag{
			Requests: s.lag.TotalCount(),
			P50MS:    ms(s.lag.ValueAtQuantile(50)),
			P99MS:    ms(s.lag.ValueAtQuantile(99)),
			MaxMS:    ms(s.lag.Max()),
		}
	}
	return st, nil
}

type bucketAgg struct {
	requests  int64
	successes int64
	retries   int64
	hedges    int64
	hist      *hdr.Histogram
}

// NewAggregator returns an aggregator that ignores results starting before
// warmup in its totals and buckets time by width (DefaultBucketWidth if 0).
// Runs whose p99 schedule lag exceeds DefaultMaxScheduleLag are marked
// untrustworthy; SetMaxScheduleLag changes the bound.
func NewAggregator(warmup, width time.Duration) *Aggregator {
	if width <= 0 {
		width = DefaultBucketWidth
	}
	return &Aggregator{
		warmup:      warmup,
		bucketWidth: width,
		maxLag:      DefaultMaxScheduleLag,
		total:       *newStatsAgg(),
		perInstance: make(map[string]int64),
		routes:      make(map[string]*statsAgg),
		workloads:   make(map[string]*statsAgg),
		instances:   make(map[string]*statsAgg),
	}
}

// SetMaxScheduleLag sets the bound on the run's p99 schedule lag past
// which Summarize marks it untrustworthy; d <= 0 restores the default.
func (a *Aggregator) SetMaxScheduleLag(d time.Duration) {
	if d <= 0 {
		d = DefaultMaxScheduleLag
	}
	a.maxLag = d
}

func latencyUS(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if us < minLatencyUS {
		return minLatencyUS
	}
	if us > maxLatencyUS {
		return maxLatencyUS
	}
	return us
}

// lagUS is a schedule lag in µs; unlike a latency it may be 0 (on time).
func lagUS(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), 0), maxLatencyUS)
}

func keyed(m map[string]*statsAgg, key string) *statsAgg {
	s := m[key]
	if s == nil {
		s = newStatsAgg()
		m[key] = s
	}
	return s
}

// Record adds one result.
func (a *Aggregator) Record(r Result) {
	us := latencyUS(r.Latency)
	if r.Start > a.lastStart {
		a.lastStart = r.Start
	}
	if r.Start >= 0 {
		i := int(r.Start / a.bucketWidth)
		for len(a.buckets) <= i {
			a.buckets = append(a.buckets, nil)
		}
		b := a.buckets[i]
		if b == nil {
			b = &bucketAgg{hist: hdr.New(minLatencyUS, maxLatencyUS, bucketSigFigs)}
			a.buckets[i] = b
		}
		b.requests++
		b.retries += int64(r.Retries)
		b.hedges += int64(r.Hedges)
		if r.OK() {
			b.successes++
			// Only successful answers describe the latency a client gets;
			// a fast 503 must not make a brown-out look quick.
			_ = b.hist.RecordValue(us)
		}
	}
	if r.Start < a.warmup {
		return
	}
	a.total.record(r, us)
	a.retries += int64(r.Retries)
	a.hedges += int64(r.Hedges)
	route := r.Route
	if route == "" {
		route = NoRoute
	}
	keyed(a.routes, route).record(r, us)
	if r.Workload != "" {
		keyed(a.workloads, r.Workload).record(r, us)
	}
	if r.Instance != "" {
		a.perInstance[r.Instance]++
		// The lag happened before any instance was chosen: an instance's
		// stats keep outcomes and latencies only.
		r.Scheduled = false
		keyed(a.instances, r.Instance).record(r, us)
	}
}

// Summarize returns the run's summary. end is when the run's load stopped
// (the scenario's duration, or less for an interrupted run); the measured
// window is end − warmup.
func (a *Aggregator) Summarize(end time.Duration) (RunSummary, error) {
	window := end - a.warmup
	total, err := a.total.stats(window)
	if err != nil {
		return RunSummary{}, err
	}
	s := RunSummary{
		Stats:       total,
		Retries:     a.retries,
		Hedges:      a.hedges,
		PerInstance: map[string]int64{},
	}
	for id, n := range a.perInstance {
		s.PerInstance[id] = n
	}
	if window > 0 {
		s.DurationS = window.Seconds()
	}
	for _, by := range []struct {
		from map[string]*statsAgg
		to   *map[string]Stats
	}{{a.routes, &s.Routes}, {a.workloads, &s.Workloads}, {a.instances, &s.Instances}} {
		if len(by.from) == 0 {
			continue
		}
		*by.to = make(map[string]Stats, len(by.from))
		for k, agg := range by.from {
			st, err := agg.stats(window)
			if err != nil {
				return RunSummary{}, fmt.Errorf("%s: %w", k, err)
			}
			(*by.to)[k] = st
		}
	}
	if lag := s.ScheduleLag; lag != nil {
		lag.BoundP99MS = round(a.maxLag.Seconds()*1000, 4)
		lag.Exceeded = lag.P99MS > lag.BoundP99MS
		if lag.Exceeded {
			s.Untrustworthy = fmt.Sprintf("the load generator fell behind its schedule: schedule lag p99 %s ms > bound %s ms, so the load offered was not the scenario's (latencies still count from the intended send times)",
				strconv.FormatFloat(lag.P99MS, 'f', -1, 64), strconv.FormatFloat(lag.BoundP99MS, 'f', -1, 64))
		}
	}
	for i := range a.buckets {
		if start := time.Duration(i) * a.bucketWidth; start >= end && end > 0 {
			break
		}
		s.Buckets = append(s.Buckets, a.bucket(i))
	}
	return s, nil
}

// bucket summarises time bucket i as it stands.
func (a *Aggregator) bucket(i int) Bucket {
	start := time.Duration(i) * a.bucketWidth
	bs := Bucket{StartS: start.Seconds(), WidthS: a.bucketWidth.Seconds()}
	b := a.buckets[i]
	if b == nil {
		return bs
	}
	bs.Requests = b.requests
	bs.Successes = b.successes
	bs.Retries = b.retries
	bs.Hedges = b.hedges
	bs.ThroughputRPS = round(float64(b.successes)/a.bucketWidth.Seconds(), 3)
	if b.requests > 0 {
		bs.Availability = round(float64(b.successes)/float64(b.requests), 6)
	}
	if b.hist.TotalCount() > 0 {
		bs.P50MS = ms(b.hist.ValueAtQuantile(50))
		bs.P99MS = ms(b.hist.ValueAtQuantile(99))
		bs.P999MS = ms(b.hist.ValueAtQuantile(99.9))
	}
	return bs
}

func latencyOf(h *hdr.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Mean: round(h.Mean()/1000, 4),
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

// DecodeHistogram restores a run's latency histogram (microseconds) from
// RunSummary.LatencyHDR.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode latency histogram: %w", err)
	}
	return h, nil
}

func ms(us int64) float64 { return round(float64(us)/1000, 4) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

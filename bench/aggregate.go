package bench

import (
	"fmt"
	"math"
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
// time bucket) and on the number of instances, never on the number of
// requests.
//
// Results that start before the warm-up ends appear in the time buckets (so a
// plot shows the warm-up) but not in the totals.
type Aggregator struct {
	warmup      time.Duration
	bucketWidth time.Duration

	hist        *hdr.Histogram
	requests    int64
	successes   int64
	errors      [numKinds]int64
	retries     int64
	hedges      int64
	perInstance map[string]int64
	buckets     []*bucketAgg
	lastStart   time.Duration
}

type bucketAgg struct {
	requests  int64
	successes int64
	retries   int64
	hist      *hdr.Histogram
}

// NewAggregator returns an aggregator that ignores results starting before
// warmup in its totals and buckets time by width (DefaultBucketWidth if 0).
func NewAggregator(warmup, width time.Duration) *Aggregator {
	if width <= 0 {
		width = DefaultBucketWidth
	}
	return &Aggregator{
		warmup:      warmup,
		bucketWidth: width,
		hist:        hdr.New(minLatencyUS, maxLatencyUS, runSigFigs),
		perInstance: make(map[string]int64),
	}
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
	a.requests++
	a.errors[r.Kind]++
	a.retries += int64(r.Retries)
	a.hedges += int64(r.Hedges)
	if r.OK() {
		a.successes++
		_ = a.hist.RecordValue(us)
	}
	if r.Instance != "" {
		a.perInstance[r.Instance]++
	}
}

// Summarize returns the run's summary. end is when the run's load stopped
// (the scenario's duration, or less for an interrupted run); the measured
// window is end − warmup.
func (a *Aggregator) Summarize(end time.Duration) (RunSummary, error) {
	s := RunSummary{
		Requests:    a.requests,
		Successes:   a.successes,
		Errors:      map[string]int64{},
		Retries:     a.retries,
		Hedges:      a.hedges,
		PerInstance: map[string]int64{},
	}
	for k := Kind(1); k < numKinds; k++ {
		if n := a.errors[k]; n > 0 {
			s.Errors[k.String()] = n
		}
	}
	for id, n := range a.perInstance {
		s.PerInstance[id] = n
	}
	window := end - a.warmup
	if window > 0 {
		s.DurationS = window.Seconds()
		s.ThroughputRPS = round(float64(a.successes)/window.Seconds(), 3)
	}
	if a.requests > 0 {
		s.Availability = round(float64(a.successes)/float64(a.requests), 6)
	}
	s.LatencyMS = latencyOf(a.hist)
	enc, err := a.hist.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return RunSummary{}, fmt.Errorf("encode latency histogram: %w", err)
	}
	s.LatencyHDR = string(enc) // already base64, HdrHistogram's V2 compressed form
	for i, b := range a.buckets {
		start := time.Duration(i) * a.bucketWidth
		if start >= end && end > 0 {
			break
		}
		bs := Bucket{StartS: start.Seconds(), WidthS: a.bucketWidth.Seconds()}
		if b != nil {
			bs.Requests = b.requests
			bs.Successes = b.successes
			bs.Retries = b.retries
			bs.ThroughputRPS = round(float64(b.successes)/a.bucketWidth.Seconds(), 3)
			if b.requests > 0 {
				bs.Availability = round(float64(b.successes)/float64(b.requests), 6)
			}
			if b.hist.TotalCount() > 0 {
				bs.P50MS = ms(b.hist.ValueAtQuantile(50))
				bs.P99MS = ms(b.hist.ValueAtQuantile(99))
				bs.P999MS = ms(b.hist.ValueAtQuantile(99.9))
			}
		}
		s.Buckets = append(s.Buckets, bs)
	}
	return s, nil
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

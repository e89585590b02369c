package bench

import (
	"errors"
	"fmt"
	"maps"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Partial is what an Aggregator holds, in a form that crosses a network and
// merges exactly: counts, and the histograms in HdrHistogram's base64 V2
// compressed encoding, the one summary.json's latency_hdr uses. A load
// agent aggregates its own results and sends Partials; the controller
// merges them into the run's sink, which then summarises N agents as one
// aggregator fed every agent's results would have: counts add, and
// histograms of one configuration merge bucket for bucket, so every
// percentile, mean and maximum comes out the same.
//
// Buckets are by index (Start / BucketWidth); only buckets with requests
// are listed. Warmup and BucketWidth must match the aggregator a Partial
// is merged into.
type Partial struct {
	WarmupNS      int64 `json:"warmup_ns"`
	BucketWidthNS int64 `json:"bucket_width_ns"`
	// LastStartNS is the latest result start seen (ns from the run's zero).
	LastStartNS int64 `json:"last_start_ns"`

	Total       PartialStats            `json:"total"`
	Retries     int64                   `json:"retries"`
	Hedges      int64                   `json:"hedges"`
	PerInstance map[string]int64        `json:"per_instance,omitempty"`
	Routes      map[string]PartialStats `json:"routes,omitempty"`
	Workloads   map[string]PartialStats `json:"workloads,omitempty"`
	Instances   map[string]PartialStats `json:"instances,omitempty"`
	Buckets     []PartialBucket         `json:"buckets,omitempty"`
}

// PartialStats is one statsAgg: the totals', a route's, a workload's or an
// instance's counts and histograms.
type PartialStats struct {
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	// Errors counts failed requests by kind name (Kind.String).
	Errors map[string]int64 `json:"errors,omitempty"`
	// LatencyHDR is the successes' latency histogram (µs); "" when empty.
	LatencyHDR string `json:"latency_hdr,omitempty"`
	// LagHDR is the open-loop requests' schedule lag (µs); "" when none.
	LagHDR string `json:"lag_hdr,omitempty"`
}

// PartialBucket is one time bucket of a Partial.
type PartialBucket struct {
	Index      int    `json:"i"`
	Requests   int64  `json:"requests"`
	Successes  int64  `json:"successes"`
	Retries    int64  `json:"retries,omitempty"`
	Hedges     int64  `json:"hedges,omitempty"`
	LatencyHDR string `json:"latency_hdr,omitempty"`
}

// Merger is implemented by every Sink that Run hands to a backend (the
// Aggregator, the observed sink and the results-file spool), so that a
// backend whose results are aggregated elsewhere (load agents) may assert
// sink.(Merger) and merge their Partials instead of recording Results.
// Merge is called from one goroutine at a time, never concurrently with
// Record.
type Merger interface {
	Merge(p *Partial) error
}

var (
	_ Merger = (*Aggregator)(nil)
	_ Merger = (*observedSink)(nil)
	_ Merger = (*spool)(nil)
)

// maxPartialBuckets bounds the bucket index a Partial may carry (a week of
// one-second buckets), so that a corrupt frame cannot make Merge allocate
// without bound.
const maxPartialBuckets = 7 * 24 * 3600

// Partial returns what a holds as a Partial. It fails only when a
// histogram cannot be encoded.
func (a *Aggregator) Partial() (*Partial, error) {
	p := &Partial{
		WarmupNS:      int64(a.warmup),
		BucketWidthNS: int64(a.bucketWidth),
		LastStartNS:   int64(a.lastStart),
		Retries:       a.retries,
		Hedges:        a.hedges,
	}
	var err error
	if p.Total, err = a.total.partial(); err != nil {
		return nil, err
	}
	if len(a.perInstance) > 0 {
		p.PerInstance = maps.Clone(a.perInstance)
	}
	for _, by := range []struct {
		from map[string]*statsAgg
		to   *map[string]PartialStats
	}{{a.routes, &p.Routes}, {a.workloads, &p.Workloads}, {a.instances, &p.Instances}} {
		if len(by.from) == 0 {
			continue
		}
		*by.to = make(map[string]PartialStats, len(by.from))
		for k, s := range by.from {
			ps, err := s.partial()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			(*by.to)[k] = ps
		}
	}
	for i, b := range a.buckets {
		if b == nil || b.requests == 0 {
			continue
		}
		pb := PartialBucket{Index: i, Requests: b.requests, Successes: b.successes, Retries: b.retries, Hedges: b.hedges}
		if pb.LatencyHDR, err = encodeHist(b.hist); err != nil {
			return nil, fmt.Errorf("bucket %d: %w", i, err)
		}
		p.Buckets = append(p.Buckets, pb)
	}
	return p, nil
}

func (s *statsAgg) partial() (PartialStats, error) {
	ps := PartialStats{Requests: s.requests, Successes: s.successes}
	for k := Kind(1); k < numKinds; k++ {
		if n := s.errors[k]; n > 0 {
			if ps.Errors == nil {
				ps.Errors = map[string]int64{}
			}
			ps.Errors[k.String()] = n
		}
	}
	var err error
	if ps.LatencyHDR, err = encodeHist(s.hist); err != nil {
		return PartialStats{}, err
	}
	if s.lag != nil {
		if ps.LagHDR, err = encodeHist(s.lag); err != nil {
			return PartialStats{}, err
		}
	}
	return ps, nil
}

// encodeHist is h in the V2 compressed encoding, "" when h is empty.
func encodeHist(h *hdr.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return "", nil
	}
	enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(enc), nil
}

// mergeHist adds the encoded histogram enc into *into, creating it with
// sigFigs when nil. The encoding must have the aggregator's own range and
// precision, so that every count lands in the bucket it came from.
func mergeHist(into **hdr.Histogram, enc string, sigFigs int64) error {
	if enc == "" {
		return nil
	}
	h, err := hdr.Decode([]byte(enc))
	if err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	if h.SignificantFigures() != sigFigs || h.LowestTrackableValue() != minLatencyUS || h.HighestTrackableValue() != maxLatencyUS {
		return fmt.Errorf("histogram of range %d..%d µs at %d significant figures, want %d..%d at %d",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), minLatencyUS, maxLatencyUS, sigFigs)
	}
	if *into == nil {
		*into = hdr.New(minLatencyUS, maxLatencyUS, int(sigFigs))
	}
	if dropped := (*into).Merge(h); dropped > 0 {
		return fmt.Errorf("histogram merge dropped %d values", dropped)
	}
	return nil
}

// Merge adds p to what a holds, exactly: after merging the Partials of N
// aggregators fed disjoint results, a summarises as one aggregator fed all
// of them. p must have a's warm-up and bucket width. On error a may hold
// part of p.
func (a *Aggregator) Merge(p *Partial) error {
	if p == nil {
		return nil
	}
	if time.Duration(p.WarmupNS) != a.warmup || time.Duration(p.BucketWidthNS) != a.bucketWidth {
		return fmt.Errorf("merge: partial aggregate has warm-up %s and bucket width %s, want %s and %s",
			time.Duration(p.WarmupNS), time.Duration(p.BucketWidthNS), a.warmup, a.bucketWidth)
	}
	for _, b := range p.Buckets {
		if b.Index < 0 || b.Index >= maxPartialBuckets {
			return fmt.Errorf("merge: bucket index %d out of range", b.Index)
		}
	}
	if last := time.Duration(p.LastStartNS); last > a.lastStart {
		a.lastStart = last
	}
	if err := a.total.merge(p.Total); err != nil {
		return fmt.Errorf("merge: totals: %w", err)
	}
	a.retries += p.Retries
	a.hedges += p.Hedges
	for id, n := range p.PerInstance {
		a.perInstance[id] += n
	}
	for _, by := range []struct {
		from map[string]PartialStats
		to   map[string]*statsAgg
		what string
	}{{p.Routes, a.routes, "route"}, {p.Workloads, a.workloads, "workload"}, {p.Instances, a.instances, "instance"}} {
		for k, ps := range by.from {
			if err := keyed(by.to, k).merge(ps); err != nil {
				return fmt.Errorf("merge: %s %q: %w", by.what, k, err)
			}
		}
	}
	for _, pb := range p.Buckets {
		for len(a.buckets) <= pb.Index {
			a.buckets = append(a.buckets, nil)
		}
		b := a.buckets[pb.Index]
		if b == nil {
			b = &bucketAgg{hist: hdr.New(minLatencyUS, maxLatencyUS, bucketSigFigs)}
			a.buckets[pb.Index] = b
		}
		b.requests += pb.Requests
		b.successes += pb.Successes
		b.retries += pb.Retries
		b.hedges += pb.Hedges
		if err := mergeHist(&b.hist, pb.LatencyHDR, bucketSigFigs); err != nil {
			return fmt.Errorf("merge: bucket %d: %w", pb.Index, err)
		}
	}
	return nil
}

func (s *statsAgg) merge(ps PartialStats) error {
	s.requests += ps.Requests
	s.successes += ps.Successes
	for name, n := range ps.Errors {
		k, err := ParseKind(name)
		if err != nil {
			return err
		}
		s.errors[k] += n
	}
	if err := mergeHist(&s.hist, ps.LatencyHDR, runSigFigs); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if err := mergeHist(&s.lag, ps.LagHDR, runSigFigs); err != nil {
		return fmt.Errorf("schedule lag: %w", err)
	}
	return nil
}

// Merge adds p to the aggregator and tells the observer the buckets that
// p's latest start leaves a whole bucket behind. With several agents'
// Partials arriving at their own pace, a bucket told may still grow by a
// slower agent's later Partial: the dashboard may show it short by up to
// one frame interval, while the final summary (Done) holds everything.
func (o *observedSink) Merge(p *Partial) error {
	err := o.agg.Merge(p)
	if p != nil && time.Duration(p.LastStartNS) >= o.next {
		o.tell(time.Duration(p.LastStartNS))
	}
	return err
}

// errMergedRecords is the results file's error when a backend merged
// Partials into a run that writes per-request records for it: merged
// aggregates hold no requests to write.
var errMergedRecords = errors.New("results file: the backend merged partial aggregates, which hold no per-request records; results.bin lacks its requests")

// Merge passes p on to the job's sink. The results file cannot hold
// p's requests one by one, so the spool fails with errMergedRecords
// (the summary keeps them): a backend that merges should write its own
// records (RawRecorder) or say it has none.
func (s *spool) Merge(p *Partial) error {
	m, ok := s.sink.(Merger)
	if !ok {
		return fmt.Errorf("merge: sink %T cannot merge partial aggregates", s.sink)
	}
	if err := m.Merge(p); err != nil {
		return err
	}
	if s.err == nil {
		s.err = errMergedRecords
	}
	return nil
}

// PartialLayout is implemented by the sinks Run hands to backends: the
// warm-up and time-bucket width that Partials merged into them must have
// (a load agent aggregates with the same, bench/agent).
type PartialLayout interface {
	Layout() (warmup, bucketWidth time.Duration)
}

var (
	_ PartialLayout = (*Aggregator)(nil)
	_ PartialLayout = (*observedSink)(nil)
	_ PartialLayout = (*spool)(nil)
)

// Layout is a's warm-up and bucket width.
func (a *Aggregator) Layout() (warmup, bucketWidth time.Duration) { return a.warmup, a.bucketWidth }

// Layout is the aggregator's.
func (o *observedSink) Layout() (warmup, bucketWidth time.Duration) { return o.agg.Layout() }

// Layout is the job's sink's, or the plan's warm-up and the default width
// when the sink has none.
func (s *spool) Layout() (warmup, bucketWidth time.Duration) {
	if l, ok := s.sink.(PartialLayout); ok {
		return l.Layout()
	}
	return 0, DefaultBucketWidth
}

package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// randomResults draws n results over a run of duration d: every kind,
// several routes, workloads and instances, retries and hedges, open-loop
// requests with a schedule lag and closed-loop ones, latencies from 1µs to
// past the histograms' hour, and some starting before zero's bucket of the
// warm-up, all from seed.
func randomResults(seed uint64, n int, d time.Duration) []Result {
	rng := rand.New(rand.NewPCG(seed, 0x7061727469616c))
	routes := []string{"pay", "status", ""}
	workloads := []string{"checkout", "lookup", ""}
	instances := []string{"payments[0]", "payments[1]", "payments[2]", ""}
	rs := make([]Result, n)
	for i := range rs {
		r := Result{
			Start:    time.Duration(rng.Int64N(int64(d))),
			Kind:     Kind(rng.IntN(int(numKinds))),
			Route:    routes[rng.IntN(len(routes))],
			Workload: workloads[rng.IntN(len(workloads))],
			Instance: instances[rng.IntN(len(instances))],
		}
		if r.Kind != KindOK && rng.IntN(3) == 0 {
			r.Kind = KindOK
		}
		switch rng.IntN(20) {
		case 0:
			r.Latency = time.Duration(rng.Int64N(int64(2 * time.Hour))) // past the histograms' range
		case 1:
			r.Latency = time.Duration(rng.Int64N(int64(time.Microsecond))) // below it
		default:
			// log-uniform between 100µs and 10s
			r.Latency = time.Duration(float64(100*time.Microsecond) * math.Pow(10, rng.Float64()*5))
		}
		if rng.IntN(4) > 0 {
			r.Scheduled = true
			r.Lag = time.Duration(rng.Int64N(int64(30 * time.Millisecond)))
		}
		r.Retries = uint16(rng.IntN(3))
		r.Hedges = uint16(rng.IntN(2))
		if r.OK() {
			r.Status = 200
		}
		rs[i] = r
	}
	return rs
}

// agentPartials plays agent a of n: it records the results given it
// (every n-th, from a), taking a Partial every interval of start time and
// starting afresh, as bench/agent's server does, and returns the Partials
// as they come out of a JSON round trip.
func agentPartials(t *testing.T, results []Result, a, n int, warmup, width, interval time.Duration) []*Partial {
	t.Helper()
	var out []*Partial
	agg := NewAggregator(warmup, width)
	next := interval
	take := func() {
		p, err := agg.Partial()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Partial
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		out = append(out, &back)
		agg = NewAggregator(warmup, width)
	}
	for i := a; i < len(results); i += n {
		r := results[i]
		for r.Start >= next {
			take()
			next += interval
		}
		agg.Record(r)
	}
	take()
	return out
}

// TestMergedPartialsEqualOneAggregator is the distributed load's exactness
// check: N agents each aggregate their share of a Result stream and send
// Partials every interval; merged, they give the very RunSummary one
// aggregator fed the whole stream gives, on every field, buckets and
// histogram encodings included.
func TestMergedPartialsEqualOneAggregator(t *testing.T) {
	const d = 8 * time.Second
	for _, tc := range []struct {
		name                    string
		agents, n               int
		warmup, width, interval time.Duration
		maxLag                  time.Duration
	}{
		{"one agent", 1, 2000, 2 * time.Second, time.Second, 2 * time.Second, 0},
		{"three agents", 3, 6000, 2 * time.Second, time.Second, 2 * time.Second, 0},
		{"four agents, intervals across buckets", 4, 6000, 3 * time.Second, 2 * time.Second, 1500 * time.Millisecond, 0},
		{"two agents, no warm-up, lag bound exceeded", 2, 3000, 0, 500 * time.Millisecond, 3 * time.Second, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results := randomResults(uint64(tc.n+tc.agents), tc.n, d)
			sortByStart(results)

			one := NewAggregator(tc.warmup, tc.width)
			one.SetMaxScheduleLag(tc.maxLag)
			for _, r := range results {
				one.Record(r)
			}
			want, err := one.Summarize(d)
			if err != nil {
				t.Fatal(err)
			}

			merged := NewAggregator(tc.warmup, tc.width)
			merged.SetMaxScheduleLag(tc.maxLag)
			// Interleave the agents' Partials as frames arrive.
			streams := make([][]*Partial, tc.agents)
			for a := range streams {
				streams[a] = agentPartials(t, results, a, tc.agents, tc.warmup, tc.width, tc.interval)
			}
			for k := 0; ; k++ {
				more := false
				for a := range streams {
					if k < len(streams[a]) {
						more = true
						if err := merged.Merge(streams[a][k]); err != nil {
							t.Fatal(err)
						}
					}
				}
				if !more {
					break
				}
			}
			got, err := merged.Summarize(d)
			if err != nil {
				t.Fatal(err)
			}
			if got.Requests == 0 || len(got.Buckets) == 0 || len(got.Routes) != 3 || got.ScheduleLag == nil {
				t.Fatalf("the test's results exercise too little: %+v", got.Stats)
			}
			if tc.maxLag > 0 && got.Untrustworthy == "" {
				t.Error("lag bound exceeded but the merged run is not marked untrustworthy")
			}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("merged summary differs from one aggregator's:\n%s", firstDiff(string(gj), string(wj)))
			}
		})
	}
}

func sortByStart(rs []Result) {
	slices.SortStableFunc(rs, func(a, b Result) int { return cmp.Compare(a.Start, b.Start) })
}

// firstDiff shows the first lines where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			lo := max(i-3, 0)
			return "merged:\n" + strings.Join(al[lo:min(i+3, len(al))], "\n") + "\none aggregator:\n" + strings.Join(bl[lo:min(i+3, len(bl))], "\n")
		}
	}
	return "lengths differ"
}

// TestMergeRefusesAnotherLayout checks that Partials of another warm-up or
// bucket width, or of another histogram precision, are refused rather than
// merged into the wrong buckets.
func TestMergeRefusesAnotherLayout(t *testing.T) {
	src := NewAggregator(time.Second, time.Second)
	src.Record(Result{Start: 2 * time.Second, Latency: time.Millisecond})
	p, err := src.Partial()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewAggregator(2*time.Second, time.Second).Merge(p); err == nil || !strings.Contains(err.Error(), "warm-up") {
		t.Errorf("other warm-up: %v", err)
	}
	if err := NewAggregator(time.Second, 2*time.Second).Merge(p); err == nil || !strings.Contains(err.Error(), "bucket width") {
		t.Errorf("other bucket width: %v", err)
	}
	bad := *p
	bad.Total.LatencyHDR = p.Buckets[0].LatencyHDR // two significant figures, not three
	if err := NewAggregator(time.Second, time.Second).Merge(&bad); err == nil || !strings.Contains(err.Error(), "significant figures") {
		t.Errorf("other precision: %v", err)
	}
	bad = *p
	bad.Buckets = []PartialBucket{{Index: -1}}
	if err := NewAggregator(time.Second, time.Second).Merge(&bad); err == nil {
		t.Error("negative bucket index merged")
	}
	bad = *p
	bad.Total.Errors = map[string]int64{"melted": 1}
	if err := NewAggregator(time.Second, time.Second).Merge(&bad); err == nil || !strings.Contains(err.Error(), "melted") {
		t.Errorf("unknown kind: %v", err)
	}
}

// mergingBackend stands for a backend whose load agents aggregate: it
// sends its results as two Partials through the sink's Merger.
type mergingBackend struct{}

func (mergingBackend) Name() string { return "partial-merging" }

func (mergingBackend) Run(ctx context.Context, job Job, sink Sink) (Outcome, error) {
	m, ok := sink.(Merger)
	if !ok {
		return Outcome{}, errNotMerger
	}
	warmup, width := sink.(PartialLayout).Layout()
	for a := range 2 {
		agg := NewAggregator(warmup, width)
		steadyBackend{}.Run(ctx, job, shareSink{agg, a})
		p, err := agg.Partial()
		if err != nil {
			return Outcome{}, err
		}
		if err := m.Merge(p); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{End: job.Plan.Duration}, nil
}

// shareSink keeps every other result, from a.
type shareSink struct {
	agg *Aggregator
	a   int
}

func (s shareSink) Record(r Result) {
	if int(r.Start/(10*time.Millisecond))%2 == s.a {
		s.agg.Record(r)
	}
}

var errNotMerger = errorString("the sink is not a bench.Merger")

type errorString string

func (e errorString) Error() string { return string(e) }

func init() { Register(mergingBackend{}) }

// TestRunSinksMerge checks that the sinks Run hands to backends merge
// Partials (the aggregator, the observed sink), with the same summary and
// the same buckets told to the observer as when the results are recorded,
// and that the results-file spool says it cannot write merged requests.
func TestRunSinksMerge(t *testing.T) {
	plan, err := scenarios.LoadBytes("steady.yaml", []byte(`apiVersion: meshbench/v1
kind: Scenario
name: steady
duration: 6s
warmup: 1s
backends: [sim]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, rate: 100/s}
`))
	if err != nil {
		t.Fatal(err)
	}
	summaries := map[string]*Summary{}
	observers := map[string]*recordingObserver{}
	for _, b := range []string{"observe-steady", "partial-merging"} {
		obs := &recordingObserver{buckets: map[int][]told{}, done: map[int]RunSummary{}}
		sum, err := Run(context.Background(), plan, RunOptions{Backends: []string{b}, Observe: obs, BucketWidth: 500 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		summaries[b], observers[b] = sum, obs
	}
	rec, mer := summaries["observe-steady"].Runs[0], summaries["partial-merging"].Runs[0]
	mer.Backend = rec.Backend
	if !reflect.DeepEqual(rec, mer) {
		t.Errorf("merged run differs from the recorded one:\n%+v\n%+v", mer, rec)
	}
	if got := len(observers["partial-merging"].buckets[0]); got == 0 {
		t.Error("the observer was told no bucket of the merged run")
	}

	_, err = Run(context.Background(), plan, RunOptions{Backends: []string{"partial-merging"}, Dir: t.TempDir(), Results: true})
	if err == nil || !strings.Contains(err.Error(), "no per-request records") {
		t.Errorf("results file of a merged run: %v, want the spool's refusal", err)
	}
}

// BenchmarkAgentFrame is one agent's frame of a second at 1,000 requests a
// second: the Partial of the interval's results, encoded to JSON, and its
// merge on the controller. It reports the frame's size.
func BenchmarkAgentFrame(b *testing.B) {
	results := randomResults(1, 1000, time.Second)
	var size int
	for b.Loop() {
		agg := NewAggregator(0, time.Second)
		for _, r := range results {
			agg.Record(r)
		}
		p, err := agg.Partial()
		if err != nil {
			b.Fatal(err)
		}
		raw, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
		var back Partial
		if err := json.Unmarshal(raw, &back); err != nil {
			b.Fatal(err)
		}
		if err := NewAggregator(0, time.Second).Merge(&back); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "frame-bytes")
}

// FuzzMergePartial: a Partial read off the network, whatever its bytes,
// merges or is refused with an error; it never panics or leaves the
// aggregator unable to summarise.
func FuzzMergePartial(f *testing.F) {
	agg := NewAggregator(time.Second, time.Second)
	for _, r := range randomResults(3, 30, 4*time.Second) {
		agg.Record(r)
	}
	p, err := agg.Partial()
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	f.Add(raw)
	f.Add([]byte(`{"warmup_ns":1000000000,"bucket_width_ns":1000000000,"total":{"latency_hdr":"HISTFAAAA"}}`))
	f.Add([]byte(`{"warmup_ns":1000000000,"bucket_width_ns":1000000000,"buckets":[{"i":3,"requests":-5}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p Partial
		if json.Unmarshal(raw, &p) != nil {
			return
		}
		into := NewAggregator(time.Second, time.Second)
		_ = into.Merge(&p)
		if _, err := into.Summarize(4 * time.Second); err != nil {
			t.Fatalf("summarise after merge: %v", err)
		}
	})
}

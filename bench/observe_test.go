package bench

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// steadyBackend answers 100 requests a second, each in 5ms, one in ten
// with a retry and one in twenty hedged, and records them in start order.
type steadyBackend struct{}

func (steadyBackend) Name() string { return "observe-steady" }

func (steadyBackend) Run(ctx context.Context, job Job, sink Sink) (Outcome, error) {
	for i := 0; time.Duration(i)*10*time.Millisecond < job.Plan.Duration; i++ {
		r := Result{Start: time.Duration(i) * 10 * time.Millisecond, Latency: 5 * time.Millisecond}
		if i%10 == 0 {
			r.Retries = 1
		}
		if i%20 == 0 {
			r.Hedges = 1
		}
		sink.Record(r)
	}
	return Outcome{End: job.Plan.Duration}, nil
}

func init() { Register(steadyBackend{}) }

type told struct {
	index int
	b     Bucket
	soFar RunSummary
}

type recordingObserver struct {
	mu      sync.Mutex
	buckets map[int][]told
	done    map[int]RunSummary
}

func (o *recordingObserver) Bucket(job, index int, b Bucket, soFar RunSummary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buckets[job] = append(o.buckets[job], told{index, b, soFar})
}

func (o *recordingObserver) Done(job int, rs RunSummary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done[job] = rs
}

// TestObserverSeesTheReportsBuckets checks that an observer is told every
// bucket but the last one or two while the run goes, once each and in
// order, with the figures summary.json ends with, and each job's final
// summary with the same SLO verdicts as the summary.
func TestObserverSeesTheReportsBuckets(t *testing.T) {
	plan, err := scenarios.LoadBytes("steady.yaml", []byte(`apiVersion: meshbench/v1
kind: Scenario
name: steady
duration: 10s
warmup: 2s
backends: [sim]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, rate: 100/s}
variants:
  - name: a
  - name: b
slo:
  - {metric: p99, max: 4ms}
  - {metric: availability, min: "99%"}
`))
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{buckets: map[int][]told{}, done: map[int]RunSummary{}}
	sum, err := Run(context.Background(), plan, RunOptions{Backends: []string{"observe-steady"}, Observe: obs})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.done) != 2 {
		t.Fatalf("Done told %d jobs, want 2", len(obs.done))
	}
	for job, run := range sum.Runs {
		got := obs.buckets[job]
		if len(got) != 8 {
			t.Fatalf("job %d: told %d buckets while running, want 8 (10 less the last two)", job, len(got))
		}
		for i, tb := range got {
			if tb.index != i {
				t.Fatalf("job %d: bucket %d told as number %d", job, i, tb.index)
			}
			if !reflect.DeepEqual(tb.b, run.Buckets[i]) {
				t.Errorf("job %d bucket %d: told %+v, summary has %+v", job, i, tb.b, run.Buckets[i])
			}
		}
		if b := got[0].b; b.Requests != 100 || b.Retries != 10 || b.Hedges != 5 || b.P50MS < 5 || b.P50MS > 5.1 {
			t.Errorf("job %d: first bucket %+v", job, b)
		}
		last := got[len(got)-1].soFar
		if last.Variant != run.Variant || last.Backend != "observe-steady" || last.Requests == 0 || last.Requests >= run.Requests {
			t.Errorf("job %d: totals so far %+v against final %d requests", job, last, run.Requests)
		}
		if len(last.SLO) != 2 || last.SLO[0].Pass || !last.SLO[1].Pass {
			t.Errorf("job %d: verdicts so far %+v, want p99 failing and availability passing", job, last.SLO)
		}
		if d := obs.done[job]; !reflect.DeepEqual(d.SLO, run.SLO) || !reflect.DeepEqual(d.Buckets, run.Buckets) {
			t.Errorf("job %d: Done told %+v / %d buckets, summary has %+v / %d", job, d.SLO, len(d.Buckets), run.SLO, len(run.Buckets))
		}
	}
}

type nopObserver struct{}

func (nopObserver) Bucket(int, int, Bucket, RunSummary) {}
func (nopObserver) Done(int, RunSummary)                {}

// BenchmarkRecord compares recording into the aggregator alone with
// recording through an observed sink: what --serve adds per result.
func BenchmarkRecord(b *testing.B) {
	plan, err := scenarios.LoadBytes("overrides.yaml", []byte(overrideScenario))
	if err != nil {
		b.Fatal(err)
	}
	results := make([]Result, 1<<16)
	for i := range results {
		results[i] = Result{Start: time.Duration(i) * 100 * time.Microsecond, Latency: time.Duration(1+i%97) * time.Millisecond, Retries: uint16(i % 3)}
	}
	for _, tc := range []struct {
		name string
		sink func(*Aggregator) Sink
	}{
		{"aggregator", func(a *Aggregator) Sink { return a }},
		{"observed", func(a *Aggregator) Sink {
			return &observedSink{agg: a, obs: nopObserver{}, plan: plan, meta: RunSummary{Backend: "sim", Variant: "base"}, next: 2 * a.bucketWidth}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink := tc.sink(NewAggregator(0, 0))
				for _, r := range results {
					sink.Record(r)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(results)), "ns/result")
		})
	}
}

package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// twoWorkloadBackend serves two workloads, 100 requests a second each:
// checkout's all succeed in 5ms, lookup's fail one in four and succeed in
// 40ms. Together they are 87.5% available with a p99 of 40ms.
type twoWorkloadBackend struct{}

func (twoWorkloadBackend) Name() string { return "slo-two-workloads" }

func (twoWorkloadBackend) Run(ctx context.Context, job Job, sink Sink) (Outcome, error) {
	for i := 0; time.Duration(i)*10*time.Millisecond < job.Plan.Duration; i++ {
		at := time.Duration(i) * 10 * time.Millisecond
		sink.Record(Result{Start: at, Latency: 5 * time.Millisecond, Workload: "checkout"})
		r := Result{Start: at, Latency: 40 * time.Millisecond, Workload: "lookup"}
		if i%4 == 0 {
			r.Kind = KindStatus5xx
		}
		sink.Record(r)
	}
	return Outcome{End: job.Plan.Duration}, nil
}

func init() { Register(twoWorkloadBackend{}) }

const twoWorkloadScenario = `apiVersion: meshbench/v1
kind: Scenario
name: two-workloads
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
  - {name: lookup, target: {method: GET, path: /v1/payments/1}, rate: 100/s}
slo:
  - {metric: availability, min: "99.9%", workload: checkout}
  - {metric: p99, max: 10ms, workload: checkout}
  - {metric: availability, min: "99.9%"}
  - {metric: availability, min: "80%", workload: lookup}
  - {metric: p50, max: 10ms, workload: lookup}
  - {metric: throughput, min: 99/s, workload: checkout}
`

// TestSLOOnAWorkload checks that an SLO naming a workload is judged on that
// workload's requests alone, in the final summary and in the verdicts an
// observer is told while the run goes, and that the verdict says which
// workload it judged.
func TestSLOOnAWorkload(t *testing.T) {
	plan, err := scenarios.LoadBytes("two-workloads.yaml", []byte(twoWorkloadScenario))
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{buckets: map[int][]told{}, done: map[int]RunSummary{}}
	sum, err := Run(context.Background(), plan, RunOptions{Backends: []string{"slo-two-workloads"}, Observe: obs})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		label string
		value float64
		pass  bool
	}{
		{"availability of checkout", 1, true},
		{"p99 of checkout", 5, true},
		{"availability", 0.875, false},
		{"availability of lookup", 0.75, false},
		{"p50 of lookup", 40, false},
		{"throughput of checkout", 100, true},
	}
	check := func(what string, got []SLOVerdict, final bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d verdicts, want %d: %+v", what, len(got), len(want), got)
		}
		for i, w := range want {
			v := got[i]
			if v.Label() != w.label || v.Pass != w.pass {
				t.Errorf("%s: verdict %d is %q pass=%v, want %q pass=%v", what, i, v.Label(), v.Pass, w.label, w.pass)
			}
			if final && math.Abs(v.Value-w.value) > 0.01*math.Max(1, w.value) {
				t.Errorf("%s: %s = %v, want %v", what, w.label, v.Value, w.value)
			}
		}
	}
	run := sum.Runs[0]
	check("final", run.SLO, true)
	if sum.SLOPass {
		t.Error("the summary passes though the run misses three SLOs")
	}
	told := obs.buckets[0]
	if len(told) == 0 {
		t.Fatal("the observer was told no bucket")
	}
	check("so far", told[len(told)-1].soFar.SLO, false)
}

// TestSLOOnAWorkloadWithoutItsRequests checks that a workload SLO fails,
// rather than passing on a zero, when the run has no requests of that
// workload (a summary from before workloads were recorded, or a workload
// that sent nothing after the warm-up).
func TestSLOOnAWorkloadWithoutItsRequests(t *testing.T) {
	plan, err := scenarios.LoadBytes("two-workloads.yaml", []byte(twoWorkloadScenario))
	if err != nil {
		t.Fatal(err)
	}
	sum := &Summary{Runs: []RunSummary{{Backend: "sim", Stats: Stats{Requests: 100, Successes: 100, Availability: 1, LatencyMS: Latency{P50: 1, P99: 2}}}}}
	EvaluateSLOs(plan, sum)
	for _, v := range sum.Runs[0].SLO {
		if v.Workload != "" && v.Metric != scenarios.MetricThroughput && v.Pass {
			t.Errorf("%s passes with no request of its workload", v.Label())
		}
	}
}

// TestKneeIgnoresWorkloadSLOs checks that the knee is read only against an
// SLO on all of a run's requests: the per-second buckets it is read from
// do not split by workload.
func TestKneeIgnoresWorkloadSLOs(t *testing.T) {
	plan, err := scenarios.LoadBytes("two-workloads.yaml", []byte(twoWorkloadScenario))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := kneeSLO(plan, 0, "sim"); ok {
		t.Errorf("knee SLO %+v, want none: every latency SLO names a workload", s)
	}
	plan.SLO = append(plan.SLO, scenarios.SLO{Metric: scenarios.MetricP99, Max: &scenarios.Threshold{Kind: scenarios.ThresholdDuration, Value: 0.05}})
	if s, ok := kneeSLO(plan, 0, "sim"); !ok || s.Workload != "" || s.Metric != scenarios.MetricP99 {
		t.Errorf("knee SLO %+v, %v: want the p99 of all requests", s, ok)
	}
}

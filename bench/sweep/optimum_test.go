package sweep

import (
	"context"
	"math"
	"testing"

	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
)

// The fleet of these tests is a textbook queue. Poisson arrivals at rate λ
// are routed by the random balancer, which splits a Poisson stream into
// independent Poisson streams of rate λ/n (Poisson thinning); each replica
// serves one request at a time with exponential service times of rate μ
// and an ample queue: n independent M/M/1 queues. The sojourn time of an
// M/M/1 queue in equilibrium is exponential with rate μ − λ/n (Kleinrock,
// Queueing Systems vol. 1, 1975, §3.2), so its p-quantile is
// −ln(1 − p) / (μ − λ/n) and the SLO p99 ≤ T holds exactly when
//
//	λ/n ≤ μ − ln(100)/T.
//
// With μ = 100/s (10 ms mean) and T = 100 ms: λ/n ≤ 100 − 46.05 = 53.95/s.
// The network adds 0.4 ms per request (two 200 µs hops), negligible here.
const mm1Scenario = `apiVersion: meshbench/v1
kind: Scenario
name: mm1-fleet
seed: 7
duration: 40s
warmup: 5s
topology:
  gateway:
    routes:
      - {name: work, service: worker}
  services:
    - name: worker
      replicas: 4
      concurrency: 1
      queue: 10000
      serviceTime: {type: exponential, mean: 10ms}
load:
  - name: jobs
    target: {method: GET, path: /work}
    arrival: poisson
    rate: 300/s
policy:
  balancer: {type: random}
  timeouts: {connect: 1s, request: 60s}
slo:
  - {metric: p99, max: 100ms}
`

const (
	mu       = 100.0 // per second
	sloP99   = 0.100 // seconds
	lambdaMM = 300.0 // per second
)

// maxRatePerReplica is the largest per-replica arrival rate that meets the SLO.
var maxRatePerReplica = mu - math.Log(100)/sloP99

func mm1Plan(t *testing.T) *scenarios.Plan {
	t.Helper()
	plan, err := scenarios.LoadBytes("mm1.yaml", []byte(mm1Scenario))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestSweepFindsFewestReplicas sweeps the replica count: theory says the
// fewest replicas that meet the SLO at λ = 300/s is ⌈300 / 53.95⌉ = 6
// (n = 5: p99 = ln 100 / (100 − 60) = 115 ms; n = 6: 92 ms).
func TestSweepFindsFewestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 21 simulations")
	}
	plan := mm1Plan(t)
	want := int(math.Ceil(lambdaMM / maxRatePerReplica))
	sp, err := scenarios.ParseSweepParam("topology.services.worker.replicas={from: 3, to: 9}")
	if err != nil {
		t.Fatal(err)
	}
	def, err := NewDefinition(plan, scenarios.SweepParams{sp}, DefineOptions{Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	fewest := 0
	for _, p := range Summarize(res.Rows) {
		if p.Feasible == 1 {
			fewest = int(p.X["topology.services.worker.replicas"])
			break
		}
	}
	t.Logf("fewest replicas meeting the SLO: %d (theory %d)", fewest, want)
	if fewest != want {
		for _, p := range Summarize(res.Rows) {
			t.Logf("replicas %s: p99 %v, feasible %v", p.Params["topology.services.worker.replicas"], p.Metrics[MetricP99], p.Feasible)
		}
		t.Errorf("fewest replicas meeting p99 ≤ 100ms: %d, theory says %d", fewest, want)
	}
}

// TestTuneFindsCapacityAtSLO maximises throughput over the offered rate
// with four replicas subject to p99 ≤ 100 ms: theory puts the optimum at
// λ* = 4 × 53.95 = 215.8/s (throughput equals the offered rate below
// saturation); the tuner must land within 10%.
func TestTuneFindsCapacityAtSLO(t *testing.T) {
	if testing.Short() {
		t.Skip("runs up to 60 simulations")
	}
	plan := mm1Plan(t)
	want := 4 * maxRatePerReplica
	sp, err := scenarios.ParseSweepParam("load.jobs.rate={from: 100/s, to: 390/s}")
	if err != nil {
		t.Fatal(err)
	}
	params := scenarios.SweepParams{sp}
	def, err := NewDefinition(plan, params, DefineOptions{Tune: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := TuneSpec{Metric: MetricThroughput, Maximize: true, BudgetRuns: 60,
		Constraints: []scenarios.Constraint{{Metric: MetricP99, Value: 100}}}
	tr, err := Tune(context.Background(), plan, def, params, spec, Options{Backend: sim.Backend{}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Best == nil || tr.Search.Best == nil || !tr.Search.Best.Feasible {
		t.Fatalf("no feasible best: %+v", tr.Search)
	}
	got := tr.Best.X["load.jobs.rate"]
	t.Logf("best rate %.1f/s after %d runs (%s), p99 %v; theory %.1f/s", got, tr.Search.Runs, tr.Search.StoppedBy, tr.Best.Metrics[MetricP99], want)
	if math.Abs(got-want)/want > 0.10 {
		t.Errorf("best rate %.1f/s (p99 %v), theory says %.1f/s ± 10%%", got, tr.Best.Metrics[MetricP99], want)
	}
	if tr.Search.Runs > spec.BudgetRuns || len(tr.Rows) != tr.Search.Runs {
		t.Errorf("%d runs, %d rows, budget %d", tr.Search.Runs, len(tr.Rows), spec.BudgetRuns)
	}
}

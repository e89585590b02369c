package local

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

func init() { bench.Register(Backend{}) }

// killAndSlow kills one payments replica for good and slows another: the
// gateway without outlier detection keeps sending a third of the traffic
// to the dead replica (refused), the one with it ejects the replica after
// three gateway failures. Timeouts are generous, so that a slow machine
// (the race detector, a busy CI runner) shows as latency, not errors.
const killAndSlow = `apiVersion: meshbench/v1
kind: Scenario
name: kill-and-slow
description: Does outlier detection save the checkouts a dead replica costs?
seed: 3
duration: 4s
backends: [local]
topology:
  gateway:
    routes:
      - {name: create-payment, match: {method: POST, path: /v1/payments}, service: payments}
  services:
` + paymentFleet + `load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 60/s
policy:
  balancer: {type: round_robin}
  timeouts: {request: 5s}
variants:
  - name: unprotected
  - name: outlier-detection
    policy:
      outlierDetection: {interval: 500ms, baseEjectionTime: 30s, maxEjectionPercent: 50, consecutive5xx: 3, consecutiveGatewayFailure: 3}
faults:
  - {at: 500ms, action: slow, target: "payments[2]", factor: 5}
  - {at: 1s, action: kill, target: "payments[1]"}
`

func TestEndToEndKillAndSlow(t *testing.T) {
	plan := loadPlan(t, killAndSlow)
	dir := t.TempDir()
	sum, err := bench.Run(context.Background(), plan, bench.RunOptions{Backends: []string{"local"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 2 || sum.Partial {
		t.Fatalf("%d runs, partial %v", len(sum.Runs), sum.Partial)
	}
	avail := map[string]float64{}
	total := int64(0)
	for _, r := range sum.Runs {
		t.Logf("%s: %d requests, availability %.4f, errors %v, per instance %v, audit %+v",
			r.Variant, r.Requests, r.Availability, r.Errors, r.PerInstance, r.Audit)
		if r.Error != "" {
			t.Errorf("%s: %s", r.Variant, r.Error)
		}
		if r.Audit == nil || !r.Audit.Clean() || r.Audit.Acknowledged == 0 || r.Audit.Recorded < r.Audit.Acknowledged {
			t.Errorf("%s: audit %+v, want every acknowledged payment recorded once", r.Variant, r.Audit)
		}
		// The process's CPU over the window: some, and less than the
		// machine's cores can give.
		if r.CPU == nil || r.CPU.Cores <= 0 || r.CPU.Cores > float64(runtime.NumCPU()) || r.CPU.PerRequestMS <= 0 {
			t.Errorf("%s: CPU %+v, want the process's cores and CPU per request", r.Variant, r.CPU)
		}
		avail[r.Variant] = r.Availability
		total += r.Requests
	}
	if r := sum.Runs[0]; r.Errors["refused"] == 0 {
		t.Errorf("unprotected: no refused connections from the killed replica: %v", r.Errors)
	}
	// Unprotected loses about a third of the requests after the kill
	// (availability near 0.75); outlier detection loses a handful.
	if avail["outlier-detection"] < avail["unprotected"]+0.1 {
		t.Errorf("availability with outlier detection %.4f, without %.4f: want it clearly higher", avail["outlier-detection"], avail["unprotected"])
	}

	// results.bin is one vegeta stream holding every request of both runs.
	attacks := map[string]int64{}
	eachResult(t, dir, func(r vegeta.Result) { attacks[r.Attack]++ })
	if attacks["local/unprotected/0"] == 0 || attacks["local/outlier-detection/0"] == 0 || attacks["local/unprotected/0"]+attacks["local/outlier-detection/0"] != total {
		t.Errorf("results.bin attacks %v, want both runs and %d results", attacks, total)
	}
}

func TestCancelStopsEverything(t *testing.T) {
	plan := loadPlan(t, strings.Replace(killAndSlow, "duration: 4s", "duration: 60s", 1))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(800*time.Millisecond, cancel)
	done := make(chan struct{})
	var (
		out bench.Outcome
		err error
	)
	sink := &collect{}
	go func() {
		out, err = Backend{}.Run(ctx, bench.Job{Plan: plan, Variant: 0, Seed: 1}, sink)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if out.End <= 0 || out.End >= plan.Duration {
		t.Errorf("End %s, want the point reached before the cancellation", out.End)
	}
	if out.Audit == nil || out.Audit.Lost != 0 {
		t.Errorf("audit %+v after cancellation", out.Audit)
	}
	// TestMain's goleak check finds anything Run left behind.
}

func TestNetworkFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("toxiproxy network test: several seconds")
	}
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: network-faults
duration: 3s
topology:
  gateway:
    zone: a
    routes:
      - {name: create-payment, match: {method: POST, path: /v1/payments}, service: payments}
  services:
    - name: payments
      replicas: 3
      concurrency: 16
      serviceTime: 2ms
      zones: [a, b]
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms, zones: [a, b]}
    - {name: fraud, replicas: 2, concurrency: 16, serviceTime: 1ms, zone: a}
    - {name: ledger, replicas: 2, concurrency: 16, serviceTime: 1ms, zone: a}
network:
  crossZone: {latency: {type: uniform, min: 2ms, max: 4ms}}
load:
  - target: {method: POST, path: /v1/payments}
    rate: 15/s
policy:
  timeouts: {request: 5s}
  retries: {attempts: 2, retryOn: [gateway-error, reset, connect-failure]}
faults:
  - {at: 500ms, for: 1s, action: partition, target: "risk[1]", peer: payments}
  - {at: 500ms, for: 2s, action: errors, target: "risk[0]", rate: 0.2, status: 503}
  - {at: 500ms, for: 1s, action: latency, target: "fraud[0]", add: 20ms}
  - {at: 1s, action: restart, target: "ledger[1]", downtime: 300ms}
  - {at: 2s, for: 300ms, action: pause, target: "payments[0]"}
`)
	sink := &collect{}
	out, err := Backend{}.Run(context.Background(), bench.Job{Plan: plan, Seed: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	kinds := sink.kinds()
	t.Logf("%d requests, kinds %v, audit %+v", len(sink.rs), kinds, out.Audit)
	if kinds[bench.KindOK] == 0 {
		t.Error("no request succeeded")
	}
	if out.Audit == nil || !out.Audit.Clean() {
		t.Errorf("audit %+v: retries with keys must not charge twice", out.Audit)
	}
}

func TestProxylessGenericServicesAndGatewayPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds")
	}
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: catalog
duration: 2s
topology:
  mesh: proxyless
  gateway:
    routes:
      - {name: admin, match: {pathPrefix: /admin}, service: api, auth: {type: apiKey, keys: [secret]}}
      - {name: products, match: {pathPrefix: /v1/products}, service: api}
  services:
    - name: api
      replicas: 2
      concurrency: 8
      serviceTime: 1ms
      calls: [{service: catalog, parallel: true}, {service: risk, parallel: true}]
    - {name: catalog, replicas: 2, concurrency: 8, serviceTime: 1ms}
    - {name: risk, replicas: 1, concurrency: 8, serviceTime: 1ms}
load:
  - name: browse
    target: {path: /v1/products/42}
    rate: 40/s
  - name: intruder
    target: {path: /admin/users, headers: {X-API-Key: wrong}}
    rate: 10/s
policy:
  rateLimit: {type: token_bucket, rate: 25/s, burst: 5}
`)
	sink := &collect{}
	out, err := Backend{}.Run(context.Background(), bench.Job{Plan: plan, Seed: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	kinds := sink.kinds()
	t.Logf("%d requests, kinds %v", len(sink.rs), kinds)
	if out.Audit != nil {
		t.Errorf("audit %+v without a ledger", out.Audit)
	}
	for _, r := range sink.rs {
		switch r.Kind {
		case bench.KindOK:
			if r.Status != 200 || !strings.HasPrefix(r.Instance, "api[") {
				t.Errorf("answer %+v", r)
			}
		case bench.KindStatus4xx:
			if r.Status != 401 {
				t.Errorf("refusal %+v", r)
			}
		case bench.KindStatus429:
		default:
			t.Errorf("unexpected %+v", r)
		}
	}
	// 50/s offered against a 25/s limit: many are limited; the intruder's
	// requests that pass the limit are refused for their key.
	if kinds[bench.KindOK] == 0 || kinds[bench.KindStatus429] == 0 || kinds[bench.KindStatus4xx] == 0 {
		t.Errorf("kinds %v, want answers, rate limiting and refused keys", kinds)
	}
}

func TestIdempotencyDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs two variants for several seconds")
	}
	e, err := scenarios.LibraryScenario("idempotency-keys")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped scenario at a pace a slow machine (the race detector on
	// two busy cores) keeps up with, and with a heavier tail on the hop to
	// payments, so that enough tries time out after the ledger write for
	// the double charges to show in a short run. What it shows does not
	// depend on speed: with keys no retry can charge twice.
	plan = plan.WithDuration(5 * time.Second)
	plan.Network.CrossZone.Latency = &scenarios.DistributionSpec{Type: "lognormal", Median: 30 * time.Millisecond, P99: 1200 * time.Millisecond}
	audits := map[string]*bench.Audit{}
	for i, v := range plan.Variants {
		vp := plan.ForVariant(i) // as the runner gives each job its variant's load
		if got := vp.Load[0].Target.IdempotencyKeys; got != (v.Name == "with-keys") {
			t.Fatalf("%s: idempotencyKeys %v", v.Name, got)
		}
		vp.Load[0].Shape.Rate = 20
		out, err := Backend{}.Run(context.Background(), bench.Job{Plan: vp, Variant: i, Seed: plan.Seed}, &collect{})
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		t.Logf("%s: audit %+v", v.Name, out.Audit)
		audits[v.Name] = out.Audit
	}
	if a := audits["with-keys"]; a == nil || !a.Clean() || a.Recorded == 0 {
		t.Errorf("with keys: audit %+v, want clean", a)
	}
	if a := audits["no-keys"]; a == nil || a.Duplicates == 0 || a.Lost != 0 {
		t.Errorf("without keys: audit %+v, want double charges found", a)
	}
}

package containers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// faultedScenario is six replicas across four services under a short
// Poisson load, with a risk replica paused and a payments replica killed
// while it runs; both come back before the end.
const faultedScenario = `apiVersion: meshbench/v1
kind: Scenario
name: containers-faults
description: Does the audit stay clean when replicas are paused and killed?
seed: 7
duration: 6s
backends: [containers]
topology:
  gateway:
    routes:
      - {name: pay, match: {method: POST, pathPrefix: /v1/payments}, service: payments}
  services:
    - {name: payments, replicas: 2, concurrency: 16, serviceTime: 1ms,
       calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]}
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms}
    - {name: fraud, replicas: 1, concurrency: 16, serviceTime: 1ms}
    - {name: ledger, replicas: 1, concurrency: 16, serviceTime: 1ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 60/s
faults:
  - {at: 1s, for: 2s, action: pause, target: "risk[0]"}
  - {at: 2s, for: 2s, action: kill, target: "payments[1]"}
`

// results collects a run's results.
type results struct {
	mu  sync.Mutex
	all []bench.Result
}

func (r *results) Record(res bench.Result) {
	r.mu.Lock()
	r.all = append(r.all, res)
	r.mu.Unlock()
}

func TestBackendRunsFaultsAndAudits(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	plan, err := scenarios.LoadBytes("containers-faults.yaml", []byte(faultedScenario))
	if err != nil {
		t.Fatal(err)
	}
	run := "test-" + NewRunID()
	// The real data plane: DefaultMesh, the local backend's mapping.
	b := Backend{runID: run, image: testImage(t)}
	var got results
	out, err := b.Run(context.Background(), bench.Job{Plan: plan, Seed: plan.Seed}, &got)
	if err != nil {
		t.Fatal(err)
	}
	left, err := List(context.Background(), run)
	if err != nil || len(left) > 0 {
		t.Errorf("after the run: %d containers left (%v)", len(left), err)
	}
	if out.End != plan.Duration {
		t.Errorf("timeline ended at %v, want %v", out.End, plan.Duration)
	}
	ok, acked, instances := 0, 0, map[string]int{}
	for _, r := range got.all {
		if !r.OK() {
			continue
		}
		ok++
		if r.Status/100 == 2 { // 402 (declined) is a success but no payment
			acked++
		}
		instances[r.Instance]++
	}
	// 60/s for 6s is about 360 requests; the retries of gateway and
	// sidecars cover most of the pause and the kill.
	if len(got.all) < 200 || ok < len(got.all)/2 {
		kinds := map[string]int{}
		for _, r := range got.all {
			kinds[fmt.Sprintf("%s/%d", r.Kind, r.Status)]++
		}
		t.Errorf("%d results, %d ok: want most of ~360 to succeed; outcomes: %v", len(got.all), ok, kinds)
	}
	// payments[1] is down for a third of the run (Run's nil error says
	// every fault step was applied), so round robin's retries hand part of
	// its share to payments[0].
	if p0, p1 := instances["payments[0]"], instances["payments[1]"]; p1 == 0 || p1 >= p0 {
		t.Errorf("answers by instance %v: want fewer from the killed payments[1] than from payments[0]", instances)
	}
	a := out.Audit
	if a == nil {
		t.Fatal("no audit")
	}
	t.Logf("%d requests, %d ok, by instance %v; audit %+v", len(got.all), ok, instances, *a)
	// A payment may be recorded and its answer lost (payments[1] killed
	// after the ledger wrote, a try timed out): recorded, not acknowledged,
	// and neither lost nor doubled.
	if a.Acknowledged != int64(acked) || a.Recorded < a.Acknowledged || !a.Clean() {
		t.Errorf("audit %+v with %d 2xx answers: want every acknowledged payment recorded once", *a, acked)
	}
}

func TestBackendWithoutMeshSaysWhy(t *testing.T) {
	plan, err := scenarios.LoadBytes("containers-faults.yaml", []byte(faultedScenario))
	if err != nil {
		t.Fatal(err)
	}
	saved := DefaultMesh
	DefaultMesh = nil
	defer func() { DefaultMesh = saved }()
	_, err = Backend{}.Run(context.Background(), bench.Job{Plan: plan}, &results{})
	if !errors.Is(err, errNoMesh) || !strings.Contains(err.Error(), "bench/local") {
		t.Fatalf("error %v, want errNoMesh", err)
	}
}

func TestBackendCancelledLeavesNothing(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	plan, err := scenarios.LoadBytes("containers-faults.yaml", []byte(faultedScenario))
	if err != nil {
		t.Fatal(err)
	}
	run := "test-" + NewRunID()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Ctrl-C as soon as the load is running: the first progress report.
	job := bench.Job{Plan: plan, Seed: plan.Seed, Progress: func(time.Duration) { cancel() }}
	out, err := Backend{runID: run, image: testImage(t)}.Run(ctx, job, &results{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
	if out.End >= plan.Duration {
		t.Errorf("cancelled run reached %v of %v", out.End, plan.Duration)
	}
	left, lerr := List(context.Background(), run)
	if lerr != nil || len(left) > 0 {
		t.Errorf("after a cancelled run: %d containers left (%v)", len(left), lerr)
	}
}

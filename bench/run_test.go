package bench

import (
	"testing"

	"github.com/meshbench/meshbench/scenarios"
)

const overrideScenario = `apiVersion: meshbench/v1
kind: Scenario
name: overrides
duration: 10s
backends: [sim, local]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, rate: 100/s}
variants:
  - name: base
  - name: double
    load: {checkout: {rate: 200/s, target: {idempotencyKeys: false}}}
`

// TestJobsGiveEachVariantItsLoad checks that every job's plan carries its
// variant's load, so that backends honour load overrides by running the
// plan they are given.
func TestJobsGiveEachVariantItsLoad(t *testing.T) {
	plan, err := scenarios.LoadBytes("overrides.yaml", []byte(overrideScenario))
	if err != nil {
		t.Fatal(err)
	}
	jobs, backends, err := Jobs(plan, RunOptions{Repeat: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 8 || len(backends) != 8 {
		t.Fatalf("%d jobs on %d backends, want 8", len(jobs), len(backends))
	}
	for i, j := range jobs {
		w := j.Plan.Load[0]
		name := plan.Variants[j.Variant].Name
		want := map[string]scenarios.Rate{"base": 100, "double": 200}[name]
		if w.Shape.Rate != want || w.Target.IdempotencyKeys != (name == "base") {
			t.Errorf("job %d (%s/%s): rate %v, keys %v", i, backends[i], name, w.Shape.Rate, w.Target.IdempotencyKeys)
		}
		if j.Plan.Variants[j.Variant].Name != name || j.Plan.Duration != plan.Duration {
			t.Errorf("job %d: the variant's plan lost the plan's variants or timeline", i)
		}
	}
	if plan.Load[0].Shape.Rate != 100 {
		t.Error("Jobs changed the plan's own load")
	}
}

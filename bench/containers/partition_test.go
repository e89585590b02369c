package containers

import (
	"context"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// partitionScenario weighs payments 3:1 and cuts payments off from risk
// for three seconds in the middle: payments' sidecars cannot reach risk,
// and the checkouts of those seconds time out. The request timeout (2s)
// leaves room for a slow machine (the race detector, parallel packages
// starving the containers' path for a second or more, as CI's machines
// do), so that only the partition makes a checkout time out.
const partitionScenario = `apiVersion: meshbench/v1
kind: Scenario
name: containers-partition
seed: 3
duration: 10s
backends: [containers]
topology:
  gateway:
    routes:
      - {name: pay, match: {method: POST, pathPrefix: /v1/payments}, service: payments}
  services:
    - {name: payments, replicas: 2, concurrency: 16, serviceTime: 1ms, weights: [3, 1],
       calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]}
    - {name: risk, replicas: 1, concurrency: 16, serviceTime: 1ms}
    - {name: fraud, replicas: 1, concurrency: 16, serviceTime: 1ms}
    - {name: ledger, replicas: 1, concurrency: 16, serviceTime: 1ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 50/s
policy:
  balancer: {type: weighted_round_robin}
  timeouts: {request: 2s}
faults:
  - {at: 3s, for: 3s, action: partition, target: risk, peer: payments}
`

// TestBackendPartitionAndWeights: on containers, the gateway honours the
// replicas' weights, and a partition cuts the mesh's hops between payments
// and risk for its duration only.
func TestBackendPartitionAndWeights(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	plan, err := scenarios.LoadBytes("containers-partition.yaml", []byte(partitionScenario))
	if err != nil {
		t.Fatal(err)
	}
	b := Backend{runID: "test-" + NewRunID(), image: testImage(t)}
	var got results
	if _, err := b.Run(context.Background(), bench.Job{Plan: plan, Seed: plan.Seed}, &got); err != nil {
		t.Fatal(err)
	}
	inside, outside := map[bench.Kind]int{}, map[bench.Kind]int{}
	instances := map[string]int{}
	for _, r := range got.all {
		instances[r.Instance]++
		// Requests sent inside the partition whose timeout ends before it
		// heals (3.2s to 3.9s: cut until 6s), and well away from it: after
		// the fleet's first half second, before a request could be in
		// flight at the cut (1s), and after one timeout past the heal (8s).
		switch {
		case r.Start >= 3200e6 && r.Start < 3900e6:
			inside[r.Kind]++
		case r.Start >= 500e6 && r.Start < 1000e6 || r.Start >= 8000e6:
			outside[r.Kind]++
		}
	}
	t.Logf("%d requests; inside the partition %v, outside %v; by instance %v", len(got.all), inside, outside, instances)
	if inside[bench.KindOK] > 0 || inside[bench.KindTimeout] == 0 {
		t.Errorf("inside the partition: %v, want every checkout to time out", inside)
	}
	if outside[bench.KindOK] == 0 || outside[bench.KindTimeout] > outside[bench.KindOK]/10 {
		t.Errorf("outside the partition: %v, want checkouts to succeed", outside)
	}
	if p0, p1 := instances["payments[0]"], instances["payments[1]"]; p1 == 0 || p0 < 2*p1 {
		t.Errorf("answers by instance %v: want payments[0] about three times payments[1]", instances)
	}
}

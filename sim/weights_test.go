package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/meshbench/meshbench/scenarios"
)

// weightsScenario is one service of four replicas in two zones behind the
// gateway, with weights per replica, a variant that gives the last replica
// an equal share, and one that makes it the heaviest under random.
const weightsScenario = `
apiVersion: meshbench/v1
kind: Scenario
name: weights
duration: 20s
topology:
  gateway:
    zone: a
    routes: [{name: all, service: svc}]
  services:
    - {name: svc, replicas: 4, concurrency: 8, serviceTime: 1ms, zones: [a, b], weights: [30, 30, 30, 10]}
load:
  - {name: load, target: {path: /}, rate: 200/s}
policy:
  balancer: {type: weighted_round_robin}
variants:
  - name: weighted
  - name: equal
    weights: {svc: [1, 1, 1, 1]}
  - name: random
    policy: {balancer: {type: random}}
    weights: {svc: [1, 1, 1, 7]}
`

// TestReplicaWeights: the gateway spreads requests over the replicas in
// proportion to their weights, as the scenario (or the variant) gives them:
// exactly with weighted_round_robin, within sampling noise with random.
func TestReplicaWeights(t *testing.T) {
	p, err := scenarios.LoadBytes("weights.yaml", []byte(weightsScenario))
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range [][]float64{
		{0.3, 0.3, 0.3, 0.1},
		{0.25, 0.25, 0.25, 0.25},
		{0.1, 0.1, 0.1, 0.7},
	} {
		rs := runBackend(t, p.ForVariant(v), v)
		count := map[string]int{}
		for _, r := range rs {
			count[r.Instance]++
		}
		tol := 0.005 // rotation: off by at most one period at the end
		if v == 2 {
			tol = 0.03
		}
		for i, w := range want {
			got := float64(count[fmt.Sprintf("svc[%d]", i)]) / float64(len(rs))
			if math.Abs(got-w) > tol {
				t.Errorf("variant %s: svc[%d] took %.3f of %d requests, want %.3f", p.Variants[v].Name, i, got, len(rs), w)
			}
		}
	}
}

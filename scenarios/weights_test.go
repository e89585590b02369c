package scenarios

import (
	"slices"
	"testing"
)

// TestReplicaWeight: per-replica weights win, then the zone's, then 1; a
// variant's weights replace the service's in its plan only.
func TestReplicaWeight(t *testing.T) {
	src := `
apiVersion: meshbench/v1
kind: Scenario
name: w
duration: 10s
topology:
  gateway: {zone: a, routes: [{name: all, service: svc}]}
  services:
    - {name: svc, replicas: 3, serviceTime: 1ms, zones: [a, b], zoneWeights: {a: 3, b: 1}}
    - {name: other, replicas: 2, serviceTime: 1ms}
load: [{target: {path: /}, rate: 10/s}]
policy: {balancer: {type: weighted_round_robin}}
variants:
  - name: zones
  - name: canary
    weights: {svc: [98, 1, 1]}
`
	p, err := LoadBytes("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	weights := func(p *Plan, name string) []int {
		svc, _ := p.Service(name)
		var out []int
		for i := range svc.Replicas {
			out = append(out, svc.ReplicaWeight(i))
		}
		return out
	}
	for _, c := range []struct {
		variant int
		svc     string
		want    []int
	}{
		{0, "svc", []int{3, 1, 3}},
		{1, "svc", []int{98, 1, 1}},
		{1, "other", []int{1, 1}},
	} {
		if got := weights(p.ForVariant(c.variant), c.svc); !slices.Equal(got, c.want) {
			t.Errorf("variant %d, %s: weights %v, want %v", c.variant, c.svc, got, c.want)
		}
	}
	if got := weights(p, "svc"); !slices.Equal(got, []int{3, 1, 3}) {
		t.Errorf("the plan's own weights changed to %v", got)
	}
}

package sim

import (
	"slices"
	"testing"
	"time"

	loadgen "github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/scenarios"
)

// arrivalsFleet has two Poisson workloads: one at a constant rate from the
// start, one whose rate steps (thinning) from a later start for a while.
const arrivalsFleet = `
apiVersion: meshbench/v1
kind: Scenario
name: arrivals
seed: 11
duration: 6s
topology:
  gateway:
    routes:
      - {name: pay, service: payments, match: {pathPrefix: /v1/payments}}
  services:
    - {name: payments, replicas: 2, concurrency: 64, serviceTime: 1ms}
load:
  - {name: steady, target: {method: POST, path: /v1/payments}, rate: 150/s}
  - name: stepped
    target: {method: POST, path: /v1/payments}
    start: 1s
    for: 4s
    shape: {type: step, steps: [{at: 0s, rate: 50/s}, {at: 2s, rate: 300/s}]}
`

// TestArrivalsMatchTheLoadGenerator: the simulator issues every Poisson
// workload's requests at the times bench/load's pacer, seeded as the load
// generator seeds it, offers them on a real backend, to the nanosecond:
// the same arrivals on every backend, a constant rate and a varying one
// (thinning) alike.
func TestArrivalsMatchTheLoadGenerator(t *testing.T) {
	plan, err := scenarios.LoadBytes("arrivals.yaml", []byte(arrivalsFleet))
	if err != nil {
		t.Fatal(err)
	}
	issued := map[string][]time.Duration{}
	for _, r := range runYAML(t, arrivalsFleet) {
		issued[r.Workload] = append(issued[r.Workload], r.Start)
	}
	for i, w := range plan.Load {
		end := plan.Duration
		if w.For > 0 {
			end = min(end, w.Start+w.For)
		}
		pacer, err := loadgen.NewPacer(w, end-w.Start, scenarios.ArrivalSeed(plan.Seed, i))
		if err != nil {
			t.Fatal(err)
		}
		pp, ok := pacer.(*loadgen.PoissonPacer)
		if !ok {
			t.Fatalf("%s: pacer %T, want a PoissonPacer", w.Name, pacer)
		}
		var want []time.Duration
		for n := uint64(0); ; n++ {
			at, ok := pp.Arrival(n)
			if !ok {
				break
			}
			want = append(want, w.Start+at)
		}
		got := issued[w.Name]
		slices.Sort(got)
		if len(want) < 100 || !slices.Equal(got, want) {
			t.Errorf("%s: the simulator issued %d requests, the pacer offers %d; first %v against %v",
				w.Name, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}

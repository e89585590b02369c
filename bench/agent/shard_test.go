package agent

import (
	"math"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

const shardScenario = `apiVersion: meshbench/v1
kind: Scenario
name: shards
duration: 10s
backends: [local]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: poisson, target: {method: POST, path: /v1/payments}, rate: 100/s}
  - {name: even, target: {method: GET, path: /v1/payments/x}, arrival: constant, rate: 40/s, start: 1s, for: 5s}
  - {name: ramp, target: {method: GET, path: /v1/payments/y}, shape: {type: ramp, from: 10/s, to: 70/s}}
  - {name: steps, target: {method: GET, path: /v1/payments/z}, shape: {type: step, steps: [{at: 0s, rate: 9/s}, {at: 5s, rate: 30/s}]}}
  - {name: wave, target: {method: GET, path: /v1/payments/w}, shape: {type: sine, mean: 60/s, amplitude: 30/s, period: 4s}}
  - {name: people, target: {method: GET, path: /v1/payments/p}, users: {count: 7}}
`

func loadPlan(t *testing.T, src string) *scenarios.Plan {
	t.Helper()
	p, err := scenarios.LoadBytes("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShardPlanAddsUpToTheWhole checks that the shards of a plan offer,
// together, every workload's rate at every instant and every user, and
// that constant arrivals interleave into the whole schedule.
func TestShardPlanAddsUpToTheWhole(t *testing.T) {
	plan := loadPlan(t, shardScenario)
	for _, n := range []int{1, 2, 3, 5, 8} {
		shards := make([]*scenarios.Plan, n)
		for k := range shards {
			s, err := ShardPlan(plan, k, n)
			if err != nil {
				t.Fatal(err)
			}
			shards[k] = s
		}
		byName := func(p *scenarios.Plan, name string) *scenarios.Workload {
			for i := range p.Load {
				if p.Load[i].Name == name {
					return &p.Load[i]
				}
			}
			return nil
		}
		for _, whole := range plan.Load {
			if whole.Users != nil {
				sum := 0
				for _, s := range shards {
					if w := byName(s, whole.Name); w != nil {
						sum += w.Users.Count
					}
				}
				if sum != whole.Users.Count {
					t.Errorf("%d shards: %s has %d users in all, want %d", n, whole.Name, sum, whole.Users.Count)
				}
				continue
			}
			for ts := time.Duration(0); ts < plan.Duration; ts += 250 * time.Millisecond {
				want := rateAt(whole, ts)
				got := 0.0
				for _, s := range shards {
					if w := byName(s, whole.Name); w != nil {
						got += rateAt(*w, ts)
					}
				}
				if whole.Arrival == scenarios.ArrivalConstant && ts < whole.Start {
					continue // the shards open early, one arrival gap apart
				}
				if math.Abs(got-want) > 1e-9*math.Max(want, 1) {
					t.Errorf("%d shards: %s at %s offers %g/s in all, want %g/s", n, whole.Name, ts, got, want)
				}
			}
		}
		// constant arrivals: shard k starts n−1−k arrival gaps early and
		// ends with the whole window
		even := byName(plan, "even")
		gap := time.Duration(float64(time.Second) / constantRate(*even))
		for k, s := range shards {
			w := byName(s, "even")
			if start := even.Start - time.Duration(n-1-k)*gap; w.Start != start || w.Start+w.For != even.Start+even.For {
				t.Errorf("%d shards: shard %d sends %s from %s for %s, want from %s to %s", n, k, w.Name, w.Start, w.For, start, even.Start+even.For)
			}
		}
	}
	if p, _ := ShardPlan(plan, 0, 1); p != plan {
		t.Error("one shard is not the plan itself")
	}
	if constantRate(plan.Load[0]) != 100 {
		t.Error("ShardPlan changed the plan it was given")
	}
}

// rateAt is a workload's offered rate at t: its rate within its window, or
// its shape's.
func rateAt(w scenarios.Workload, t time.Duration) float64 {
	if w.Shape != nil {
		return w.RateAt(t)
	}
	if t < w.Start || (w.For > 0 && t >= w.Start+w.For) {
		return 0
	}
	return w.Rate.PerSecond()
}

func TestShardPlanDropsShardsWithoutUsers(t *testing.T) {
	plan := loadPlan(t, shardScenario)
	s, err := ShardPlan(plan, 7, 8) // 7 users over 8 shards: the last has none
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range s.Load {
		if w.Name == "people" {
			t.Errorf("shard 7 of 8 runs %d users of 7", w.Users.Count)
		}
	}
}

func TestShardPlanRange(t *testing.T) {
	plan := loadPlan(t, shardScenario)
	for _, c := range [][2]int{{0, 0}, {-1, 2}, {2, 2}} {
		if _, err := ShardPlan(plan, c[0], c[1]); err == nil {
			t.Errorf("shard %d of %d accepted", c[0], c[1])
		}
	}
}

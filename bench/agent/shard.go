package agent

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// ShardPlan returns shard shard (0 ≤ shard < shards) of plan's load: a copy
// of plan whose workloads offer 1/shards of each open-loop workload's rate
// and a share of each closed-loop workload's users, so that the shards
// together offer the whole:
//
//   - users: count/shards each, the remainder one each to the first
//     shards (the counts add up exactly; bench/load runs shard k's users
//     as users k, k+shards, ... of the whole population, with their keys
//     and think-time streams). A shard left with no user drops the
//     workload.
//   - Poisson arrivals (the default): every rate of the workload (rate,
//     or the shape's rates) divided by shards. Independent Poisson
//     processes of rate λ/n superpose to one of rate λ, so the shards'
//     arrivals together are the whole workload's process (bench/load seeds
//     each shard's stream apart).
//   - constant arrivals at a constant rate r: each shard sends at r/n,
//     shard k starting k/r later (its window shortened as much), so the
//     shards interleave into the whole schedule: shard k sends arrivals
//     k, k+n, k+2n, ... of it.
//   - constant arrivals of a ramp, step or sine: the rates divided by n;
//     the shards' arrivals add up to the rate at every instant, but fall
//     at the same instants rather than interleaving.
//
// shards 1 returns plan itself.
func ShardPlan(plan *scenarios.Plan, shard, shards int) (*scenarios.Plan, error) {
	if plan == nil {
		return nil, fmt.Errorf("shard plan: no plan")
	}
	if shards < 1 || shard < 0 || shard >= shards {
		return nil, fmt.Errorf("shard plan: shard %d of %d out of range", shard, shards)
	}
	if shards == 1 {
		return plan, nil
	}
	c := plan.WithSeed(plan.Seed) // a deep copy
	n := float64(shards)
	load := c.Load[:0]
	for _, w := range c.Load {
		if w.Users != nil {
			u := *w.Users
			u.Count = w.Users.Count / shards
			if shard < w.Users.Count%shards {
				u.Count++
			}
			if u.Count == 0 {
				continue
			}
			w.Users = &u
			load = append(load, w)
			continue
		}
		if w.Arrival == scenarios.ArrivalConstant {
			if r := constantRate(w); r > 0 && shard > 0 {
				shift := time.Duration(float64(shard) / r * float64(time.Second))
				w.Start += shift
				if w.For > 0 {
					if w.For -= shift; w.For <= 0 {
						continue // the window is shorter than one arrival gap per shard
					}
				}
			}
		}
		w.Rate /= scenarios.Rate(n)
		if w.Shape != nil {
			s := *w.Shape
			s.Rate /= scenarios.Rate(n)
			s.From /= scenarios.Rate(n)
			s.To /= scenarios.Rate(n)
			s.Mean /= scenarios.Rate(n)
			s.Amplitude /= scenarios.Rate(n)
			s.Steps = append([]scenarios.Step(nil), w.Shape.Steps...)
			for i := range s.Steps {
				s.Steps[i].Rate /= scenarios.Rate(n)
			}
			w.Shape = &s
		}
		load = append(load, w)
	}
	c.Load = load
	return c, nil
}

// constantRate is an open-loop workload's rate when it is constant over
// its window (rate, or a constant shape), else 0.
func constantRate(w scenarios.Workload) float64 {
	switch {
	case w.Shape == nil:
		return w.Rate.PerSecond()
	case w.Shape.Type == scenarios.ShapeConstant:
		return w.Shape.Rate.PerSecond()
	}
	return 0
}

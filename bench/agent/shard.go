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
//     shard k's window opening (n−1−k)/r early (its end kept), so the
//     shards interleave into the whole schedule: vegeta's constant pacer
//     sends a window's arrival j (j ≥ 1) at j/r, and shard k sends
//     arrivals k+1, k+1+n, k+1+2n, ... of it. (Its Start may then be
//     before zero; bench/load sends nothing before the first arrival.)
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
			if r := constantRate(w); r > 0 {
				// vegeta's constant pacer sends arrival j at j gaps
				// after the start (j ≥ 1); shard k's window opens
				// n−1−k whole gaps early, so that its arrivals, n gaps
				// apart, are k+1, k+1+n, ... of the whole.
				early := time.Duration(float64(shards-1-shard) / r * float64(time.Second))
				w.Start -= early
				if w.For > 0 {
					w.For += early
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

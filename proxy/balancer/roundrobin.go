package balancer

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// roundRobin is "round_robin": each available endpoint in turn, ignoring
// weights, as Envoy's round robin with equal weights and grpc-go's
// round_robin. Over any n×k consecutive picks from a stable set of n
// endpoints each gets exactly k. The cursor lives in the balancer, not the
// snapshot, so it survives updates. While an endpoint is in slow start it
// switches to smooth weighted round robin over the ramp factors, as Envoy
// turns slow start into weights.
//
// With weighted set it is "weighted_round_robin" (see wrr.go).
type roundRobin struct {
	weighted bool
	cursor   [2]paddedCounter // one per locality group
}

// paddedCounter keeps the two cursors on separate cache lines.
type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func newRoundRobin(Config) algorithm { return &roundRobin{} }

func (a *roundRobin) newPicker(slot int, es []*entry, rp ramp) picker {
	p := &rrPicker{es: es, ramp: rp, cursor: &a.cursor[slot].Uint64}
	weights := make([]int, len(es))
	for i, e := range es {
		weights[i] = 1
		if a.weighted {
			weights[i] = e.ep.weight()
		}
	}
	if a.weighted {
		p.schedule, p.dynamic = smoothSchedule(weights)
	}
	if p.dynamic || rp.on {
		p.smooth = newSmooth(weights)
	}
	return p
}

// rrPicker serves round_robin and weighted_round_robin for one group.
type rrPicker struct {
	es       []*entry
	ramp     ramp
	cursor   *atomic.Uint64
	schedule []int32 // one period of smooth WRR; nil means es in order
	dynamic  bool    // the period is too long to precompute: run smooth each pick
	smooth   *smooth // smooth WRR under a mutex, for ramps and long periods
}

func (p *rrPicker) pick(now time.Time, _ uint64, _ *rand.Rand) (*entry, *state) {
	if p.dynamic || p.ramp.active(now) {
		return p.smooth.next(now, p.es, &p.ramp), nil
	}
	i := p.cursor.Add(1) - 1
	if p.schedule != nil {
		return p.es[p.schedule[i%uint64(len(p.schedule))]], nil
	}
	return p.es[i%uint64(len(p.es))], nil
}

package balancer

import (
	"math"
	"math/rand/v2"
	"time"
)

// leastRequest is "least_request", Envoy's least request balancer: draw
// Choices endpoints at random (with replacement, as Envoy) and take the one
// with the largest effective weight
//
//	weight / (active + 1)^ActiveRequestBias
//
// which, with equal weights, is the one with the fewest active requests:
// Mitzenmacher's power of two choices. When Choices is at least the number of
// available endpoints it scans them all (Envoy's FULL_SCAN), breaking ties
// uniformly at random. Envoy switches to an EDF schedule of the same
// effective weights when weights differ; keeping P2C with the weights in the
// comparison keeps picks O(Choices) and lock-free, and under load it settles
// where active requests are proportional to weight^(1/bias). Active requests
// are counted from Pick to Done.
//
// Slow start thins the draws instead of scaling the weight: a ramping
// candidate is redrawn with probability 1-factor (a full scan skips it with
// that probability). Scaling the weight would make a ramping endpoint lose
// every comparison while the balancer is idle, a step rather than a ramp.
type leastRequest struct {
	choices int
	bias    float64
}

func newLeastRequest(cfg Config) algorithm {
	return leastRequest{choices: cfg.Choices, bias: cfg.ActiveRequestBias}
}

func (a leastRequest) newPicker(_ int, es []*entry, rp ramp) picker {
	p := &lrPicker{es: es, ramp: rp, choices: a.choices, bias: a.bias,
		states: make([]*state, len(es)), weights: make([]float64, len(es))}
	for i, e := range es {
		p.states[i], p.weights[i] = e.st, e.weight
	}
	return p
}

type lrPicker struct {
	es      []*entry
	ramp    ramp
	choices int
	bias    float64
	// What sizing up a candidate reads, by index: a candidate then costs
	// one memory access (its state) instead of two dependent ones.
	states  []*state
	weights []float64
}

// score is the effective weight of e; larger is better.
func (p *lrPicker) score(e *entry) float64 {
	a := float64(max(e.st.active.Load(), 0) + 1)
	if p.bias == 1 {
		return e.weight / a
	}
	return e.weight / math.Pow(a, p.bias)
}

func (p *lrPicker) pick(now time.Time, _ uint64, r *rand.Rand) (*entry, *state) {
	ramping := p.ramp.active(now)
	n := len(p.es)
	if p.choices >= n {
		e := scanAll(p.es, r, p.ramp.skipper(now, r, ramping), p.score, cmpFloat)
		return e, e.st
	}
	draw := sampler{r: r}
	if p.bias == 1 && !ramping {
		// The common case: weight/(active+1) compared by cross-multiplying,
		// the first two candidates from one random number.
		u := r.Uint64()
		best := scale32(u, n)
		bestActive := float64(max(p.states[best].active.Load(), 0) + 1)
		for c := 1; c < p.choices; c++ {
			i := scale32(u>>32, n)
			if c > 1 {
				i = draw.nextBelow(n)
			}
			a := float64(max(p.states[i].active.Load(), 0) + 1)
			if p.weights[i]*bestActive > p.weights[best]*a {
				best, bestActive = i, a
			}
		}
		return p.es[best], p.states[best]
	}
	best := p.es[p.ramp.draw(now, p.es, &draw, ramping)]
	bestScore := p.score(best)
	for c := 1; c < p.choices; c++ {
		e := p.es[p.ramp.draw(now, p.es, &draw, ramping)]
		if s := p.score(e); s > bestScore {
			best, bestScore = e, s
		}
	}
	return best, best.st
}

// sampler draws endpoint indices for the power of N choices, two
// per 64-bit random number: Lemire's multiply-shift on each 32-bit half. The
// bias, below n/2^32, is far beneath anything a balancer could notice, and
// halving the generator calls matters at tens of nanoseconds per pick.
type sampler struct {
	r    *rand.Rand
	bits uint64
	half bool // bits holds an unused upper half
}

// nextBelow returns an index in [0, m), m < 2^32.
func (s *sampler) nextBelow(m int) int {
	if s.half {
		s.bits >>= 32
	} else {
		s.bits = s.r.Uint64()
	}
	s.half = !s.half
	return scale32(s.bits, m)
}

// scale32 maps the low 32 bits of u to [0, m) by multiply-shift.
func scale32(u uint64, m int) int {
	return int(u & 0xffffffff * uint64(m) >> 32)
}

// scanAll returns the entry whose score is best (largest under better),
// choosing uniformly among ties (reservoir sampling) so that idle endpoints
// share the traffic. Entries for which skip (when not nil) reports true are
// left out, unless that would leave none.
func scanAll[S any](es []*entry, r *rand.Rand, skip func(*entry) bool, score func(*entry) S, better func(a, b S) int) *entry {
	var best *entry
	var bestScore S
	ties := 0
	for _, e := range es {
		if skip != nil && skip(e) {
			continue
		}
		s := score(e)
		c := 1
		if best != nil {
			c = better(s, bestScore)
		}
		switch {
		case c > 0:
			best, bestScore, ties = e, s, 1
		case c == 0:
			ties++
			if r.IntN(ties) == 0 {
				best = e
			}
		}
	}
	if best == nil {
		return scanAll(es, r, nil, score, better)
	}
	return best
}

// cmpFloat compares two scores.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

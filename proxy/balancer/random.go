package balancer

import (
	"math/rand/v2"
	"time"
)

// random is "random": a uniformly random available endpoint, as Envoy's
// random load balancer, or one drawn in proportion to weight when weights
// differ.
// Weighted draws use Vose's alias method, O(1) per pick. A ramping endpoint
// (slow start) is accepted with probability equal to its factor and redrawn
// otherwise, which draws in proportion to weight × factor exactly.
type random struct{}

func newRandom(Config) algorithm { return random{} }

// maxRedraws bounds slow-start rejection; with Envoy's 10% floor the expected
// number of draws is at most 10.
const maxRedraws = 64

func (random) newPicker(_ int, es []*entry, rp ramp) picker {
	p := &randomPicker{es: es, ramp: rp}
	p.prob, p.alias = aliasTable(es)
	return p
}

type randomPicker struct {
	es    []*entry
	ramp  ramp
	prob  []float64 // nil when weights are equal
	alias []int32
}

func (p *randomPicker) pick(now time.Time, _ uint64, r *rand.Rand) (*entry, *state) {
	ramping := p.ramp.active(now)
	for try := 0; ; try++ {
		i := r.IntN(len(p.es))
		if p.prob != nil && r.Float64() >= p.prob[i] {
			i = int(p.alias[i])
		}
		e := p.es[i]
		if !ramping || try == maxRedraws {
			return e, nil
		}
		if f := p.ramp.factor(now, e); f >= 1 || r.Float64() < f {
			return e, nil
		}
	}
}

// aliasTable builds Vose's alias table for the weights of es, or returns nils
// when the weights are all equal.
func aliasTable(es []*entry) (prob []float64, alias []int32) {
	total, uniform := 0.0, true
	for _, e := range es {
		total += e.weight
		uniform = uniform && e.weight == es[0].weight
	}
	if uniform {
		return nil, nil
	}
	n := len(es)
	prob, alias = make([]float64, n), make([]int32, n)
	scaled := make([]float64, n)
	var small, large []int32
	for i, e := range es {
		scaled[i] = e.weight * float64(n) / total
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		prob[s], alias[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		prob[i], alias[i] = 1, i
	}
	for _, i := range small { // only left by rounding
		prob[i], alias[i] = 1, i
	}
	return prob, alias
}

package balancer

import (
	"sync"
	"time"
)

// newWeightedRoundRobin returns "weighted_round_robin", nginx's smooth
// weighted round robin (a roundRobin with weights on): every pick,
// each endpoint's current weight grows by its weight, the endpoint with the
// largest current weight is chosen (the first on ties) and its current weight
// drops by the total. Over one period of Σweights picks each endpoint is
// chosen exactly weight times, and the choices interleave instead of coming in
// bursts ({a:5, b:1, c:1} gives a a b a c a a).
//
// The sequence depends only on the weights, so a group precomputes one period
// (weights reduced by their gcd) and picks with an atomic cursor, lock-free.
// Only when period × endpoints exceeds maxScheduleWork, or while a slow-start
// ramp changes the weights with time, does it run the algorithm per pick
// under a mutex, in O(endpoints).
func newWeightedRoundRobin(Config) algorithm { return &roundRobin{weighted: true} }

// maxScheduleWork bounds the precomputation, period × endpoints steps.
const maxScheduleWork = 1 << 22

// smoothSchedule returns one period of smooth weighted round robin over
// weights as indices, or nil when all weights are equal (plain rotation).
// dynamic reports that the period is too expensive to precompute.
func smoothSchedule(weights []int) (schedule []int32, dynamic bool) {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	period := 0
	uniform := true
	for _, w := range weights {
		period += w / g
		uniform = uniform && w == weights[0]
	}
	if uniform {
		return nil, false
	}
	if period*len(weights) > maxScheduleWork {
		return nil, true
	}
	current := make([]int, len(weights))
	schedule = make([]int32, period)
	for k := range schedule {
		best := 0
		for i, w := range weights {
			current[i] += w / g
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= period
		schedule[k] = int32(best)
	}
	return schedule, false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// smooth runs smooth weighted round robin pick by pick, with weights scaled
// by slow-start factors at the time of each pick.
type smooth struct {
	mu      sync.Mutex
	weights []float64
	current []float64
}

func newSmooth(weights []int) *smooth {
	s := &smooth{weights: make([]float64, len(weights)), current: make([]float64, len(weights))}
	for i, w := range weights {
		s.weights[i] = float64(w)
	}
	return s
}

// next picks from es, whose weights s was built with.
func (s *smooth) next(now time.Time, es []*entry, rp *ramp) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	total, best := 0.0, 0
	for i, e := range es {
		w := s.weights[i] * rp.factor(now, e)
		s.current[i] += w
		total += w
		if s.current[i] > s.current[best] {
			best = i
		}
	}
	s.current[best] -= total
	return es[best]
}

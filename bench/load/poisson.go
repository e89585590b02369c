package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

// PoissonPacer paces a Poisson arrival process: gaps between arrivals are
// exponential, drawn from a math/rand/v2 PCG stream seeded by Seed. A rate
// that varies over the window is drawn by thinning (Lewis and Shedler, as
// the simulator does): candidates at the peak rate, each kept with
// probability rate(t)/peak.
//
// Vegeta's Pacer contract asks Pace(elapsed, hits) to be a function of its
// arguments. A PoissonPacer keeps it: arrival n is a function of the seed
// and n alone (the stream is replayed from the start if an earlier arrival
// is asked for), so the schedule does not depend on when Pace is called or
// how late the attacker runs, and two runs with one seed offer the same
// arrivals. It remembers only the last arrival computed, so memory does not
// grow with the length of the run. It is safe for concurrent use.
type PoissonPacer struct {
	rate   func(elapsed time.Duration) float64
	peak   float64
	window time.Duration
	seed   uint64

	mu   sync.Mutex
	rng  *rand.Rand
	n    uint64        // index of the arrival held in at
	at   time.Duration // time of arrival n
	done bool          // arrival n, and all after it, fall after the window
	ok   bool          // rng, n and at are set
}

var _ vegeta.Pacer = (*PoissonPacer)(nil)

// NewPoissonPacer returns the Poisson process of the given rate over
// [0, window): rate(t) in events per second, never above peak.
func NewPoissonPacer(rate func(elapsed time.Duration) float64, peak float64, window time.Duration, seed uint64) (*PoissonPacer, error) {
	if rate == nil {
		return nil, fmt.Errorf("poisson pacer: no rate")
	}
	if peak < 0 || math.IsNaN(peak) || math.IsInf(peak, 0) {
		return nil, fmt.Errorf("poisson pacer: peak rate %v must be a non-negative number", peak)
	}
	return &PoissonPacer{rate: rate, peak: peak, window: window, seed: seed}, nil
}

// NewConstantPoissonPacer is a Poisson process of constant rate.
func NewConstantPoissonPacer(perSecond float64, window time.Duration, seed uint64) (*PoissonPacer, error) {
	return NewPoissonPacer(func(time.Duration) float64 { return perSecond }, perSecond, window, seed)
}

// Arrival returns the time of arrival n (from 0), and false when it falls
// at or after the window's end.
func (p *PoissonPacer) Arrival(n uint64) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ok || n < p.n {
		p.rng = rand.New(rand.NewPCG(p.seed, scenarios.ArrivalStream))
		p.n, p.at, p.done, p.ok = 0, 0, false, true
		p.at, p.done = p.next(0)
	}
	for p.n < n && !p.done {
		p.at, p.done = p.next(p.at)
		p.n++
	}
	if p.done {
		return 0, false
	}
	return p.at, true
}

// next draws the arrival after t; done when it is past the window. Each
// candidate moves time forward by at least a nanosecond, so the loop ends
// by the window's end.
func (p *PoissonPacer) next(t time.Duration) (time.Duration, bool) {
	if p.peak <= 0 {
		return 0, true
	}
	for {
		gap := p.rng.ExpFloat64() / p.peak * float64(time.Second)
		if float64(t)+gap >= float64(p.window) {
			// Compared as floats: a tiny rate's gap overflows a Duration.
			return 0, true
		}
		t += time.Duration(max(gap, 1))
		if t >= p.window {
			return 0, true
		}
		if p.rng.Float64()*p.peak <= p.rate(t) {
			return t, false
		}
	}
}

// Pace waits until arrival number hits, and stops when there is none
// before the window's end.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	t, ok := p.Arrival(hits)
	if !ok {
		return 0, true
	}
	return max(t-elapsed, 0), false
}

// Rate is the offered rate at elapsed.
func (p *PoissonPacer) Rate(elapsed time.Duration) float64 { return p.rate(elapsed) }

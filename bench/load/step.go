package load

import (
	"fmt"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Step is one level of a StepPacer: Rate events per second from At on.
type Step struct {
	At   time.Duration
	Rate float64
}

// StepPacer paces evenly spaced arrivals at a piecewise-constant rate, the
// scenario format's step shape: no arrivals before the first step, then
// each step's rate from its time on, until Window. Vegeta has no such
// pacer; this one keeps vegeta's contract, Pace being a pure function of
// (elapsed, hits): arrival n (from 0) is at the time the expected number of
// arrivals, the integral of the rate, reaches n, so the first arrival is at
// the start of the first step with a positive rate.
type StepPacer struct {
	steps  []Step
	window time.Duration
}

var _ vegeta.Pacer = (*StepPacer)(nil)

// NewStepPacer checks steps (sorted by At, rates not negative) and returns
// their pacer over [0, window).
func NewStepPacer(steps []Step, window time.Duration) (*StepPacer, error) {
	for i, s := range steps {
		if s.Rate < 0 || math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
			return nil, fmt.Errorf("step %d: rate %v must be a non-negative number", i, s.Rate)
		}
		if i > 0 && s.At < steps[i-1].At {
			return nil, fmt.Errorf("step %d at %s: steps must be in time order", i, s.At)
		}
	}
	return &StepPacer{steps: append([]Step(nil), steps...), window: window}, nil
}

// Arrival returns the time of arrival n, and false when it falls at or
// after the window's end.
func (p *StepPacer) Arrival(n uint64) (time.Duration, bool) {
	want := float64(n)
	done := 0.0 // expected arrivals before the current step
	for i, s := range p.steps {
		end := p.window
		if i+1 < len(p.steps) {
			end = min(p.steps[i+1].At, p.window)
		}
		if s.At >= p.window {
			break
		}
		if s.Rate <= 0 || end <= s.At {
			continue
		}
		span := (end - s.At).Seconds() * s.Rate
		if want < done+span {
			t := s.At + time.Duration((want-done)/s.Rate*float64(time.Second))
			if t >= p.window {
				return 0, false
			}
			return t, true
		}
		done += span
	}
	return 0, false
}

// Pace waits until arrival number hits, and stops when there is none
// before the window's end.
func (p *StepPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	t, ok := p.Arrival(hits)
	if !ok {
		return 0, true
	}
	return max(t-elapsed, 0), false
}

// Rate is the step's rate at elapsed.
func (p *StepPacer) Rate(elapsed time.Duration) float64 {
	r := 0.0
	for _, s := range p.steps {
		if s.At > elapsed {
			break
		}
		r = s.Rate
	}
	return r
}

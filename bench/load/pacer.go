package load

import (
	"fmt"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

// NewPacer returns the arrival process of an open-loop workload as a
// vegeta.Pacer whose elapsed time counts from the workload's start and
// which stops at the end of window (the workload's length, cut to the
// plan's end by the caller). Poisson arrivals (the default) are drawn from
// seed; constant arrivals use vegeta's pacers where one fits the shape (see
// the package documentation).
func NewPacer(w scenarios.Workload, window time.Duration, seed uint64) (vegeta.Pacer, error) {
	if w.Users != nil {
		return nil, fmt.Errorf("workload %q is closed loop (users): it has no pacer", w.Name)
	}
	shape := w.Shape
	if shape == nil {
		shape = &scenarios.Shape{Type: scenarios.ShapeConstant, Rate: w.Rate}
	}
	rateAt := func(elapsed time.Duration) float64 {
		return scenarios.Workload{Shape: shape, For: window}.RateAt(elapsed)
	}
	peak := peakRate(shape)
	if peak <= 0 || window <= 0 {
		return idlePacer{}, nil
	}
	if w.Arrival != scenarios.ArrivalConstant {
		if shape.Type == scenarios.ShapeConstant {
			return NewConstantPoissonPacer(peak, window, seed)
		}
		return NewPoissonPacer(rateAt, peak, window, seed)
	}
	switch shape.Type {
	case scenarios.ShapeConstant:
		return vegeta.ConstantPacer(vegetaRate(float64(shape.Rate))), nil
	case scenarios.ShapeRamp:
		slope := (float64(shape.To) - float64(shape.From)) / window.Seconds()
		if shape.From <= 0 {
			// vegeta's LinearPacer reads a zero start as "unbounded" and
			// spaces hits by the current rate, which a ramp from nothing
			// does not have yet.
			return rampFromZero{slope: slope, window: window}, nil
		}
		return vegeta.LinearPacer{StartAt: vegetaRate(float64(shape.From)), Slope: slope}, nil
	case scenarios.ShapeStep:
		steps := make([]Step, len(shape.Steps))
		for i, s := range shape.Steps {
			steps[i] = Step{At: s.At, Rate: float64(s.Rate)}
		}
		return NewStepPacer(steps, window)
	case scenarios.ShapeSine:
		mean, amp := float64(shape.Mean), math.Abs(float64(shape.Amplitude))
		if amp == 0 || shape.Period <= 0 {
			return vegeta.ConstantPacer(vegetaRate(mean)), nil
		}
		// vegeta requires the amplitude strictly below the mean; the
		// scenario format allows it equal (the rate touching zero).
		amp = min(amp, mean*0.999)
		return vegeta.SinePacer{
			Period:  shape.Period,
			Mean:    vegetaRate(mean),
			Amp:     vegetaRate(amp),
			StartAt: vegeta.MeanUp,
		}, nil
	}
	return nil, fmt.Errorf("workload %q: unknown shape %q", w.Name, shape.Type)
}

// peakRate bounds a shape's rate over its window.
func peakRate(s *scenarios.Shape) float64 {
	switch s.Type {
	case scenarios.ShapeRamp:
		return max(float64(s.From), float64(s.To), 0)
	case scenarios.ShapeStep:
		m := 0.0
		for _, st := range s.Steps {
			m = max(m, float64(st.Rate))
		}
		return m
	case scenarios.ShapeSine:
		return max(float64(s.Mean)+math.Abs(float64(s.Amplitude)), 0)
	}
	return max(float64(s.Rate), 0)
}

// rampFromZero paces evenly spaced arrivals at a rate rising linearly from
// zero, slope per second each second: arrival n (from 0) is when the
// expected count slope·t²/2 reaches n, t = √(2n/slope).
type rampFromZero struct {
	slope  float64
	window time.Duration
}

// Pace waits until arrival number hits.
func (p rampFromZero) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.slope <= 0 {
		return 0, true
	}
	t := time.Duration(math.Sqrt(2*float64(hits)/p.slope) * float64(time.Second))
	if t >= p.window {
		return 0, true
	}
	return max(t-elapsed, 0), false
}

// Rate is slope·elapsed.
func (p rampFromZero) Rate(elapsed time.Duration) float64 { return p.slope * elapsed.Seconds() }

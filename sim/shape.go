package sim

import (
	"math"
	"time"
)

type shapeKind uint8

const (
	shapeConstant shapeKind = iota
	shapeRamp
	shapeStep
	shapeSine
)

// rateShape is an offered rate over a load's window, in requests per second,
// as the scenario's shape block: constant, a linear ramp over the window,
// steps, or a sine wave.
type rateShape struct {
	kind      shapeKind
	rate      float64    // constant
	from, to  float64    // ramp
	steps     []rateStep // step, sorted by at; before the first step the rate is 0
	mean      float64    // sine
	amplitude float64
	period    time.Duration
}

// rateStep sets the rate from at (relative to the load's start) on.
type rateStep struct {
	at   time.Duration
	rate float64
}

// rateAt is the rate at offset since the load's start; window is the load's
// length (for the ramp). Negative rates read as zero.
func (s *rateShape) rateAt(offset, window time.Duration) float64 {
	var r float64
	switch s.kind {
	case shapeConstant:
		r = s.rate
	case shapeRamp:
		if window <= 0 {
			r = s.to
			break
		}
		f := float64(offset) / float64(window)
		r = s.from + (s.to-s.from)*math.Min(math.Max(f, 0), 1)
	case shapeStep:
		for _, st := range s.steps {
			if st.at > offset {
				break
			}
			r = st.rate
		}
	case shapeSine:
		if s.period <= 0 {
			r = s.mean
			break
		}
		r = s.mean + s.amplitude*math.Sin(2*math.Pi*float64(offset)/float64(s.period))
	}
	return math.Max(r, 0)
}

// maxRate bounds the rate over the window, for thinning.
func (s *rateShape) maxRate() float64 {
	switch s.kind {
	case shapeRamp:
		return math.Max(math.Max(s.from, s.to), 0)
	case shapeStep:
		m := 0.0
		for _, st := range s.steps {
			m = math.Max(m, st.rate)
		}
		return m
	case shapeSine:
		return math.Max(s.mean+math.Abs(s.amplitude), 0)
	}
	return math.Max(s.rate, 0)
}

// varies reports whether the rate changes over time.
func (s *rateShape) varies() bool {
	return s.kind != shapeConstant
}

// nextPositive returns the first offset >= offset at which the rate is
// positive, or window when there is none. Steps jump straight to the next
// step; smooth shapes are scanned at 1ms resolution.
func (s *rateShape) nextPositive(offset, window time.Duration) time.Duration {
	if s.kind == shapeStep {
		for _, st := range s.steps {
			if st.at > offset && st.rate > 0 {
				return st.at
			}
		}
		return window
	}
	for o := offset; o < window; o += time.Millisecond {
		if s.rateAt(o, window) > 0 {
			return o
		}
	}
	return window
}

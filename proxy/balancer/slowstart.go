package balancer

import (
	"math"
	"math/rand/v2"
	"time"
)

// SlowStart configures Envoy's slow start mode: an endpoint that joins the
// set (or becomes available again) gets a share of traffic that ramps up over
// Window instead of its full share at once, so a cold instance can warm its
// caches and JIT. During the window its weight is multiplied by
//
//	max(MinWeightPercent/100, timeFactor^(1/Aggression))
//	timeFactor = max(elapsed, 1s) / Window
//
// exactly as Envoy's slow_start_config. Endpoints present when the balancer
// is first populated do not ramp: when every endpoint is new there is nothing
// to shift load away from (Envoy notes slow start is ineffective then too).
//
// Envoy applies slow start to round robin and least request only. Here every
// balancer honours it: round_robin and weighted_round_robin switch to smooth
// weighted round robin over the ramped weights while a ramp is running;
// random, least_request and peak_ewma redraw a ramping endpoint with
// probability 1-factor (so it is drawn in proportion to weight × factor, and
// the load-aware ones then compare it on load as usual); the hash balancers
// admit a ramping endpoint for a key only when a key-derived number falls
// below its factor, so the keys it receives grow with the factor and stay.
type SlowStart struct {
	// Window is the ramp duration; zero disables slow start.
	Window time.Duration
	// Aggression shapes the ramp (1 is linear, larger is faster early);
	// zero means Envoy's default 1.0.
	Aggression float64
	// MinWeightPercent is the floor of the multiplier in percent; zero means
	// Envoy's default 10.
	MinWeightPercent float64
}

// Factor returns the weight multiplier of an endpoint elapsed after its
// slow-start window began: in (0, 1], reaching 1 at the end of the window.
// Zero fields take their defaults.
func (s SlowStart) Factor(elapsed time.Duration) float64 {
	if s.Window <= 0 || elapsed >= s.Window {
		return 1
	}
	t := float64(max(elapsed, time.Second)) / float64(s.Window)
	if t >= 1 {
		return 1
	}
	a := s.Aggression
	if a == 0 {
		a = 1
	}
	f := t
	if a != 1 {
		f = math.Pow(t, 1/a)
	}
	m := s.MinWeightPercent
	if m == 0 {
		m = 10
	}
	return max(f, m/100)
}

// ramp is a group's view of slow start: whether any member ramps and until
// when, so that the common case costs one comparison per pick.
type ramp struct {
	cfg   SlowStart
	on    bool
	until time.Time // latest rampEnd among members
}

// newRamp summarises es for slow start.
func newRamp(cfg SlowStart, es []*entry) ramp {
	r := ramp{cfg: cfg}
	for _, e := range es {
		if !e.ramping {
			continue
		}
		if !r.on || e.rampEnd.After(r.until) {
			r.until = e.rampEnd
		}
		r.on = true
	}
	return r
}

// active reports whether some member may still be ramping at now.
func (r *ramp) active(now time.Time) bool {
	return r.on && now.Before(r.until)
}

// factor returns e's slow-start multiplier at now.
func (r *ramp) factor(now time.Time, e *entry) float64 {
	if !e.ramping || !now.Before(e.rampEnd) {
		return 1
	}
	return r.cfg.Factor(now.Sub(e.rampStart))
}

// draw returns a random index into es for the power of N choices. While
// ramping it redraws a ramping endpoint with probability 1-factor, at most
// maxRedraws times, so that endpoints are drawn in proportion to their
// slow-start factors.
func (r *ramp) draw(now time.Time, es []*entry, s *sampler, ramping bool) int {
	i := s.nextBelow(len(es))
	for try := 0; ramping && try < maxRedraws && !r.keep(now, es[i], s.r); try++ {
		i = s.nextBelow(len(es))
	}
	return i
}

// drawOther is draw, while ramping, for a second candidate distinct from i.
func (r *ramp) drawOther(now time.Time, es []*entry, s *sampler, i int) int {
	for try := 0; ; try++ {
		j := s.nextBelow(len(es) - 1)
		if j >= i {
			j++
		}
		if try == maxRedraws || r.keep(now, es[j], s.r) {
			return j
		}
	}
}

// keep reports, with probability equal to e's slow-start factor, whether a
// draw of e stands.
func (r *ramp) keep(now time.Time, e *entry, rnd *rand.Rand) bool {
	f := r.factor(now, e)
	return f >= 1 || rnd.Float64() < f
}

// skipper returns the filter a full scan uses during slow start: it leaves
// out a ramping endpoint with probability 1-factor. It is nil when nothing
// ramps.
func (r *ramp) skipper(now time.Time, rnd *rand.Rand, ramping bool) func(*entry) bool {
	if !ramping {
		return nil
	}
	return func(e *entry) bool { return !r.keep(now, e, rnd) }
}

// admitKey reports whether a hash balancer lets key through to an endpoint
// with slow-start factor f. The test depends only on the key, so as f grows
// the admitted keys only grow, and a key once admitted stays.
func admitKey(key uint64, f float64) bool {
	return f >= 1 || unit(mix64(key^saltAdmit)) < f
}

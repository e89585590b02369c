package balancer

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// peakEWMA is "peak_ewma", Finagle's PeakEwma balancer as also used by
// Linkerd (tower): each endpoint's cost is a peak-sensitive exponentially
// weighted moving average of its latency, times its outstanding requests plus
// one; two distinct random endpoints are compared (power of two choices, as
// Finagle's and tower's P2C) and the cheaper wins. Choices above 2 add
// candidates drawn with replacement; when Choices covers every available
// endpoint they are all scanned.
//
// The average jumps up to any latency above it and otherwise moves toward
// each observation with weight 1-exp(-Δt/DecayTime), so a slow endpoint is
// avoided at once and forgiven gradually. Between observations the cost
// decays toward zero (Finagle's reads fold in an observation of 0), which
// makes idle endpoints cheap enough to be probed again.
//
// An endpoint with no observation yet costs DefaultRTT (tower's default RTT,
// decaying from when it was added) or, when DefaultRTT is zero, Finagle's
// rule: nothing while idle, a large penalty while it has outstanding
// requests. Costs are divided by weight; slow start thins the draws, as in
// least_request.
type peakEWMA struct {
	choices int
	decay   time.Duration
}

func newPeakEWMA(cfg Config) algorithm {
	return peakEWMA{choices: cfg.Choices, decay: cfg.DecayTime}
}

func (a peakEWMA) newPicker(_ int, es []*entry, rp ramp) picker {
	p := &ewmaPicker{es: es, ramp: rp, choices: a.choices, rate: 1 / float64(a.decay),
		states: make([]*state, len(es)), inverses: make([]float64, len(es))}
	for i, e := range es {
		p.states[i], p.inverses[i] = e.st, e.inverse
	}
	return p
}

// penalty is the cost of an unprobed endpoint with outstanding requests, in
// nanoseconds: Finagle's Long.MaxValue >> 16, about 39 hours.
const penalty = float64(math.MaxInt64 >> 16)

type ewmaPicker struct {
	es      []*entry
	ramp    ramp
	choices int
	rate    float64 // 1 / DecayTime in nanoseconds
	// What sizing up a candidate reads, by index (see lrPicker).
	states   []*state
	inverses []float64
}

// ewmaLoad is an endpoint's load in a form that compares without the current
// time: at time t the load is base × e^-((t-stamp)/tau). Comparing two loads
// needs one exponential of their stamps' difference instead of two decays to
// now, which halves the cost of a P2C pick.
type ewmaLoad struct {
	base  float64 // cost × (active+1) / weight, or 0 or penalty if unprobed
	stamp int64   // nanoseconds since the epoch
}

// load returns the load of one more request to the endpoint with state st
// and inverse weight inverse.
func load(st *state, inverse float64) ewmaLoad {
	c := math.Float64frombits(st.latency.cost.Load())
	active := max(st.active.Load(), 0)
	if c < 0 {
		return unprobedLoad(active)
	}
	return ewmaLoad{base: c * float64(active+1) * inverse, stamp: st.latency.stamp.Load()}
}

// unprobedLoad is Finagle's load of an endpoint without observations.
func unprobedLoad(active int64) ewmaLoad {
	if active > 0 {
		return ewmaLoad{base: penalty}
	}
	return ewmaLoad{}
}

// compare orders two loads: negative when a is lighter than b. Zero loads
// and penalties do not decay.
func (p *ewmaPicker) compare(a, b ewmaLoad) int {
	x, y := a.base, b.base
	if d := b.stamp - a.stamp; d != 0 && x != 0 && y != 0 && x != penalty && y != penalty {
		if d > 0 { // b is the fresher estimate: a has decayed more
			x *= expNeg(float64(d) * p.rate)
		} else {
			y *= expNeg(float64(-d) * p.rate)
		}
	}
	return cmpFloat(x, y)
}

func (p *ewmaPicker) pick(now time.Time, _ uint64, r *rand.Rand) (*entry, *state) {
	ramping := p.ramp.active(now)
	n := len(p.es)
	if p.choices >= n {
		e := scanAll(p.es, r, p.ramp.skipper(now, r, ramping),
			func(e *entry) ewmaLoad { return load(e.st, e.inverse) },
			func(a, b ewmaLoad) int { return p.compare(b, a) })
		return e, e.st
	}
	draw := sampler{r: r}
	var i, j int
	if ramping {
		i = p.ramp.draw(now, p.es, &draw, true)
		j = p.ramp.drawOther(now, p.es, &draw, i)
	} else { // both from one random number, j distinct from i
		u := r.Uint64()
		i, j = scale32(u, n), scale32(u>>32, n-1)
		if j >= i {
			j++
		}
	}
	best, bestLoad := i, load(p.states[i], p.inverses[i])
	if l := load(p.states[j], p.inverses[j]); p.compare(l, bestLoad) < 0 {
		best, bestLoad = j, l
	}
	for c := 2; c < p.choices; c++ {
		k := p.ramp.draw(now, p.es, &draw, ramping)
		if l := load(p.states[k], p.inverses[k]); p.compare(l, bestLoad) < 0 {
			best, bestLoad = k, l
		}
	}
	return p.es[best], p.states[best]
}

// ewma is one endpoint's peak EWMA of latency, lock-free: completions fold
// their latency in with a compare-and-swap on the cost, picks load the cost
// and stamp atomically. Cost and stamp are two words, so under concurrent
// completions a reader may pair a new cost with the previous stamp, which
// decays it by microseconds more than it should; in a single goroutine (the
// simulator) every value is exact. A negative cost means no observation yet;
// init must run before use.
type ewma struct {
	cost  atomic.Uint64 // math.Float64bits of nanoseconds, or of unprobed
	stamp atomic.Int64  // nanoseconds since the epoch of the last observation
	clock *clock        // immutable after init
}

// unprobed is the cost of an endpoint without observations.
const unprobed = -1.0

// clock is what all estimates of one balancer share: the epoch that stamps
// count from (the first Update's now) and the decay time constant.
type clock struct {
	epoch time.Time
	rate  float64 // 1 / DecayTime in nanoseconds
}

// init prepares the estimate for an endpoint added at now.
func (m *ewma) init(c *clock, now time.Time, defaultRTT time.Duration) {
	m.clock = c
	m.stamp.Store(int64(now.Sub(c.epoch)))
	if defaultRTT > 0 {
		m.cost.Store(math.Float64bits(float64(defaultRTT)))
	} else {
		m.cost.Store(math.Float64bits(unprobed))
	}
}

// observe folds a latency measured at now into the estimate, as Finagle's
// PeakEwma.observe: a peak replaces the cost, anything lower is averaged in
// with a weight that grows with the time since the last observation. The
// first observation becomes the estimate.
func (m *ewma) observe(now time.Time, latency time.Duration) {
	x := float64(max(latency, 0))
	clk := m.clock
	t := int64(now.Sub(clk.epoch))
	for {
		old := m.cost.Load()
		c := x
		if c0 := math.Float64frombits(old); x <= c0 { // never when unprobed
			w := expNeg(float64(max(t-m.stamp.Load(), 0)) * clk.rate)
			c = c0*w + x*(1-w)
		}
		if m.cost.CompareAndSwap(old, math.Float64bits(c)) {
			break
		}
	}
	for { // keep the latest stamp: completions may arrive out of order
		last := m.stamp.Load()
		if t <= last || m.stamp.CompareAndSwap(last, t) {
			return
		}
	}
}

// expNeg returns e^-x for x >= 0 with relative error below 1e-8, several
// times cheaper than math.Exp. Between close events (x < 2^-10, the common
// case) it is the Taylor polynomial to x², error below 2e-10, inlined.
func expNeg(x float64) float64 {
	if x > 0 && x < 1.0/1024 {
		return 1 - x + 0.5*x*x
	}
	return expNegFar(x)
}

// expNegFar is expNeg for any x: e^-x = 2^-n × e^r with n = round(x/ln2) and
// |r| <= ln2/2, e^r by its Taylor polynomial of degree 7 evaluated with
// Estrin's scheme (short dependency chains).
func expNegFar(x float64) float64 {
	if !(x > 0) { // also NaN
		return 1
	}
	if x > 700 {
		return 0
	}
	n := int(x*math.Log2E + 0.5)
	r := float64(n)*math.Ln2 - x
	r2 := r * r
	r4 := r2 * r2
	q0 := 1 + r
	q1 := 1.0/2 + r*(1.0/6)
	q2 := 1.0/24 + r*(1.0/120)
	q3 := 1.0/720 + r*(1.0/5040)
	p := (q0 + q1*r2) + (q2+q3*r2)*r4
	return p * math.Float64frombits(uint64(1023-n)<<52)
}

package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
)

// load is one workload's client population. Open-loop loads issue requests
// at the times of an arrival process regardless of answers (as vegeta's
// pacers); closed-loop loads are users that send one request, wait for its
// answer and think before the next.
type load struct {
	idx    int32
	spec   *loadSpec
	rng    *rand.Rand // keys: the same in every variant
	arr    *rand.Rand // Poisson arrivals: bench/load's stream (scenarios.ArrivalSeed), so the same as a real backend's
	users  *rand.Rand // client hops and think times, drawn as answers come
	route  *route     // nil: no route matches this load's requests
	authOK bool       // the load's requests pass the route's auth
	op     int16      // the operation the route's service serves them with (attempt.op)
	start  int64
	end    int64
	window time.Duration
	maxR   float64 // bound of the rate, for thinning
	// shift is the client hop when it is a constant: events then fire
	// when a request reaches the gateway, issued shift earlier, which saves
	// an event per request. -1 when the hop varies.
	shift int64
	seq   uint64         // requests issued: the consumer draw's sequence number
	who   *consumerNames // the consumers' identities for keyed limits, built on first use
	// bySource: the hash key is the consumer's source address (hashKey.sourceIP).
	bySource []uint64
	// fixedKey is set when the policy hashes a header or cookie that the
	// load's target carries: every request then has the same key, as with
	// Envoy's hash policy.
	fixedKey    uint64
	hasFixedKey bool
}

// hashKeyOf computes the key the policy's hash key gives the load's
// requests, with httpkey.Key, as the proxy does, on the headers the load
// sends. A header the target does not carry leaves the per-request key
// (the load's keySpace) in use; a source-IP key is keyBySource's.
func hashKeyOf(h balancer.HashKey, l *loadSpec) (uint64, bool) {
	if h.Header == "" && h.Cookie == "" {
		return 0, false
	}
	return httpkey.Key(balancer.HashKey{Header: h.Header, Cookie: h.Cookie}, loadHeaders(l.headers), "")
}

// loadHeaders are a workload's headers as httpkey reads them.
type loadHeaders map[string]string

func (h loadHeaders) Get(name string) string { return headerValue(h, name) }

func timeDur(ns int64) time.Duration { return time.Duration(ns) }

// firstArrival schedules the load's first request, or its users.
func (m *model) firstArrival(l *load) {
	if l.spec.users > 0 {
		for u := 0; u < l.spec.users; u++ {
			// Users start staggered by one think time, as a fleet of
			// clients that did not all boot at the same instant.
			t := l.start
			if l.spec.think != nil {
				t += int64(l.spec.think.Sample(l.users))
			}
			if t < l.end {
				m.at(t+max(l.shift, 0), event{kind: evUserWake, idx: l.idx, gen: uint32(u)})
			}
		}
		return
	}
	var t int64
	if l.spec.poisson {
		t = l.next(l.start)
	} else {
		off := time.Duration(0)
		if l.spec.shape.rateAt(0, l.window) <= 0 {
			off = l.spec.shape.nextPositive(0, l.window)
		}
		t = l.start + int64(off)
	}
	if t < l.end {
		m.at(t+max(l.shift, 0), event{kind: evArrival, idx: l.idx})
	}
}

// next returns the arrival after t, or l.end when there is none. Poisson
// arrivals are drawn by thinning (Lewis and Shedler): candidates at the
// peak rate, each kept with probability rate(t)/peak, with a thinning draw
// for every candidate even when the rate does not vary, as bench/load's
// PoissonPacer draws them from the same stream. Constant arrivals are
// spaced 1/rate(t) apart.
func (l *load) next(t int64) int64 {
	sh := &l.spec.shape
	if !l.spec.poisson {
		r := sh.rateAt(timeDur(t-l.start), l.window)
		if r <= 0 {
			off := sh.nextPositive(timeDur(t-l.start), l.window)
			return min(l.start+int64(off), l.end)
		}
		return t + int64(math.Max(1, float64(time.Second)/r))
	}
	if l.maxR <= 0 {
		return l.end
	}
	for {
		t += int64(math.Max(1, l.arr.ExpFloat64()/l.maxR*float64(time.Second)))
		if t >= l.end {
			return l.end
		}
		if u := l.arr.Float64(); !sh.varies() || u*l.maxR <= sh.rateAt(timeDur(t-l.start), l.window) {
			return t
		}
	}
}

// issuedAt is when the request whose arrival event fires now was issued.
func (l *load) issuedAt(now int64) int64 { return now - max(l.shift, 0) }

func (m *model) arrival(l *load) {
	t := l.issuedAt(m.t)
	if t >= l.end {
		return
	}
	var key uint64
	switch ks := l.spec.keySpace; {
	case l.hasFixedKey:
		key = l.fixedKey
	case ks > 0:
		key = uint64(l.rng.IntN(ks))
	default:
		key = l.rng.Uint64()
	}
	m.issue(l, t, -1, key)
	if next := l.next(t); next < l.end {
		m.at(next+max(l.shift, 0), event{kind: evArrival, idx: l.idx})
	}
}

func (m *model) userWake(l *load, user int32) {
	t := l.issuedAt(m.t)
	if t >= l.end {
		return
	}
	key := uint64(user)
	if ks := l.spec.keySpace; ks > 0 {
		key %= uint64(ks)
	}
	if l.hasFixedKey {
		key = l.fixedKey
	}
	m.issue(l, t, user, key)
}

// issue sends a client request, issued at t, to the gateway across the
// client hop.
func (m *model) issue(l *load, t int64, user int32, key uint64) {
	ex := m.newExchange()
	ex.load = l.idx
	ex.user = user
	ex.issued = t
	ex.lag = 0
	ex.key = key
	ex.src = m.gw.node
	ex.who = l.pick()
	if l.bySource != nil {
		ex.key = l.bySource[ex.who.Consumer]
	}
	m.inflight++
	m.issued++
	// The load generator's CPU for the request comes first.
	if m.host != nil && m.spend(compClient, l.spec.grpc, cpuJob{kind: jobClient, idx: ex.id, gen: ex.gen}) {
		return
	}
	m.toGateway(ex)
}

// toGateway sends a client request across the client hop to the gateway.
// A constant hop was already taken (the arrival event fired when the
// request reached the gateway: load.shift).
func (m *model) toGateway(ex *exchange) {
	if l := m.loads[ex.load]; l.shift < 0 {
		if ex.user < 0 {
			ex.lag = m.cal.lagCost()
		}
		if d := ex.lag + m.net.clientHop(l.users) + m.cal.clientCost(l.spec.grpc, m.host); d > 0 {
			m.at(m.t+d, event{kind: evGatewayIn, idx: ex.id})
			return
		}
	}
	m.gatewayIn(ex)
}

// answer delivers a client request's final answer across the client hop:
// one Result, and for a closed-loop user the next request after a think.
func (m *model) answer(ex *exchange, o outcome, rep *replica) {
	l := m.loads[ex.load]
	back := m.net.clientHop(l.users)
	r := bench.Result{
		Start:    timeDur(ex.issued),
		Latency:  timeDur(m.t + back - ex.issued),
		Status:   int(o.status),
		Kind:     o.kind,
		Workload: l.spec.name,
		// An open-loop request is issued at its arrival's time; it leaves
		// late by the calibrated load generator's lag (0 uncalibrated).
		Scheduled: ex.user < 0,
		Lag:       timeDur(ex.lag),
	}
	if l.route != nil {
		// The first route whose match takes the load's target, as
		// bench.RouteOf names it for the real backends.
		r.Route = l.route.spec.name
	}
	if ex.route != nil { // the request got past routing: its lifecycle counts
		r.Retries, r.Hedges = uint16(ex.req.Retries()), uint16(ex.req.Hedges())
	}
	if rep != nil {
		r.Instance = rep.id
	}
	m.sink.Record(r)
	if m.answered != nil {
		m.answered(ex.load, r)
	}
	m.inflight--
	if ex.user >= 0 {
		t := m.t + back
		if l.spec.think != nil {
			t += int64(l.spec.think.Sample(l.users))
		}
		if t < l.end {
			m.at(t+max(l.shift, 0), event{kind: evUserWake, idx: l.idx, gen: uint32(ex.user)})
		}
	}
}

package lifecycle

import (
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
)

// Cluster is the policy state of one upstream service as one proxy sees it,
// shared by the requests that go there: how an endpoint is chosen and fed
// back (Balancer), what admits a request and its tries (Concurrency,
// Admission, Breaker), and which endpoints may be chosen at all — those
// that active health checking has not found unhealthy (SetHealthy) and
// outlier detection has not ejected (Outlier, Sweep). The policy fields are
// set when it is built and read-only afterwards; the methods are safe for
// concurrent use.
type Cluster struct {
	Name     string
	Balancer balancer.Balancer
	// Admission holds Envoy's thresholds; nil: none.
	Admission *breaker.Admission
	// Breaker is the outcome breaker; nil: none.
	Breaker *breaker.Breaker
	// Outlier is outlier detection; nil: none.
	Outlier *outlier.Detector
	// Concurrency bounds the requests in flight to the cluster; nil: none.
	Concurrency ratelimit.ConcurrencyLimiter
	// Observe, when not nil, is told of breaker transitions, ejections and
	// returns.
	Observe func(Event)

	mu  sync.Mutex
	eps map[string]uint8 // the endpoints, with why each may not be picked: the bits below (0: it may)
}

// Why an endpoint is out of rotation.
const (
	unhealthy uint8 = 1 << iota // active health checking says so
	ejected                     // outlier detection ejected it
)

// SetEndpoints replaces the endpoint set (discovery). Endpoints that stay
// keep their health and ejection; a new endpoint is healthy unless
// healthy, when not nil, says otherwise (an active health check that has
// not passed yet).
func (c *Cluster) SetEndpoints(now time.Time, eps []balancer.Endpoint, healthy func(id string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make(map[string]uint8, len(eps))
	for _, e := range eps {
		bits, known := c.eps[e.ID]
		if !known && healthy != nil && !healthy(e.ID) {
			bits = unhealthy
		}
		next[e.ID] = bits
	}
	c.Balancer.Update(now, eps)
	if c.Outlier != nil {
		ids := make([]string, len(eps))
		for i, e := range eps {
			ids[i] = e.ID
		}
		c.Outlier.SetHosts(now, ids)
	}
	for id, bits := range next {
		if c.Outlier != nil && c.Outlier.Ejected(id) {
			bits |= ejected
		} else {
			bits &^= ejected
		}
		next[id] = bits
		if bits != 0 {
			c.Balancer.SetAvailable(now, id, false)
		}
	}
	c.eps = next
}

// SetHealthy applies an active health check's verdict on endpoint id.
func (c *Cluster) SetHealthy(now time.Time, id string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.setBit(now, id, unhealthy, false)
	} else {
		c.setBit(now, id, unhealthy, true)
	}
}

// Healthy reports whether active health checking has not taken endpoint
// id out.
func (c *Cluster) Healthy(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eps[id]&unhealthy == 0
}

// Ejected reports whether outlier detection has ejected endpoint id.
func (c *Cluster) Ejected(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eps[id]&ejected != 0
}

// Sweep runs outlier detection's interval at now (Envoy's success-rate and
// failure-percentage checks, and the return of endpoints whose ejection
// time has passed). The caller calls it every Outlier.Interval().
func (c *Cluster) Sweep(now time.Time) {
	if c.Outlier != nil {
		c.apply(c.Outlier.Sweep(now))
	}
}

// Uneject returns an ejected endpoint to service before its ejection time
// is over: Envoy does so when an active health check passes
// (successful_active_health_check_uneject_host).
func (c *Cluster) Uneject(now time.Time, id string) {
	if c.Outlier == nil || !c.Outlier.Ejected(id) {
		return
	}
	if ev, ok := c.Outlier.Uneject(now, id); ok {
		c.apply([]outlier.Event{ev})
	}
}

// record feeds one try's outcome to outlier detection.
func (c *Cluster) record(now time.Time, id string, o outlier.Outcome) {
	if c.Outlier != nil {
		if evs := c.Outlier.Record(now, id, o); len(evs) > 0 {
			c.apply(evs)
		}
	}
}

// apply takes ejected endpoints out of rotation and puts returned ones back.
func (c *Cluster) apply(evs []outlier.Event) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	for _, ev := range evs {
		c.setBit(ev.At, ev.ID, ejected, ev.Ejected)
	}
	c.mu.Unlock()
	if c.Observe != nil {
		for _, ev := range evs {
			kind := EventReturned
			if ev.Ejected {
				kind = EventEjected
			}
			c.Observe(Event{Kind: kind, Time: ev.At, Cluster: c.Name, Endpoint: ev.ID, Reason: ev.Reason.String()})
		}
	}
}

// setBit changes one reason an endpoint is out and tells the balancer when
// that changes whether it may be picked; under mu. Endpoints not in the
// set are ignored.
func (c *Cluster) setBit(now time.Time, id string, bit uint8, on bool) {
	old, known := c.eps[id]
	if !known {
		return
	}
	nb := old &^ bit
	if on {
		nb |= bit
	}
	if nb == old {
		return
	}
	c.eps[id] = nb
	if (old == 0) != (nb == 0) {
		c.Balancer.SetAvailable(now, id, nb == 0)
	}
}

// breakerRecord reports one try's outcome to the breaker.
func (c *Cluster) breakerRecord(now time.Time, success bool) {
	if tr := c.Breaker.Record(now, success); tr.Changed() && c.Observe != nil {
		c.Observe(Event{Kind: EventBreaker, Time: now, Cluster: c.Name, Breaker: tr})
	}
}

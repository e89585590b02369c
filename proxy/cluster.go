package proxy

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/health"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// cluster is one upstream service at run time: its endpoints, the
// policies that choose and guard them, and the connection pool that reaches
// them. The policies are the pure state machines of the policy packages; the
// cluster is where they meet the clock (time.Now() at every call) and I/O.
type cluster struct {
	name   string
	cfg    config.ClusterConfig // defaults applied
	env    *env
	scheme string

	transport upstreamClient
	rt        http.RoundTripper

	// lc is the policy state the requests' lifecycles share: balancer,
	// thresholds, breaker, outlier detection, concurrency limiter and
	// which endpoints may be picked.
	lc       lifecycle.Cluster
	health   *health.Tracker      // nil: no active health checks
	hcOK     []config.StatusRange // statuses of a healthy probe
	provider discovery.Provider

	mu   sync.Mutex // guards eps, view swaps and the health rng
	eps  map[string]*endpoint
	rng  *rand.Rand // for health jitter, under mu
	view atomic.Pointer[[]*endpoint]
	wake chan struct{} // nudges the health loop when endpoints are added

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// endpoint is one upstream instance of a cluster, with the counters the
// admin API shows. Whether it may be picked is the lifecycle cluster's to
// say (health checks and ejections).
type endpoint struct {
	id, addr, zone string
	weight         int

	inflight atomic.Int64
	requests atomic.Uint64
	failures atomic.Uint64
	ewma     atomic.Int64 // latency EWMA in ns, for the admin view only
}

// observe folds a latency into the endpoint's EWMA (weight 1/8, as TCP's
// smoothed RTT); it is for display, the balancers keep their own.
func (e *endpoint) observe(d time.Duration) {
	for {
		old := e.ewma.Load()
		nv := int64(d)
		if old != 0 {
			nv = old + (int64(d)-old)/8
		}
		if e.ewma.CompareAndSwap(old, nv) {
			return
		}
	}
}

// endpointFor maps a pick back to its endpoint: through the Tag index into
// the current view, or by ID when the view changed under the pick.
func (c *cluster) endpointFor(ep *balancer.Endpoint) *endpoint {
	if v := c.view.Load(); v != nil && ep.Tag >= 0 && ep.Tag < len(*v) {
		if e := (*v)[ep.Tag]; e.id == ep.ID {
			return e
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.eps[ep.ID]; ok {
		return e
	}
	return &endpoint{id: ep.ID, addr: ep.Addr, zone: ep.Zone}
}

// update applies a new endpoint set from discovery: endpoints that stay
// keep their state, new ones enter health checking (and wait for a passing
// check unless the health check config starts them healthy), and the
// lifecycle cluster gives the balancer and outlier detection the new set.
func (c *cluster) update(eps []discovery.Endpoint) {
	now := time.Now()
	c.mu.Lock()
	if c.sameSet(eps) {
		c.mu.Unlock()
		return
	}
	next := make(map[string]*endpoint, len(eps))
	view := make([]*endpoint, 0, len(eps))
	bal := make([]balancer.Endpoint, 0, len(eps))
	added := false
	for _, d := range eps {
		e, ok := c.eps[d.ID]
		if !ok || e.addr != d.Address || e.zone != d.Zone || e.weight != d.Weight {
			e = &endpoint{id: d.ID, addr: d.Address, zone: d.Zone, weight: d.Weight}
		}
		next[d.ID] = e
		bal = append(bal, balancer.Endpoint{ID: e.id, Addr: e.addr, Zone: e.zone, Weight: e.weight, Tag: len(view)})
		view = append(view, e)
	}
	var removed []string
	for id := range c.eps {
		if _, ok := next[id]; !ok {
			removed = append(removed, id)
			if c.health != nil {
				c.health.Remove(id)
			}
		}
	}
	var healthy func(string) bool
	if c.health != nil {
		healthy = func(id string) bool {
			c.health.Add(now, id, c.rng)
			added = true
			return c.health.Healthy(id)
		}
	}
	c.eps = next
	c.view.Store(&view)
	c.lc.SetEndpoints(now, bal, healthy)
	c.mu.Unlock()
	if c.env.metrics != nil {
		for _, id := range removed {
			c.env.metrics.forgetEndpoint(c.name, id)
		}
	}
	c.env.event(Event{Time: now, Kind: EventEndpoints, Cluster: c.name, Detail: strconv.Itoa(len(eps)) + " endpoints"})
	if added {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// sameSet reports whether eps is the set the cluster already has; under mu.
func (c *cluster) sameSet(eps []discovery.Endpoint) bool {
	v := c.view.Load()
	if v == nil || len(*v) != len(eps) {
		return false
	}
	for i, d := range eps {
		e := (*v)[i]
		if e.id != d.ID || e.addr != d.Address || e.zone != d.Zone || e.weight != d.Weight {
			return false
		}
	}
	return true
}

// observe is the lifecycle cluster's observer: breaker transitions,
// ejections and returns become events and metrics.
func (c *cluster) observe(ev lifecycle.Event) {
	switch ev.Kind {
	case lifecycle.EventEjected:
		c.env.metrics.ejections.WithLabelValues(c.name, ev.Reason).Inc()
		c.env.event(Event{Time: ev.Time, Kind: EventEjection, Cluster: c.name, Endpoint: ev.Endpoint, Detail: ev.Reason})
	case lifecycle.EventReturned:
		c.env.event(Event{Time: ev.Time, Kind: EventEjection, Cluster: c.name, Endpoint: ev.Endpoint, Up: true, Detail: ev.Reason})
	case lifecycle.EventBreaker:
		c.env.event(Event{Time: ev.Time, Kind: EventBreaker, Cluster: c.name, Up: ev.Breaker.To == breaker.Closed, Detail: ev.Breaker.String()})
	}
	if c.env.decisions != nil {
		c.env.decisions(ev)
	}
}

// start runs the cluster's background work: discovery watching, the
// outlier sweep and active health checks.
func (c *cluster) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.provider.Watch(ctx, c.update); err != nil {
			c.env.log.Error("discovery stopped", "cluster", c.name, "err", err)
		}
	}()
	if c.lc.Outlier != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.sweepLoop(ctx)
		}()
	}
	if c.health != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.healthLoop(ctx)
		}()
	}
}

// close stops the background work and closes idle upstream connections;
// requests still using the cluster finish on their connections.
func (c *cluster) close() {
	if c.stop != nil {
		c.stop()
	}
	c.wg.Wait()
	c.transport.CloseIdleConnections()
}

// sweepLoop calls the outlier detector's Sweep every Interval. This ticker
// is the one place where wall-clock time drives a policy by itself; every
// other policy call is made by a request and passes time.Now() at that
// moment.
func (c *cluster) sweepLoop(ctx context.Context) {
	t := time.NewTicker(c.lc.Outlier.Interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.lc.Sweep(now)
		}
	}
}

// snapshotEndpoints returns the endpoints sorted by ID, for the admin API.
func (c *cluster) snapshotEndpoints() []*endpoint {
	v := c.view.Load()
	if v == nil {
		return nil
	}
	out := slices.Clone(*v)
	slices.SortFunc(out, func(a, b *endpoint) int {
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	return out
}

package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/scenarios"
)

// maxDrain caps how long after the end of the load in-flight requests may
// take; what is still open then is answered as a timeout (see flush).
const maxDrain = time.Minute

// build turns a spec into a ready model: replicas, proxies with their policy
// objects, clients and faults, every component with its own random stream.
func build(s *spec, sink bench.Sink) (*model, error) {
	m := &model{
		cal:  s.calib,
		eng:  NewEngine[event](),
		sink: sink,
		end:  int64(s.duration),
		now:  Epoch,
		host: newHost(s.host, s.hostCurve),
	}
	if m.host != nil && m.cal != nil {
		m.host.caps = m.cal.pathCaps()
		if m.cal.lat != nil {
			m.cal.host, m.host.tracksRate = m.host, true
		}
	}
	svcByName := map[string]*service{}
	for i := range s.services {
		ss := &s.services[i]
		if _, dup := svcByName[ss.name]; dup {
			return nil, fmt.Errorf("service %q defined twice", ss.name)
		}
		if ss.serviceTime == nil {
			return nil, fmt.Errorf("service %q: no service time", ss.name)
		}
		if len(ss.operations) > maxOperations {
			return nil, fmt.Errorf("service %q: %d operations, at most %d", ss.name, len(ss.operations), maxOperations)
		}
		for _, op := range ss.operations {
			if op.serviceTime == nil || op.match == nil {
				return nil, fmt.Errorf("service %q: operation %q: no service time or match", ss.name, op.name)
			}
		}
		svc := &service{idx: int32(i), spec: ss}
		for j := 0; j < ss.replicas; j++ {
			zone := ""
			if len(ss.zones) > 0 {
				zone = ss.zones[j%len(ss.zones)]
			}
			id := ss.name + "[" + strconv.Itoa(j) + "]"
			r := &replica{
				id:        id,
				idx:       int32(len(m.replicas)),
				node:      int32(len(m.replicas)),
				zone:      m.net.zoneIndex(zone),
				svc:       svc,
				rng:       Stream(s.seed, "replica/"+id),
				conc:      max(ss.concurrency, 1),
				qcap:      max(ss.queue, 0),
				slow:      1,
				errRate:   ss.errorRate,
				errStatus: 500,
			}
			svc.reps = append(svc.reps, r)
			m.replicas = append(m.replicas, r)
		}
		m.services = append(m.services, svc)
		svcByName[ss.name] = svc
	}
	m.gw = &gateway{node: int32(len(m.replicas)), zone: m.net.zoneIndex(s.gateway.zone)}
	m.net.zoneOf = make([]int32, len(m.replicas)+1)
	for _, r := range m.replicas {
		m.net.zoneOf[r.node] = r.zone
	}
	m.net.zoneOf[m.gw.node] = m.gw.zone
	m.net.buildLinks(&s.network, m.gw.zone)
	m.cal.loopback(&m.net)

	// How long requests in flight may take when the load stops: the
	// longest request timeout, capped for plans without one.
	drain := s.policy.Timeouts.Request
	if drain <= 0 {
		drain = maxDrain
	}

	// The gateway's clusters and routes, configured by bench/dataplane as
	// the real backends configure their gateway, and built by proxy/config
	// as the proxy builds them. Limits shared by every route (the policy's
	// global or per-consumer limit, config.Config's top level) are one
	// limiter object at the head of each route's list, as in the proxy.
	gwClusters := map[string]*cluster{}
	gl, gc := dataplane.GatewayLimits(&s.policy)
	shared, err := config.Config{RateLimit: gl, ConsumerRateLimit: gc}.SharedPolicies()
	if err != nil {
		return nil, fmt.Errorf("policy rate limit: %w", err)
	}
	for i := range s.gateway.routes {
		rs := &s.gateway.routes[i]
		svc, ok := svcByName[rs.service]
		if !ok {
			return nil, fmt.Errorf("route %q: unknown service %q", rs.name, rs.service)
		}
		c, ok := gwClusters[rs.service]
		if !ok {
			cc := dataplane.Cluster(&s.policy, "gateway/"+svc.spec.name, s.gateway.zone, true)
			cc.Protocol = svc.spec.clusterProtocol()
			c, err = m.newCluster(s, cc, svc, m.gw.node)
			if err != nil {
				return nil, err
			}
			gwClusters[rs.service] = c
		}
		pol, err := dataplane.Route(&s.policy, &scenarios.Route{Name: rs.name, Timeout: rs.timeout, RateLimit: rs.rateLimit})
		if err != nil {
			return nil, err
		}
		lc, hk, err := newRoute(rs.name, pol, shared, c)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rs.name, err)
		}
		if d := lc.Timeout; d > 0 {
			drain = max(drain, d)
		}
		r := &route{spec: rs, lc: lc, cl: c, hashKey: hk, keyed: gc != nil, timers: m.newExTimers()}
		if gc != nil {
			r.key = s.policy.RateLimit.Key
		}
		m.gw.routes = append(m.gw.routes, r)
	}

	// The sidecars: every replica that calls other services has its own
	// data plane, as on the real backends (a sidecar per pod, or the proxy
	// embedded in it), with one cluster per callee — its own balancer
	// state, thresholds, breaker and outlier detection — balancing from
	// the replica's zone.
	for _, svc := range m.services {
		for _, r := range svc.reps {
			zone := m.net.zones[r.zone]
			// One cluster per callee, whether the service's own calls or an
			// operation's reach it.
			clusters := map[string]*cluster{}
			groupsOf := func(calls [][]string) ([][]*cluster, error) {
				var groups [][]*cluster
				for _, grp := range calls {
					var cs []*cluster
					for _, name := range grp {
						callee, ok := svcByName[name]
						if !ok {
							return nil, fmt.Errorf("service %q calls unknown service %q", svc.spec.name, name)
						}
						c, ok := clusters[name]
						if !ok {
							cname := r.id + "/" + name
							var err error
							cc := dataplane.Cluster(&s.policy, cname, zone, false)
							cc.Protocol = callee.spec.clusterProtocol()
							if c, err = m.newCluster(s, cc, callee, -1); err != nil {
								return nil, err
							}
							if c.route, _, err = newRoute(cname, dataplane.Sidecar(&s.policy), config.SharedPolicies{}, c); err != nil {
								return nil, err
							}
							clusters[name] = c
						}
						cs = append(cs, c)
					}
					if len(cs) > 0 {
						groups = append(groups, cs)
					}
				}
				return groups, nil
			}
			var err error
			if r.groups, err = groupsOf(svc.spec.calls); err != nil {
				return nil, err
			}
			for _, op := range svc.spec.operations {
				g, err := groupsOf(op.calls)
				if err != nil {
					return nil, fmt.Errorf("operation %q: %w", op.name, err)
				}
				r.opGroups = append(r.opGroups, g)
			}
		}
	}
	// Requests in flight when the load stops may finish for as long as the
	// longest request timeout, capped for plans with no timeout at all; the
	// second covers hops and back-offs around the deadline.
	m.drain = int64(min(drain, maxDrain) + time.Second)

	for i := range s.loads {
		ls := &s.loads[i]
		l := &load{
			idx:   int32(i),
			spec:  ls,
			rng:   Stream(s.seed, "load/"+ls.name),
			arr:   rand.New(rand.NewPCG(scenarios.ArrivalSeed(s.seed, i), scenarios.ArrivalStream)),
			users: Stream(s.seed, "load/"+ls.name+"/clients"),
			start: int64(ls.start),
			end:   m.end,
		}
		if ls.end > 0 && int64(ls.end) < l.end {
			l.end = int64(ls.end)
		}
		l.window = timeDur(l.end - l.start)
		l.shift = -1
		if m.net.client.isFixed && m.cal == nil {
			l.shift = int64(m.net.client.fixed)
		}
		l.maxR = ls.shape.maxRate()
		req := scenarios.Request{Method: ls.method, Path: ls.path, Host: ls.host, Headers: ls.headers}
		for _, r := range m.gw.routes {
			if r.spec.match.Matches(req) {
				l.route = r
				l.fixedKey, l.hasFixedKey = hashKeyOf(r.hashKey, ls)
				l.keyBySource(r.hashKey)
				l.authOK = r.spec.auth == nil || r.spec.auth.authorised(ls)
				l.op = operationOf(r.cl.svc.spec, req)
				break
			}
		}
		m.loads = append(m.loads, l)
	}

	for i := range s.faults {
		f, err := m.resolveFault(int32(i), &s.faults[i], svcByName)
		if err != nil {
			return nil, err
		}
		m.faults = append(m.faults, f)
	}
	if err := m.buildEdge(s); err != nil {
		return nil, err
	}
	m.buildRegistry(s)
	return m, nil
}

// maxOperations bounds a service's operations so that an attempt can carry
// its operation in an int16.
const maxOperations = 1<<15 - 1

// operationOf is the operation of svc that serves req when it comes from
// the gateway, as attempt.op numbers them: 1 + its index, or 0 for the
// service's own work. A load's requests all have its method and path, so
// build computes it once per load.
func operationOf(svc *serviceSpec, req scenarios.Request) int16 {
	for i := range svc.operations {
		if svc.operations[i].match.Matches(req) {
			return int16(i + 1)
		}
	}
	return 0
}

// newRoute builds the lifecycle route of a gateway route, or of a
// sidecar's calls, to c from its configuration under the limits every
// gateway route shares, and returns its hash key.
func newRoute(name string, pol config.Policy, shared config.SharedPolicies, c *cluster) (*lifecycle.Route, balancer.HashKey, error) {
	rp, err := pol.Policies()
	if err != nil {
		return nil, balancer.HashKey{}, err
	}
	rp = shared.Apply(rp)
	rt := &lifecycle.Route{Name: name, Clusters: []*lifecycle.Cluster{c.lc}, Limits: rp.Limits,
		Timeout: rp.Timeout, Retry: rp.Retry, Budget: rp.Budget, Hedger: rp.Hedger}
	return rt, rp.HashKey, rt.Check()
}

// newCluster builds one proxy's cluster of svc from its configuration.
func (m *model) newCluster(s *spec, cc config.ClusterConfig, svc *service, src int32) (*cluster, error) {
	name := cc.Name
	cp, err := cc.Policies(func(stream string) *rand.Rand { return Stream(s.seed, stream+"/"+name) })
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	c := &cluster{
		m:        m,
		idx:      int32(len(m.clusters)),
		name:     name,
		svc:      svc,
		src:      src,
		rng:      Stream(s.seed, "cluster/"+name),
		connect:  int64(config.Defaults(config.Config{Clusters: []config.ClusterConfig{cc}}).Clusters[0].Connection.ConnectTimeout.D()),
		perTryTL: m.newAttTimers(),
		reqTL:    m.newExTimers(),
		lc: &lifecycle.Cluster{Name: name, Balancer: cp.Balancer, Admission: cp.Admission, Breaker: cp.Breaker,
			Outlier: cp.Outlier, Concurrency: cp.Concurrency},
	}
	if t := cc.Thresholds; t.MaxRequests >= dataplane.Unbounded && t.MaxRetries >= dataplane.Unbounded {
		// Only max_requests and max_retries can refuse here (the simulator
		// has no connections for the others to count), and neither can:
		// the lifecycle need not count tries at all.
		c.lc.Admission = nil
	}
	c.pool = newPool(cc, len(svc.reps))
	c.tls = newConns(&s.policy, cc, svc.reps)
	m.cal.addCluster(c, cc)
	eps := make([]balancer.Endpoint, len(svc.reps))
	for i, r := range svc.reps {
		eps[i] = balancer.Endpoint{ID: r.id, Zone: m.net.zones[r.zone], Tag: i, Weight: svc.spec.weight(i)}
		c.reps = append(c.reps, r)
		c.ids = append(c.ids, r.id)
	}
	if cp.Outlier != nil {
		c.sweep = int64(cp.Outlier.Interval())
	}
	c.lc.SetEndpoints(m.clock(), eps, nil)
	if t := cp.Health; t != nil {
		c.hc = &healthState{t: t, timeout: int64(t.Config().Timeout)}
	}
	m.clusters = append(m.clusters, c)
	return c, nil
}

// resolveFault turns a fault's targets into replicas and node sets.
func (m *model) resolveFault(idx int32, fs *faultSpec, svcs map[string]*service) (*fault, error) {
	f := &fault{idx: idx, spec: fs}
	if fs.http != nil {
		return f, nil // a route's fault filter: no replica (edge.go)
	}
	nodes := len(m.replicas) + 1
	a, err := m.targetNodes(fs.target, svcs)
	if err != nil {
		return nil, fmt.Errorf("fault %d: %w", idx, err)
	}
	for n, in := range a {
		if in && n < len(m.replicas) {
			f.reps = append(f.reps, m.replicas[n])
		}
	}
	if fs.action == faultPartition {
		b := make([]bool, nodes)
		if fs.peer != nil {
			if b, err = m.targetNodes(*fs.peer, svcs); err != nil {
				return nil, fmt.Errorf("fault %d: peer: %w", idx, err)
			}
		} else {
			for n := range b {
				b[n] = !a[n]
			}
		}
		f.part = &partition{a: a, b: b}
	}
	return f, nil
}

func (m *model) targetNodes(t targetSpec, svcs map[string]*service) ([]bool, error) {
	set := make([]bool, len(m.replicas)+1)
	switch {
	case t.gateway:
		set[m.gw.node] = true
	case t.zone != "":
		found := false
		for _, r := range m.replicas {
			if m.net.zones[r.zone] == t.zone {
				set[r.node] = true
				found = true
			}
		}
		if m.net.zones[m.gw.zone] == t.zone {
			set[m.gw.node] = true
			found = true
		}
		if !found {
			return nil, fmt.Errorf("no replica in zone %q", t.zone)
		}
	default:
		svc, ok := svcs[t.service]
		if !ok {
			return nil, fmt.Errorf("unknown service %q", t.service)
		}
		if t.index >= len(svc.reps) {
			return nil, fmt.Errorf("%s[%d]: service has %d replicas", t.service, t.index, len(svc.reps))
		}
		for i, r := range svc.reps {
			if t.index < 0 || t.index == i {
				set[r.node] = true
			}
		}
	}
	return set, nil
}

// start schedules what begins the run: loads, faults, sweeps, health checks.
func (m *model) start() {
	for _, l := range m.loads {
		m.firstArrival(l)
	}
	m.scheduleFaults()
	m.startRegistry()
	for _, c := range m.clusters {
		if c.sweep > 0 {
			m.at(c.sweep, event{kind: evSweep, idx: c.idx})
		}
		if c.hc != nil {
			c.startHealthChecks()
		}
	}
}

package sim

import (
	"cmp"
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

// loopbackBelow is bench/local's minHopLatency: the local backend (and
// the containers backend, which uses its data plane) delays a hop only
// when the scenario's latency for it has a mean of a millisecond or more;
// a shorter hop is plain loopback, whose cost a calibration profile
// measured.
const loopbackBelow = time.Millisecond

// calib charges a calibration profile's hop costs (bench/calibration,
// measured by `meshbench calibrate` on the machine that runs the real
// backend), so that the simulator predicts that backend on that machine
// rather than an ideal one. It exists only when the plan carries a
// profile; without one nothing is charged and nothing is drawn.
//
// What is charged, each an independent draw from the profile's measured
// distribution (the calibration stream, so that no other component's
// draws move):
//
//   - a client request, once, on its way to the gateway: the load
//     generator's own latency (client; grpcClient for a gRPC workload,
//     when the profile measured it), and an open-loop request's schedule
//     lag before it (lag, when the profile measured it: the real
//     backends count latency from the intended send time, and the
//     simulator reports the lag as the request's, as they do);
//   - every try, on its hop into the replica: the replica's own latency
//     beyond its service time (replica: loopback both ways, its HTTP
//     server, its timer's lateness), and the proxy's added latency on the
//     path the real proxy takes for that try: at the gateway the general
//     path (bench/local's gateway wraps its clusters' transports to count
//     tries, which keeps it off the fast path); at a sidecar the fast
//     path for plain-text HTTP/1.1 clusters; over an h2c (gRPC) cluster,
//     at either, the gRPC hop (hops.grpc; the general path when the
//     profile has none); with mutual TLS on, the mtls hop at both (an
//     https cluster never takes the fast path), in place of hopcost.go's
//     TLSRequestCost, which the measurement includes; a new connection's
//     handshake is hopcost.go's, its CPU the profile's when it measured
//     it (handshakeCost). A sidecar's try also pays the client cost: the
//     replica calls its sidecar with net/http's client (the gRPC client
//     over an h2c cluster), as the load generator calls the gateway;
//   - every try into a replica of a service named payments that makes
//     calls (bench/local runs it as the fleet's payment role): the
//     payment role's own work beyond its service time and calls
//     (payments), added to the service time, since it holds the worker
//     (workCost);
//   - a hit of a route's response cache, which the gateway answers
//     itself: the hit figure (the general hop in a profile without one;
//     hitCost), after the client's cost;
//   - on the containers backend, every try also pays the containers
//     section's hop: Docker's published port and bridge; a sidecar's try
//     also its call, the way out of the calling replica's container to
//     its sidecar on the host.
//
// Every figure of the local section is charged times the profile's
// mesh-phase latency scale (calibration.MeshLatency; 1 without one): the
// figures were measured with each component alone, and the scale is what
// makes the simulator's median of the whole payment flow the one measured
// (docs/calibration.md). The containers section's are charged times the
// containers mesh's scale (the same, on that backend; 1 without one).
//
// With a host model (host.go), which runs the load generator's, the
// proxies' and the replicas' CPU per request as jobs on the shared cores,
// each of these latencies that holds one of those CPU figures is charged
// less it (netOfCPU): the client's, the proxy's hop on a request's first
// try, the replica's on every try, a cache hit's gateway hop. The CPU is
// then counted once, as a job that contention stretches.
//
// And the scenario's network latency is dropped where the real backend
// does not make it: the client's hop (the load generator reaches the
// gateway on loopback) and every hop whose latency has a mean under
// loopbackBelow, which the profile's loopback figures stand for.
type calib struct {
	rng     *rand.Rand
	client  *calibration.Dist
	lag     *calibration.Dist // the load generator's schedule lag; nil: none
	grpcCl  *calibration.Dist // a gRPC call's client and server; client when the profile has none
	replica *calibration.Dist
	pay     *calibration.Dist // the payment role's own cost
	extra   *calibration.Dist // containers: the bridge; nil on local
	call    *calibration.Dist // containers: a call's way out of its container; nil: none
	hops    *calibration.Hops
	mtls    bool
	shake   int64               // a mutual TLS handshake's CPU, ns: the profile's, or HandshakeCost
	scale   float64             // the mesh phase's latency scale on the local figures (1: none)
	lat     []scalePoint        // the scale by the host's job rate (latencyCurveOf); nil: scale alone
	host    *host               // the host model whose job rate lat reads; nil: scale alone
	xscale  float64             // the containers mesh's scale on extra and call (1: none)
	byCl    []*calibration.Dist // the proxy's hop cost by cluster index
	sidecar []bool              // the cluster is a sidecar's, by index
	payTo   []bool              // the cluster's replicas run the payment role
}

// newCalib is the plan's calibration, or nil.
func newCalib(p *scenarios.Plan, seed uint64, policy *scenarios.Policy) *calib {
	if p == nil || p.Profile == nil {
		return nil
	}
	backend := p.ProfileBackend
	if backend == "" {
		backend = calibration.BackendLocal
	}
	local, c, ok := p.Profile.Section(backend)
	if !ok || local == nil {
		return nil
	}
	var extra, call *calibration.Dist
	if c != nil {
		extra, call = c.Hop, c.Call
	}
	k := &calib{
		rng:     Stream(seed, "calibration"),
		client:  local.Client,
		lag:     local.Lag,
		grpcCl:  cmp.Or(local.GRPCClient, local.Client),
		replica: local.Replica,
		pay:     local.Payments,
		extra:   extra,
		call:    call,
		hops:    local.Hops,
		mtls:    policy.MTLSOn(),
		shake:   int64(HandshakeCost),
		scale:   local.LatencyScale(),
		lat:     latencyCurveOf(local),
		xscale:  c.ExtraScale(),
	}
	if local.Handshake != nil {
		k.shake = int64(local.Handshake.D())
	}
	return k
}

// handshakeCost is the CPU of a new connection under mutual TLS, its
// handshake above all: the profile's measurement of this machine when it
// has one (the whole new connection's cost, in profiles that measured
// it), else HandshakeCost.
func (k *calib) handshakeCost() int64 {
	if k == nil {
		return int64(HandshakeCost)
	}
	return k.shake
}

// addCluster records which path the real proxy takes for cluster c.
func (k *calib) addCluster(c *cluster, cc config.ClusterConfig) {
	if k == nil {
		return
	}
	d := k.hops.Fast
	h2c := cc.Protocol == config.ProtocolH2C
	switch {
	case k.mtls:
		d = k.hops.MTLS
	case h2c && k.hops.GRPC != nil:
		d = k.hops.GRPC
	case c.src >= 0 || h2c:
		d = k.hops.General
	}
	for len(k.byCl) <= int(c.idx) {
		k.byCl = append(k.byCl, nil)
		k.sidecar = append(k.sidecar, false)
		k.payTo = append(k.payTo, false)
	}
	// bench/local runs a service named payments that calls others as the
	// fleet's payment role (its flow: risk ‖ fraud, then the ledger).
	k.payTo[c.idx] = c.svc.spec.name == "payments" && len(c.svc.spec.calls) > 0
	k.byCl[c.idx] = d
	k.sidecar[c.idx] = c.src < 0
}

// loopback drops the network latency the real backend does not make.
func (k *calib) loopback(n *network) {
	if k == nil {
		return
	}
	n.client = link{isFixed: true}
	for i := range n.links {
		l := &n.links[i]
		mean := time.Duration(-1)
		if l.isFixed {
			mean = l.fixed
		} else if m, ok := l.latency.(interface{ Mean() time.Duration }); ok {
			mean = m.Mean()
		}
		if mean >= 0 && mean < loopbackBelow {
			*l = link{isFixed: true, loss: l.loss}
		}
	}
}

// clientCost is the load generator's cost for one client request of a
// workload that speaks gRPC (grpc) or HTTP, less the load generator's CPU
// for it when host h runs that CPU as a job of its own (netOfCPU).
func (k *calib) clientCost(grpc bool, h *host) int64 {
	if k == nil {
		return 0
	}
	d := k.client
	if grpc {
		d = k.grpcCl
	}
	return netOfCPU(k.draw(d), h, compClient, grpc)
}

// draw is one draw from a figure of the profile's local section, times
// the mesh phase's latency scale: each figure was measured with its
// component alone, and the scale is what makes the simulator's median of
// the whole payment flow the one the mesh phase measured
// (calibration.MeshLatency). With the mesh phase's latency curve and a
// host model, the scale is the curve's at the host's job rate
// (latencyScale), and the part of it above the curve's first point an
// exponential draw of that mean.
func (k *calib) draw(d *calibration.Dist) time.Duration {
	x := d.Sample(k.rng)
	s := k.latencyScale()
	if k.lat != nil && k.host != nil && s > k.lat[0].rel {
		// What the curve adds above its first point is a wait for a core:
		// mostly short, now and then long. It is charged as an
		// exponential draw of the same mean, so that the simulator's
		// tail grows with the load as a real process's does (on the
		// mesh flow at 1,000/s, p99 30.5 against 26.7 ms charged as a
		// constant factor, local 45.2 ms; docs/host-model.md).
		s0 := k.lat[0].rel
		return time.Duration(float64(x) * (s0 + (s-s0)*k.rng.ExpFloat64()))
	}
	if s != 1 {
		x = time.Duration(float64(x) * s)
	}
	return x
}

// latencyScale is the factor on the local section's figures now: the
// latency curve's at the host's job rate, as of the host's latest job
// (hostcurve.go; flat below the curve's first point, extended above its
// last as the CPU curve is), when the profile has a curve and the run a
// host model; else the mesh phase's scale.
//
// Why a curve: processor sharing stretches each job's CPU by the cores'
// contention, and nothing else. A real process on a loaded machine also
// makes a woken thread wait for a core its scheduler gives in turn, not
// in shares, and collects garbage more often; on a 2-core machine the
// payment flow's median rose from 11.6 to 15.3 ms between 800/s and
// 1400/s at 1.15 cores busy, where processor sharing added 1 ms
// (docs/host-model.md). The mesh phase measures the flow at rates up to
// near that knee, and each point's scale is the one at which the
// simulator, host model and CPU curve included, gives the median measured
// there: what the host model leaves out, measured by rate.
func (k *calib) latencyScale() float64 {
	if k.lat == nil || k.host == nil {
		return k.scale
	}
	// Below the first point the curve is flat: the figures were measured
	// alone at the calibration's rate, and a lighter load does not make a
	// hop cheaper than the whole flow at that rate found it (the first
	// segment's slope, carried down, made every library page but
	// capacity-knee 1–22% faster than with the scale alone).
	return scaleAt(k.lat, max(k.host.jobRate, k.lat[0].jobs))
}

// latencyCurveOf is the mesh phase's latency curve (calibration.
// MeshLatency.Curve), each point's scale as it is; nil without one.
func latencyCurveOf(l *calibration.Local) []scalePoint {
	if l == nil || l.Mesh == nil || len(l.Mesh.Curve) < 2 {
		return nil
	}
	out := make([]scalePoint, len(l.Mesh.Curve))
	for i, pt := range l.Mesh.Curve {
		out[i] = scalePoint{jobs: float64(pt.Jobs), rel: pt.Scale}
	}
	return out
}

// netOfCPU is a calibrated latency d less the CPU that the host model, when
// there is one (h), charges as a job of its own for the same work (cpu of
// its figures), at least 0. The profile measured each latency at a light
// load, where the component's CPU ran at once on an idle core, so the
// latency holds that CPU; the host model runs the same CPU on the shared
// cores, where contention stretches it. Charging both counted the CPU
// twice: at light load a cache hit, all of whose cost is the client's and
// the gateway's, came out 70% slower than measured (docs/calibration.md).
// The rest of the latency (waits, wake-ups, loopback) stays a delay.
func netOfCPU(d time.Duration, h *host, c component, grpc bool) int64 {
	if h == nil {
		return int64(d)
	}
	return max(int64(d)-h.onPath(c, grpc), 0)
}

// lagCost is the load generator's schedule lag for one open-loop request:
// how late, after its intended send time, the real load generator starts
// sending it (0 without the profile's lag).
func (k *calib) lagCost() int64 {
	if k == nil || k.lag == nil {
		return 0
	}
	return int64(k.draw(k.lag))
}

// tryCost is what try a's hop costs on the calibrated backend: the proxy's
// hop and the replica's, and from a sidecar the calling replica's client,
// each less the CPU host h runs as a job for it (netOfCPU): the replica's
// on every try (its job is per try), the proxy's on the first try only
// (its job is per request: the gateway's on the request's way in, a
// sidecar's on the call).
func (k *calib) tryCost(a *attempt, h *host) int64 {
	i := a.cl.idx
	grpc := a.cl.svc.spec.grpc // an h2c cluster (serviceSpec.clusterProtocol)
	hop := int64(k.draw(k.byCl[i]))
	if a.try == 1 {
		proxy := compGateway
		if k.sidecar[i] {
			proxy = compSidecar
		}
		hop = netOfCPU(time.Duration(hop), h, proxy, grpc)
	}
	d := hop + netOfCPU(k.draw(k.replica), h, compReplica, grpc)
	if k.sidecar[i] {
		cl := k.client
		if grpc {
			cl = k.grpcCl
		}
		// The calling replica's client: the host model charges no CPU of
		// its own for it (a replica's figure is its serving).
		d += int64(k.draw(cl))
		if k.call != nil {
			d += int64(float64(k.call.Sample(k.rng)) * k.xscale) // out of the caller's container
		}
	}
	if k.extra != nil {
		d += int64(float64(k.extra.Sample(k.rng)) * k.xscale)
	}
	return d
}

// hitCost is what an answer from the gateway's response cache costs
// beyond the client's own cost (clientCost, charged on the way in): the
// profile's hit, the round trip of a GET the calibration's caching proxy
// answered itself; or, in a profile without one, the general hop (a
// proxied exchange minus a direct one: the general path and one loopback
// round trip, without the cache's own work). Either is less the gateway's
// CPU when host h charged it as a job (netOfCPU) for a request of a gRPC
// workload (grpc) or not.
func (k *calib) hitCost(h *host, grpc bool) int64 {
	d := k.hops.General
	if k.hops.Hit != nil {
		d = k.hops.Hit
	}
	return netOfCPU(k.draw(d), h, compGateway, grpc)
}

// workCost is the payment role's own work on a try into payments (0 for
// any other): its idempotency store, JSON, fan-out and ledger write run in
// the handler after the service time, so it holds the worker, as the
// service time does; the slow fault does not scale it (bench/fleet scales
// the service time only).
func (k *calib) workCost(a *attempt) time.Duration {
	if k == nil || !k.payTo[a.cl.idx] {
		return 0
	}
	return k.draw(k.pay)
}

// hostOf is the plan's host block, with the calibration profile's CPU
// figures in place of CPU costs the block leaves out entirely: a scenario
// with `host: {cores: 2}` run with a profile models the machine with the
// CPU per request that `meshbench calibrate` measured for the backend it
// predicts. A block that gives any cost of its own is taken as written.
func hostOf(p *scenarios.Plan) *scenarios.Host {
	c := profileCPU(p)
	if c == nil {
		return p.Host
	}
	out := *p.Host
	// Each figure was measured with its component alone in the process;
	// the profile's scale says what they spend together (the mesh phase).
	d := func(x *config.Duration) time.Duration {
		if x == nil {
			return 0
		}
		return c.Scaled(x.D())
	}
	out.CPU = scenarios.HostCPU{Client: d(c.Client), Gateway: d(c.Gateway), Sidecar: d(c.Sidecar), Replica: d(c.Replica),
		GRPCProxy: d(c.GRPCProxy), GRPCCall: d(c.GRPCCall)}
	return &out
}

// profileCPU is the profile's CPU figures for the backend the plan
// predicts, when its host block takes them (hostOf); else nil.
func profileCPU(p *scenarios.Plan) *calibration.HostCPU {
	h := p.Host
	if h == nil || h.CPU != (scenarios.HostCPU{}) || p.Profile == nil {
		return nil
	}
	var measured *calibration.Host
	switch b := p.Profile.Backends; p.ProfileBackend {
	case calibration.BackendContainers:
		if b.Containers != nil {
			measured = b.Containers.Host
		}
	default:
		if b.Local != nil {
			measured = b.Local.Host
		}
	}
	if measured == nil {
		return nil
	}
	return measured.CPU
}

// curveOf is the profile's CPU scale curve (calibration.HostCPU.Curve)
// for a host block that takes the profile's figures, each point's scale
// relative to the profile's scale, which hostOf already applied; nil
// without one.
func curveOf(p *scenarios.Plan) []scalePoint {
	c := profileCPU(p)
	if c == nil || len(c.Curve) < 2 || c.Scale <= 0 {
		return nil
	}
	out := make([]scalePoint, len(c.Curve))
	for i, pt := range c.Curve {
		out[i] = scalePoint{jobs: float64(pt.Jobs), rel: pt.Scale / c.Scale}
	}
	return out
}

package sim

import "github.com/meshbench/meshbench/bench/calibration"

// How much of a component's CPU lies on a request's path. The host model
// runs a component's CPU per request as a job the request waits for. With
// a calibration profile that over-charges: the profile's CPU per request
// is the whole process's (getrusage) over the requests, and holds work no
// request waits for — the runtime's timers and garbage collector, a
// connection's read loop parking again after the answer went out — so a
// lone replica's CPU per request (over 300 µs on the 2-core machine)
// exceeds its whole latency beyond its service time (190 µs at the
// median). The work on the path is at most that latency. So with a
// profile each component's job is split: the part up to the least latency
// of the figure that holds it (its path cap) is a job the request waits
// for, and netOfCPU takes that part, and only it, off the latency; the
// rest is a job of its own, started when that part ends, that loads the
// cores, as the real work does, and holds nothing up (docs/host-model.md
// has the measurements). At a light load a request then takes what the profile's
// latencies add up to; under load both parts stretch alike and the
// machine saturates at the same rate. Without a profile (a scenario's own
// host block) a component's CPU is all on the path, as written.

// component is a piece of the mesh whose CPU per request the host model
// charges.
type component uint8

const (
	compClient  component = iota // the load generator, per client request
	compGateway                  // the gateway, per client request
	compSidecar                  // a caller's proxy, per call
	compReplica                  // a replica, per try it serves
	numComponents
)

// cpuOf is component c's CPU for one request, over gRPC or not.
func (h *host) cpuOf(c component, grpc bool) int64 {
	p := &h.cpu
	switch c {
	case compClient:
		return p.end(p.client, grpc)
	case compGateway:
		return p.proxy(p.gateway, grpc)
	case compSidecar:
		return p.end(p.proxy(p.sidecar, grpc), grpc)
	default:
		return p.end(p.replica, grpc)
	}
}

// onPath is the part of component c's CPU for one request that the
// request waits for: all of it up to its path cap, all of it without one
// (a negative cap).
func (h *host) onPath(c component, grpc bool) int64 {
	return h.capped(c, grpc, h.cpuOf(c, grpc))
}

// capped is x, component c's CPU, bounded by its path cap.
func (h *host) capped(c component, grpc bool, x int64) int64 {
	if cp := h.caps[c][b2i(grpc)]; cp >= 0 && x > cp {
		return cp
	}
	return x
}

// spend charges component c's CPU for one request at the model's now,
// scaled by the curve at the host's job rate (hostcurve.go): the part
// on the path as job j, whose completion continues the request and starts
// the part off the path as a background job. It reports whether j was started
// (false: nothing on the path; the caller goes on at once).
func (m *model) spend(c component, grpc bool, j cpuJob) bool {
	h := m.host
	all := h.cpuOf(c, grpc)
	path := h.capped(c, grpc, all)
	if all <= 0 {
		return false
	}
	if h.tracksRate {
		f := h.scale(m.t)
		all, path = int64(float64(all)*f), int64(float64(path)*f)
	}
	rest := all - path
	if path <= 0 {
		if rest > 0 {
			m.cpu(cpuJob{kind: jobBackground}, rest)
		}
		return false
	}
	// The rest follows the part on the path, as the same thread's work
	// after the answer (cpuDone starts it): run beside it, the two would
	// share the cores as two threads never do.
	j.rest = rest
	m.cpu(j, path)
	return true
}

// pathCaps are, by component and protocol ([0] HTTP, [1] gRPC), the
// least draw of the profile's latency figure (its p1, times its scale)
// that holds the component's work on a request's path: the client's own
// latency, the proxy's hop on the path the real proxy takes (mutual TLS
// when on; the gRPC hop over h2c; else the general path at the gateway and
// the fast path at a sidecar), the replica's own latency. The fastest a
// request was ever served bounds the CPU it waited for, and a cap no draw
// is below keeps netOfCPU from clamping: at a light load a request takes
// exactly what its latencies add up to.
func (k *calib) pathCaps() [numComponents][2]int64 {
	least := func(d *calibration.Dist) int64 {
		if d == nil {
			return 0
		}
		return int64(float64(d.Quantile(0)) * k.scale)
	}
	grpcHop := k.hops.General
	if k.hops.GRPC != nil {
		grpcHop = k.hops.GRPC
	}
	gw, side := k.hops.General, k.hops.Fast
	if k.mtls {
		gw, side, grpcHop = k.hops.MTLS, k.hops.MTLS, k.hops.MTLS
	}
	return [numComponents][2]int64{
		compClient:  {least(k.client), least(k.grpcCl)},
		compGateway: {least(gw), least(grpcHop)},
		compSidecar: {least(side), least(grpcHop)},
		compReplica: {least(k.replica), least(k.replica)},
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

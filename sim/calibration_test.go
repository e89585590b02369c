package sim

import (
	"fmt"
	"math"
	"slices"

	"github.com/meshbench/meshbench/bench"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/scenarios"
)

// constProfile is a profile whose every distribution is one value, so
// that a run's latencies are exact sums.
func constProfile(client, replica, fast, general, mtls, bridge time.Duration) *calibration.Profile {
	c := func(d time.Duration) *calibration.Dist {
		return calibration.NewDist(func(float64) time.Duration { return d }, d)
	}
	host := &calibration.Host{Cores: 2, CPU: &calibration.HostCPU{
		Client: calibration.D(0), Gateway: calibration.D(0), Sidecar: calibration.D(0), Replica: calibration.D(0)}}
	p := &calibration.Profile{
		Schema: calibration.Schema,
		Backends: calibration.Backends{Local: &calibration.Local{
			Client: c(client), Replica: c(replica), Payments: c(cPay),
			Hops: &calibration.Hops{Fast: c(fast), General: c(general), MTLS: c(mtls)},
			Host: host,
		}},
	}
	if bridge > 0 {
		p.Backends.Containers = &calibration.Containers{Hop: c(bridge), Call: c(cCall), Host: host}
	}
	return p
}

// calibrated gives s the profile's costs for backend.
func calibrated(s *spec, p *calibration.Profile, backend string) *spec {
	s.calib = newCalib(&scenarios.Plan{Profile: p, ProfileBackend: backend}, s.seed, &s.policy)
	return s
}

const (
	cClient  = 10 * time.Microsecond
	cReplica = 20 * time.Microsecond
	cFast    = 30 * time.Microsecond
	cGeneral = 40 * time.Microsecond
	cMTLS    = 50 * time.Microsecond
	cBridge  = 70 * time.Microsecond
	cPay     = 80 * time.Microsecond
	cCall    = 90 * time.Microsecond
)

// TestCalibrationCharges: in the payment fleet with constant times, a
// calibrated run's latencies are the work's critical path plus, exactly,
// the costs calibration.go documents: the client's once; at the gateway's
// try the general path and the replica; at each sidecar try the fast path,
// the replica and the caller's client; a try into payments (which calls
// others) its role's own cost; on containers every try the bridge, and a
// sidecar's try the call out of its container too (none with a profile
// written before the call was measured). The scenario's 500µs hops are
// loopback on the local backend (under a millisecond) and cost nothing
// more; 2ms hops are kept.
func TestCalibrationCharges(t *testing.T) {
	p := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, cBridge)
	old := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, cBridge)
	old.Backends.Containers.Call = nil
	gw := cGeneral + cReplica
	side := cFast + cReplica + cClient
	for _, tc := range []struct {
		name    string
		hop     time.Duration
		backend string
		net     time.Duration // network per hop, both ways, as charged
		bridge  time.Duration // per try
		call    time.Duration // per sidecar try
		p       *calibration.Profile
	}{
		{"loopback", 500 * time.Microsecond, calibration.BackendLocal, 0, 0, 0, p},
		{"delayed-hops", 2 * time.Millisecond, calibration.BackendLocal, 4 * time.Millisecond, 0, 0, p},
		{"containers", 500 * time.Microsecond, calibration.BackendContainers, 0, cBridge, cCall, p},
		{"containers-profile-without-call", 500 * time.Microsecond, calibration.BackendContainers, 0, cBridge, 0, old},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := runSpec(t, calibrated(operationsSpec(tc.hop), tc.p, tc.backend))
			g, sd := gw+tc.bridge+tc.net, side+tc.bridge+tc.call+tc.net
			checkout := cClient + g + cPay + 4*time.Millisecond + (sd + 3*time.Millisecond) + (sd + 2*time.Millisecond)
			lookup := cClient + g + cPay + time.Millisecond + (sd + 2*time.Millisecond)
			audit := cClient + g + 7*time.Millisecond
			checkFleetLatencies(t, rs, checkout, lookup, audit)
		})
	}
}

// TestCalibrationLatencyScale: the mesh phase's latency scale multiplies
// every figure of the local section (the client's, the gateway's general
// path, a sidecar's fast path, the replica's, the payment role's) and
// none of the containers section's; the containers mesh's scale
// multiplies those (the bridge, the call out of a container).
func TestCalibrationLatencyScale(t *testing.T) {
	for _, tc := range []struct {
		name, backend string
		xscale        float64
		bridge, call  time.Duration
	}{
		{"local", calibration.BackendLocal, 0, 0, 0},
		{"containers", calibration.BackendContainers, 0, cBridge, cCall},
		{"containers-scaled", calibration.BackendContainers, 3, 3 * cBridge, 3 * cCall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, cBridge)
			p.Backends.Local.Mesh = &calibration.MeshLatency{Scale: 0.5}
			if tc.xscale > 0 {
				p.Backends.Containers.Mesh = &calibration.MeshLatency{Scale: tc.xscale}
			}
			rs := runSpec(t, calibrated(operationsSpec(500*time.Microsecond), p, tc.backend))
			half := func(d time.Duration) time.Duration { return d / 2 }
			g := half(cGeneral+cReplica) + tc.bridge
			sd := half(cFast+cReplica+cClient) + tc.bridge + tc.call
			checkout := half(cClient) + g + half(cPay) + 4*time.Millisecond + (sd + 3*time.Millisecond) + (sd + 2*time.Millisecond)
			lookup := half(cClient) + g + half(cPay) + time.Millisecond + (sd + 2*time.Millisecond)
			audit := half(cClient) + g + 7*time.Millisecond
			checkFleetLatencies(t, rs, checkout, lookup, audit)
		})
	}
}

// TestCalibrationMTLS: under mutual TLS the gateway's try pays the mtls
// hop in place of the general path and of TLSRequestCost (which the
// measurement includes), and a new connection still its handshake.
//
// A profile that measured the handshake on its machine charges that
// figure in place of HandshakeCost.
func TestCalibrationMTLS(t *testing.T) {
	measured := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	measured.Backends.Local.Handshake = calibration.D(950 * time.Microsecond)
	for _, tc := range []struct {
		name  string
		p     *calibration.Profile
		shake time.Duration
	}{
		{"sim-figure", constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0), HandshakeCost},
		{"measured", measured, 950 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, _ := runModel(t, calibrated(tlsSpec(scenarios.MTLSStrict, 0), tc.p, calibration.BackendLocal))
			reused := time.Millisecond + cClient + cMTLS + cReplica
			for i, r := range rs {
				want := reused
				if i < 2 {
					want += tc.shake
				}
				if r.Latency != want {
					t.Fatalf("request %d: latency %v, want %v", i, r.Latency, want)
				}
			}
		})
	}
}

// TestCalibrationDeterministic: a calibrated run with distributions is a
// function of its seed, and without a profile nothing changes.
func TestCalibrationDeterministic(t *testing.T) {
	spread := func(lo, hi time.Duration) *calibration.Dist {
		return calibration.NewDist(func(q float64) time.Duration { return lo + time.Duration(q*float64(hi-lo)) }, (lo+hi)/2)
	}
	p := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	p.Backends.Local.Hops.General = spread(10*time.Microsecond, 900*time.Microsecond)
	a := runSpec(t, calibrated(fleetSpec(2, 4, time.Millisecond, 200, 5*time.Second, scenarios.BalancerRoundRobin), p, ""))
	b := runSpec(t, calibrated(fleetSpec(2, 4, time.Millisecond, 200, 5*time.Second, scenarios.BalancerRoundRobin), p, ""))
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d results", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("result %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
	plain := runSpec(t, fleetSpec(2, 4, time.Millisecond, 200, 5*time.Second, scenarios.BalancerRoundRobin))
	none := runSpec(t, calibrated(fleetSpec(2, 4, time.Millisecond, 200, 5*time.Second, scenarios.BalancerRoundRobin), nil, ""))
	if len(plain) != len(none) {
		t.Fatalf("%d and %d results", len(plain), len(none))
	}
	for i := range plain {
		if plain[i] != none[i] {
			t.Fatalf("result %d differs without a profile", i)
		}
	}
}

// TestHostFromProfile: a host block without CPU costs takes the profile's
// measured CPU for the backend predicted; a block with costs of its own,
// or a plan without a profile, keeps what it says.
func TestHostFromProfile(t *testing.T) {
	p := constProfile(0, 0, 0, 0, 0, time.Millisecond)
	p.Backends.Local.Host = &calibration.Host{Cores: 2, CPU: &calibration.HostCPU{
		Client: calibration.D(10 * time.Microsecond), Gateway: calibration.D(20 * time.Microsecond),
		Sidecar: calibration.D(30 * time.Microsecond), Replica: calibration.D(40 * time.Microsecond),
		GRPCProxy: calibration.D(60 * time.Microsecond), GRPCCall: calibration.D(70 * time.Microsecond)}}
	p.Backends.Containers.Host = &calibration.Host{Cores: 2, CPU: &calibration.HostCPU{Replica: calibration.D(90 * time.Microsecond)}}
	plan := func(h *scenarios.Host, prof *calibration.Profile, backend string) *scenarios.Plan {
		pl := &scenarios.Plan{Profile: prof, ProfileBackend: backend}
		pl.Host = h
		return pl
	}
	bare := &scenarios.Host{Cores: 2}
	if got := hostOf(plan(bare, p, calibration.BackendLocal)); got.Cores != 2 || got.CPU != (scenarios.HostCPU{Client: 10 * time.Microsecond, Gateway: 20 * time.Microsecond, Sidecar: 30 * time.Microsecond, Replica: 40 * time.Microsecond,
		GRPCProxy: 60 * time.Microsecond, GRPCCall: 70 * time.Microsecond}) {
		t.Errorf("local: host %+v", got)
	}
	if got := hostOf(plan(bare, p, calibration.BackendContainers)); got.CPU != (scenarios.HostCPU{Replica: 90 * time.Microsecond}) {
		t.Errorf("containers: host %+v", got)
	}
	if bare.CPU != (scenarios.HostCPU{}) {
		t.Error("hostOf changed the plan's own host block")
	}
	own := &scenarios.Host{Cores: 1, CPU: scenarios.HostCPU{Gateway: time.Microsecond}}
	if got := hostOf(plan(own, p, calibration.BackendLocal)); got != own {
		t.Errorf("a host with costs of its own became %+v", got)
	}
	if got := hostOf(plan(bare, nil, "")); got != bare {
		t.Errorf("without a profile: %+v", got)
	}
	if got := hostOf(plan(nil, p, calibration.BackendLocal)); got != nil {
		t.Errorf("without a host block: %+v", got)
	}
	// A measured scale (the mesh phase's) multiplies every figure.
	p.Backends.Local.Host.CPU.Scale = 0.5
	if got := hostOf(plan(bare, p, calibration.BackendLocal)); got.CPU != (scenarios.HostCPU{Client: 5 * time.Microsecond, Gateway: 10 * time.Microsecond, Sidecar: 15 * time.Microsecond, Replica: 20 * time.Microsecond,
		GRPCProxy: 30 * time.Microsecond, GRPCCall: 35 * time.Microsecond}) {
		t.Errorf("scaled by 0.5: host %+v", got)
	}
}

// TestCalibrationCacheHit: with a profile, a cache hit pays the client's
// cost and the profile's hit (the round trip of an answer the gateway's
// cache gave), or the gateway's general hop in a profile without one;
// without a profile it pays the scenario's client hop alone.
func TestCalibrationCacheHit(t *testing.T) {
	run := func(p *calibration.Profile, host *scenarios.Host) []bench.Result {
		s := cachedEdge(t, "")
		s.host = host
		return runSpec(t, calibrated(s, p, ""))
	}
	// hits are the least, the mean and the greatest latency of the hits.
	hits := func(rs []bench.Result) (lo, avg, hi time.Duration) {
		n := 0
		lo = time.Hour
		for _, r := range rs {
			if r.Instance == "" && r.OK() {
				lo, hi = min(lo, r.Latency), max(hi, r.Latency)
				avg += r.Latency
				n++
			}
		}
		if n < 1000 {
			t.Fatalf("%d hits", n)
		}
		return lo, avg / time.Duration(n), hi
	}
	want := cClient + cGeneral
	if lo, _, hi := hits(run(constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0), nil)); lo != want || hi != want {
		t.Errorf("hits took %v to %v, want every one client + general = %v", lo, hi, want)
	}
	const cHit = 75 * time.Microsecond
	withHit := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	withHit.Backends.Local.Hops.Hit = calibration.NewDist(func(float64) time.Duration { return cHit }, cHit)
	if lo, _, hi := hits(run(withHit, nil)); lo != cClient+cHit || hi != cClient+cHit {
		t.Errorf("with the profile's hit, hits took %v to %v, want every one client + hit = %v", lo, hi, cClient+cHit)
	}
	if lo, _, hi := hits(run(nil, nil)); lo != hi || lo != 400*time.Microsecond {
		t.Errorf("without a profile hits took %v to %v, want the client hop alone (400µs)", lo, hi)
	}
}

// TestCalibrationGRPC: with a profile that measured gRPC, a try over an
// h2c cluster (a service of protocol grpc) pays the gRPC hop in place of
// the fast or general path, a sidecar's try the gRPC client in place of
// net/http's, and a gRPC workload's request the gRPC client too; a profile
// without the gRPC figures charges the HTTP ones (the general path, the
// client) as before.
func TestCalibrationGRPC(t *testing.T) {
	const cGRPC, cGRPCClient = 60 * time.Microsecond, 110 * time.Microsecond
	c := func(d time.Duration) *calibration.Dist {
		return calibration.NewDist(func(float64) time.Duration { return d }, d)
	}
	measured := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	measured.Backends.Local.Hops.GRPC = c(cGRPC)
	measured.Backends.Local.GRPCClient = c(cGRPCClient)
	for _, tc := range []struct {
		name              string
		p                 *calibration.Profile
		hop, client, side time.Duration
	}{
		{"measured", measured, cGRPC, cGRPCClient, cGRPC + cReplica + cGRPCClient},
		{"profile-without-grpc", constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0), cGeneral, cClient, cGeneral + cReplica + cClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := runSpec(t, calibrated(grpcOperationsSpec(500*time.Microsecond), tc.p, calibration.BackendLocal))
			g := tc.hop + cReplica
			checkout := tc.client + g + cPay + 4*time.Millisecond + (tc.side + 3*time.Millisecond) + (tc.side + 2*time.Millisecond)
			lookup := tc.client + g + cPay + time.Millisecond + (tc.side + 2*time.Millisecond)
			audit := tc.client + g + 7*time.Millisecond
			checkFleetLatencies(t, rs, checkout, lookup, audit)
		})
	}
}

// checkFleetLatencies checks that operationsSpec's run answered every
// request, its 40 checkouts, 20 lookups and 10 audits each in exactly the
// latency given.
func checkFleetLatencies(t *testing.T, rs []bench.Result, checkout, lookup, audit time.Duration) {
	t.Helper()
	count := map[time.Duration]int{}
	for _, r := range rs {
		if r.Status != 200 {
			t.Fatalf("unexpected result %+v", r)
		}
		count[r.Latency]++
	}
	if len(count) != 3 || count[checkout] != 40 || count[lookup] != 20 || count[audit] != 10 {
		t.Errorf("latencies %v, want 40 checkouts of %v, 20 lookups of %v and 10 audits of %v", count, checkout, lookup, audit)
	}
}

// TestCalibrationLag: with a profile that measured the load generator's
// schedule lag, every open-loop request leaves that much after its
// intended send time — a cache hit, which nothing else delays, takes lag +
// client + general, and its Result carries the lag — while a closed-loop
// user's request, which has no schedule, pays none; without the figure no
// request lags.
func TestCalibrationLag(t *testing.T) {
	const cLag = 130 * time.Microsecond
	users := "  - {name: users, target: {path: \"/v1/payments/{payment}\"}, users: {count: 4, thinkTime: 50ms}}\n"
	run := func(p *calibration.Profile) []bench.Result {
		return runSpec(t, calibrated(cachedEdge(t, users), p, ""))
	}
	lagged := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	lagged.Backends.Local.Lag = calibration.NewDist(func(float64) time.Duration { return cLag }, cLag)
	for _, tc := range []struct {
		name string
		p    *calibration.Profile
		lag  time.Duration
	}{
		{"measured", lagged, cLag},
		{"profile-without-lag", constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits, closed int
			for _, r := range run(tc.p) {
				if r.Workload == "users" {
					closed++
					if r.Lag != 0 || r.Scheduled {
						t.Fatalf("a closed-loop request lagged %v (scheduled %v)", r.Lag, r.Scheduled)
					}
					if r.Instance == "" && r.OK() && r.Latency != cClient+cGeneral {
						t.Fatalf("a closed-loop hit took %v, want client + general = %v", r.Latency, cClient+cGeneral)
					}
					continue
				}
				if r.Lag != tc.lag {
					t.Fatalf("an open-loop request lagged %v, want %v", r.Lag, tc.lag)
				}
				if r.Instance == "" && r.OK() {
					hits++
					if want := tc.lag + cClient + cGeneral; r.Latency != want {
						t.Fatalf("a hit took %v, want lag + client + general = %v", r.Latency, want)
					}
				}
			}
			if hits < 1000 || closed < 100 {
				t.Fatalf("%d open-loop hits, %d closed-loop requests", hits, closed)
			}
		})
	}
}

// TestCalibrationHostCPUOnce: a calibrated latency holds the CPU its
// component spent on the request's path, so with a host model, which runs
// that CPU as a job of its own, the latency is charged less it (netOfCPU).
// On a host of many cores, where no job waits, a request then takes
// exactly as long as without the host model, request by request: the CPU
// is counted once. Through the mesh's sidecars and calls, and for a cache
// hit.
func TestCalibrationHostCPUOnce(t *testing.T) {
	p := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
	cpu := scenarios.HostCPU{Client: 4 * time.Microsecond, Gateway: 15 * time.Microsecond, Sidecar: 12 * time.Microsecond, Replica: 9 * time.Microsecond}
	many := &scenarios.Host{Cores: 1000, CPU: cpu}
	run := func(s *spec, h *scenarios.Host) ([]time.Duration, *model) {
		s.host = h
		var out []time.Duration
		rs, m := runModel(t, calibrated(s, p, ""))
		for _, r := range rs {
			if !r.OK() {
				t.Fatalf("unexpected result %+v", r)
			}
			out = append(out, r.Latency)
		}
		return out, m
	}
	latencies := func(s *spec, h *scenarios.Host) []time.Duration {
		out, _ := run(s, h)
		return out
	}
	mesh := func() *spec { return operationsSpec(500 * time.Microsecond) } // its calls go through sidecars
	if got, want := latencies(mesh(), many), latencies(mesh(), nil); !slices.Equal(got, want) {
		t.Errorf("through the mesh, with the host model:\n got %v\nwant %v", got[:6], want[:6])
	}
	// CPU beyond the latency that holds it is off the path
	// (hostpath.go): no request is slower for it, and the host still
	// serves all of it.
	big := cpu
	big.Client = cClient + 25*time.Microsecond
	got, m := run(mesh(), &scenarios.Host{Cores: 1000, CPU: big})
	if want := latencies(mesh(), nil); !slices.Equal(got, want) {
		t.Errorf("a client CPU 25µs above the client's latency:\n got %v\nwant %v", got[:6], want[:6])
	}
	_, m0 := run(mesh(), many)
	if d := time.Duration(m.host.busyNS - m0.host.busyNS); d != time.Duration(len(got))*(big.Client-cpu.Client) {
		t.Errorf("the host served %v more for %d requests' client CPU %v above its latency, want all of it", d, len(got), big.Client-cClient)
	}
	// With a cache, a lookup's outcome depends on when it meets the cache
	// against when an earlier lookup's answer filled it, and on how many
	// payments have been created by then. The host model charges the
	// client's and the gateway's CPU as jobs on the host's cores, not as
	// the delays it charges without one: the end-to-end latency is the
	// same, but those instants can move, and a lookup arriving close
	// enough to a fill changes from hit to miss or back (4 of 4,465 with
	// this seed). Every request whose outcome is the same keeps its
	// latency.
	edge := func(h *scenarios.Host) []bench.Result {
		s := cachedEdge(t, "")
		s.host = h
		rs, _ := runModel(t, calibrated(s, p, ""))
		return rs
	}
	withHost, without := edge(many), edge(nil)
	if len(withHost) != len(without) {
		t.Fatalf("with a cache: %d results with the host model, %d without", len(withHost), len(without))
	}
	flips := 0
	for i, r := range withHost {
		w := without[i]
		if hit, wasHit := r.Instance == "" && r.OK(), w.Instance == "" && w.OK(); hit != wasHit {
			flips++
			continue
		}
		if r.Latency != w.Latency || r.Status != w.Status {
			t.Errorf("with a cache, request %d: %v (%d) with the host model, %v (%d) without", i, r.Latency, r.Status, w.Latency, w.Status)
			break
		}
	}
	if flips*200 > len(withHost) {
		t.Errorf("with a cache: %d of %d lookups changed between hit and miss with the host model, want under 0.5%%", flips, len(withHost))
	}
	// A figure whose least draw is 0 (a difference of two noisy
	// measurements, clamped) bounds its component's CPU on the path to
	// nothing: all of it is off the path, none of it "unbounded".
	p = constProfile(0, cReplica, cFast, cGeneral, cMTLS, 0)
	if got, want := latencies(mesh(), many), latencies(mesh(), nil); !slices.Equal(got, want) {
		t.Errorf("a client latency of 0 and a client CPU of %v:\n got %v\nwant %v", cpu.Client, got[:6], want[:6])
	}
}

// TestCalibrationLatencyCurve: with a host model, the mesh phase's latency
// curve, not its single scale, multiplies the local figures, at the
// host's job rate; without one, the single scale does.
func TestCalibrationLatencyCurve(t *testing.T) {
	cpu := scenarios.HostCPU{Client: 4 * time.Microsecond, Gateway: 15 * time.Microsecond, Sidecar: 12 * time.Microsecond, Replica: 9 * time.Microsecond}
	many := &scenarios.Host{Cores: 1000, CPU: cpu}
	latencies := func(m *calibration.MeshLatency, h *scenarios.Host) []time.Duration {
		p := constProfile(cClient, cReplica, cFast, cGeneral, cMTLS, 0)
		p.Backends.Local.Mesh = m
		s := operationsSpec(500 * time.Microsecond)
		s.host = h
		var out []time.Duration
		for _, r := range runSpec(t, calibrated(s, p, "")) {
			out = append(out, r.Latency)
		}
		return out
	}
	flat := func(scale float64) []calibration.LatencyPoint {
		return []calibration.LatencyPoint{{Rate: 10, Jobs: 90, Scale: scale}, {Rate: 20, Jobs: 180, Scale: scale}}
	}
	curve := &calibration.MeshLatency{Scale: 0.5, Curve: flat(2)}
	if got, want := latencies(curve, many), latencies(&calibration.MeshLatency{Scale: 2}, many); !slices.Equal(got, want) {
		t.Errorf("a curve of 2 over a scale of 0.5, with a host:\n got %v\nwant %v", got[:6], want[:6])
	}
	if got, want := latencies(curve, nil), latencies(&calibration.MeshLatency{Scale: 0.5}, nil); !slices.Equal(got, want) {
		t.Errorf("a curve of 2 over a scale of 0.5, without a host:\n got %v\nwant %v", got[:6], want[:6])
	}
	// A curve that rises with the rate: requests pay more as the job-rate
	// estimate climbs from 0 toward the run's (about 9 jobs per request
	// at 35 requests per second); below the first point, its scale.
	rising := &calibration.MeshLatency{Scale: 1, Curve: []calibration.LatencyPoint{{Rate: 5, Jobs: 45, Scale: 0.5}, {Rate: 40, Jobs: 360, Scale: 2}}}
	got, half := latencies(rising, many), latencies(&calibration.MeshLatency{Scale: 0.5}, many)
	flat1 := latencies(&calibration.MeshLatency{Scale: 1}, many)
	if len(got) != len(flat1) || len(got) < 20 {
		t.Fatalf("%d and %d results", len(got), len(flat1))
	}
	if got[0] != half[0] {
		t.Errorf("the first request, at a job rate near 0, took %v: want %v, as at the first point's scale", got[0], half[0])
	}
	var late, late1 time.Duration
	for i := len(got) / 2; i < len(got); i++ {
		late, late1 = late+got[i], late1+flat1[i]
	}
	if late <= late1 {
		t.Errorf("the second half's requests, at about 315 jobs/s, took %v in all: want above the unscaled %v", late, late1)
	}
}

// TestLatencyWait: above the curve's first point, what the curve adds is
// an exponential draw: its mean is the curve's, its median ln 2 of it;
// at or below the first point a draw is its figure times the scale.
func TestLatencyWait(t *testing.T) {
	const x = 100 * time.Microsecond
	fig := calibration.NewDist(func(float64) time.Duration { return x }, x)
	k := &calib{rng: Stream(1, "calibration"), scale: 1, lat: []scalePoint{{jobs: 1000, rel: 1}, {jobs: 2000, rel: 3}}, host: &host{}}
	k.host.jobRate = 2000
	const n = 20000
	draws := make([]float64, n)
	var sum float64
	for i := range draws {
		draws[i] = float64(k.draw(fig))
		sum += draws[i]
	}
	slices.Sort(draws)
	// 100µs at scale 1, plus an exponential of mean 200µs.
	if mean := sum / n; math.Abs(mean-300e3) > 6e3 {
		t.Errorf("mean draw %.0fns, want 300µs", mean)
	}
	if med := draws[n/2]; math.Abs(med-(100e3+200e3*math.Ln2)) > 6e3 {
		t.Errorf("median draw %.0fns, want %.0fns", med, 100e3+200e3*math.Ln2)
	}
	if draws[0] < 100e3 {
		t.Errorf("least draw %.0fns, below the first point's 100µs", draws[0])
	}
	k.host.jobRate = 1000
	for range 10 {
		if d := k.draw(fig); d != x {
			t.Fatalf("at the first point: draw %v, want %v", d, x)
		}
	}
}

// TestLatencyScale: the latency scale is the curve's at the host's job
// rate, or the single scale without a curve or a host.
func TestLatencyScale(t *testing.T) {
	curve := []scalePoint{{jobs: 1000, rel: 1}, {jobs: 4000, rel: 2}}
	h := &host{}
	for _, tc := range []struct {
		k    *calib
		rate float64
		want float64
	}{
		{&calib{scale: 0.9}, 2000, 0.9},
		{&calib{scale: 0.9, lat: curve}, 2000, 0.9}, // no host
		{&calib{scale: 0.9, lat: curve, host: h}, 1000, 1},
		{&calib{scale: 0.9, lat: curve, host: h}, 2000, math.Sqrt2},
		{&calib{scale: 0.9, lat: curve, host: h}, 500, 1}, // flat below the first point
		{&calib{scale: 0.9, lat: curve, host: h}, 0, 1},
		{&calib{scale: 0.9, lat: curve, host: h}, 16000, 2 * math.Sqrt2}, // the last segment, to twice the last rate
		{&calib{scale: 0.9, lat: curve, host: h}, 1e6, 2 * math.Sqrt2},
	} {
		h.jobRate = tc.rate
		if got := tc.k.latencyScale(); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("latencyScale at %g jobs/s, curve %v, host %v: %v, want %v", tc.rate, tc.k.lat != nil, tc.k.host != nil, got, tc.want)
		}
	}
}

// TestHostPathWithoutProfile: a scenario's own host block, with no
// profile, puts all of a component's CPU on the request's path: a request
// waits for its client's, gateway's and replica's CPU in turn.
func TestHostPathWithoutProfile(t *testing.T) {
	s := hostSpec(&scenarios.Host{Cores: 1000, CPU: scenarios.HostCPU{Client: 200 * time.Microsecond, Gateway: 300 * time.Microsecond, Replica: 500 * time.Microsecond}}, 10, 5*time.Second)
	base := hostSpec(nil, 10, 5*time.Second)
	got, want := runSpec(t, s), runSpec(t, base)
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d and %d results", len(got), len(want))
	}
	for i := range got {
		if d := got[i].Latency - want[i].Latency; d != time.Millisecond {
			t.Fatalf("request %d: %v slower with the host, want the 1ms of CPU on its path", i, d)
		}
	}
}

// cachedEdge is edgeFleet with a 30s cache on lookups, and extra (YAML
// lines) in its load section.
func cachedEdge(t *testing.T, extra string) *spec {
	t.Helper()
	pl, err := scenarios.LoadBytes("edge.yaml", []byte(fmt.Sprintf(edgeFleet, extra+"policy: {cache: {routes: [lookup], ttl: 30s}}\n")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := specFromPlan(pl, 0, pl.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package measure

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/internal/cputime"
	"github.com/meshbench/meshbench/proxy/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// TestLocalTiny runs every phase on a tiny bounded load and checks that
// it measured something and makes a valid profile. It asserts no speed:
// only that latencies and CPU are positive where they must be.
func TestLocalTiny(t *testing.T) {
	res, p := localTiny(t)
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calibration.Parse("measured.yaml", b); err != nil {
		t.Fatalf("the measured profile does not load: %v\n%s", err, b)
	}
	if q := quantile(res.Phases["direct"].Hist, 0.5); q < tinyConfig.ServiceTime {
		t.Errorf("direct p50 %v below the service time %v", q, tinyConfig.ServiceTime)
	}
}

// TestMeshScale: the mesh's CPU per request over the components' sum for
// the payment flow (client, gateway, four replicas, three sidecars),
// within the profile's bounds.
func TestMeshScale(t *testing.T) {
	us := func(n int) *config.Duration { return calibration.D(time.Duration(n) * time.Microsecond) }
	c := &calibration.HostCPU{Client: us(100), Gateway: us(100), Sidecar: us(50), Replica: us(200)}
	// 100 + 100 + 200 + 3 × (50 + 200) = 1150µs.
	for _, tc := range []struct {
		mesh time.Duration
		want float64
	}{{920 * time.Microsecond, 0.8}, {1150 * time.Microsecond, 1}, {time.Microsecond, 0.1}, {time.Second, 4}} {
		if got := meshScale(tc.mesh, c); got != tc.want {
			t.Errorf("meshScale(%v) = %v, want %v", tc.mesh, got, tc.want)
		}
	}
	if got := meshScale(time.Millisecond, &calibration.HostCPU{Client: us(0), Gateway: us(0), Sidecar: us(0), Replica: us(0)}); got != 0 {
		t.Errorf("components of no CPU: scale %v, want none", got)
	}
}

// TestSolveScale: the bisection finds the scale at which a median that
// grows with it reaches the one wanted, to three decimals, and stops at a
// bound the median cannot get past; an error from the simulator stops it.
func TestSolveScale(t *testing.T) {
	// A flow of 10ms of service time and 2ms of charged latency.
	median := func(s float64) (time.Duration, error) {
		return 10*time.Millisecond + time.Duration(s*float64(2*time.Millisecond)), nil
	}
	for _, tc := range []struct {
		want  time.Duration
		scale float64
	}{
		{11500 * time.Microsecond, 0.75},
		{12 * time.Millisecond, 1},
		{13 * time.Millisecond, 1.5},
		{10100 * time.Microsecond, 0.1}, // below what 0.1 gives: the bound
		{9 * time.Millisecond, 0.1},
		{30 * time.Millisecond, 4},
	} {
		got, err := solveScale(tc.want, 4, median)
		if err != nil || got != tc.scale {
			t.Errorf("solveScale(%v) = %v, %v; want %v", tc.want, got, err, tc.scale)
		}
	}
	// A scale so high that the simulator answers nothing is above any
	// median wanted: the bisection goes on below it.
	got, err := solveScale(13*time.Millisecond, 4, func(s float64) (time.Duration, error) {
		if s > 3 {
			return unanswered, nil
		}
		return median(s)
	})
	if err != nil || got != 1.5 {
		t.Errorf("solveScale with no answer above 3 = %v, %v; want 1.5", got, err)
	}
	calls := 0
	_, err = solveScale(11*time.Millisecond, 4, func(float64) (time.Duration, error) {
		calls++
		return 0, errors.New("no run")
	})
	if err == nil || calls != 1 {
		t.Errorf("a failing simulator: err %v after %d runs", err, calls)
	}
}

// TestMeshTopRate: the third rate is where the CPU curve through the
// first two keeps meshBusy of the cores busy, rounded down to 50/s and
// within meshTopMin–meshTopMax times the rate.
func TestMeshTopRate(t *testing.T) {
	us := func(n int) time.Duration { return time.Duration(n) * time.Microsecond }
	for _, tc := range []struct {
		name      string
		low, high time.Duration
		cores     int
		want      int
	}{
		// This machine's profile: 1376µs at 400/s, 1067µs at 800/s; the
		// law r × 1067µs × (r/800)^-0.367 reaches 1.2 cores at 1,368/s.
		{"2-core machine", us(1376), us(1067), 2, 1350},
		// Flat CPU per request: 1.2 cores at 1.2/CPU, within 2.5–5×.
		{"flat", us(1000), us(1000), 2, 1200},
		{"flat, floor", us(2000), us(2000), 2, 1000},
		{"flat, ceiling", us(500), us(500), 2, 2000},
		{"flat, between", us(800), us(800), 2, 1500},
		// A big machine: the bound.
		{"many cores", us(1000), us(800), 64, 2000},
		// CPU per request falling faster than 1/rate: no root, the bound.
		{"steep", us(1000), us(400), 2, 2000},
		{"no figures", 0, 0, 2, 2000},
	} {
		if got := meshTopRate(400, tc.low, tc.high, tc.cores); got != tc.want {
			t.Errorf("%s: meshTopRate = %d, want %d", tc.name, got, tc.want)
		}
	}
	// A rate so low that the floor would fall on the second rate.
	if got := meshTopRate(10, us(1000), us(1000), 1); got <= 20 {
		t.Errorf("meshTopRate(10/s) = %d, want above twice the rate", got)
	}
}

// TestMeshSinkCheck: the warm-up is not counted, up to 1% of failures
// pass, and more is refused with the failures by kind.
func TestMeshSinkCheck(t *testing.T) {
	s := &meshSink{from: time.Second}
	if err := s.check(); err == nil {
		t.Error("a mesh with no request passes")
	}
	s.Record(bench.Result{Start: 0, Kind: bench.KindTimeout}) // warm-up
	for i := range 200 {
		k := bench.KindOK
		if i < 2 {
			k = bench.KindStatus5xx
		}
		s.Record(bench.Result{Start: time.Second + time.Duration(i), Kind: k})
	}
	if err := s.check(); err != nil {
		t.Errorf("1%% failed: %v", err)
	}
	s.Record(bench.Result{Start: 2 * time.Second, Kind: bench.KindTimeout})
	err := s.check()
	if err == nil || !strings.Contains(err.Error(), "3 of 201 requests failed (timeout 1, status_5xx 2)") {
		t.Errorf("over 1%% failed: %v", err)
	}
}

// TestPastKnee: a containers mesh is past its knee when it failed (the
// sink's check) or its median is over meshPastKnee times the local
// mesh's; not on any other error, nor without a local mesh to judge by.
func TestPastKnee(t *testing.T) {
	local := &calibration.MeshLatency{P50: config.Duration(11 * time.Millisecond)}
	failed := (&meshSink{requests: 100, failed: 5, byKind: map[bench.Kind]int64{bench.KindTimeout: 5}}).check()
	for _, tc := range []struct {
		name string
		m    *Mesh
		err  error
		lm   *calibration.MeshLatency
		want string
	}{
		{"healthy", &Mesh{P50: 20 * time.Millisecond}, nil, local, ""},
		{"at the bound", &Mesh{P50: 33 * time.Millisecond}, nil, local, ""},
		{"slow", &Mesh{P50: 449 * time.Millisecond}, nil, local, "median 449ms, over 3 times the local mesh's 11ms"},
		{"failed", nil, failed, local, "5 of 100 requests failed (timeout 5)"},
		{"failed, wrapped", nil, fmt.Errorf("run: %w", failed), local, "5 of 100 requests failed (timeout 5)"},
		{"another error", nil, errors.New("start ledger[1]: address already in use"), local, ""},
		{"no local mesh", &Mesh{P50: 449 * time.Millisecond}, nil, nil, ""},
	} {
		if got := pastKnee(tc.m, tc.err, tc.lm); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s: pastKnee = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestContainersTiny runs the containers phases (a risk replica in a
// container, and the payment flow in one calling replicas in this process
// on the run network's host address) on a tiny load, and checks that each
// measured every request and that the profile with the section loads.
// Without Docker it skips, unless MESHBENCH_REQUIRE_DOCKER=1 (CI).
func TestContainersTiny(t *testing.T) {
	ctx := context.Background()
	if err := containers.Available(ctx); err != nil {
		if os.Getenv("MESHBENCH_REQUIRE_DOCKER") == "1" {
			t.Fatalf("Docker is required: %v", err)
		}
		t.Skipf("no Docker: %v", err)
	}
	res, p := localTiny(t)
	c, note, err := Containers(ctx, res.Config, res)
	if err != nil || c == nil {
		t.Fatalf("containers: %v (%s)", err, note)
	}
	if c.Hop == nil || c.Call == nil || c.Host == nil {
		t.Fatalf("incomplete section: %+v", c)
	}
	// A load this small measures CPU in whole 10ms ticks: check only
	// that the figures exist and that the machine's CPU can be read.
	if c.Host.CPU.Replica == nil || c.Host.CPU.Sidecar == nil || c.Host.CPU.Replica.D() < 0 || c.Host.CPU.Sidecar.D() < 0 {
		t.Errorf("CPU per request: %+v", c.Host.CPU)
	}
	if cputime.Machine() <= 0 {
		t.Error("the machine's CPU (/proc/stat) reads as none")
	}
	// The containers mesh: the payment flow on the containers backend and
	// the scale on hop and call. A machine busy with other tests can fail
	// a mesh this short (then the section has none, and says so in the
	// log); one that ran measured the flow's service times at least.
	switch m := c.Mesh; {
	case m == nil:
		t.Log("the containers mesh was skipped")
	case m.P50.D() < 9*time.Millisecond || m.P99 < m.P50 || m.Predicted <= 0 || m.Scale < 0.1 || m.Scale > 4:
		t.Errorf("containers mesh %+v", m)
	default:
		// The flow's whole-machine CPU, and the scale on the figures.
		if cpu := c.Host.CPU; cpu.Mesh == nil || cpu.Mesh.D() <= 0 || cpu.Scale < 0.1 || cpu.Scale > 4 {
			t.Errorf("containers mesh ran, but the CPU is mesh %v, scale %v", cpu.Mesh, cpu.Scale)
		}
	}
	p.Backends.Containers = c
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := calibration.Parse("measured.yaml", b)
	if err != nil {
		t.Fatalf("the measured profile does not load: %v\n%s", err, b)
	}
	if got.Backends.Containers == nil || got.Backends.Containers.Call == nil {
		t.Errorf("the containers section did not survive a round trip:\n%s", b)
	}
}

// Its mesh runs at two rates: a third, at up to five times 200/s, would
// load a machine that runs other packages' tests beside it (meshTopRate
// has a test of its own).
var tinyConfig = Config{Rate: 200, Requests: 40, Rounds: 2, Workers: 2, Warmup: 5, ServiceTime: 200 * time.Microsecond, Mesh: 2 * time.Second, MeshRates: 2}

// localTiny measures the local phases on a tiny load, checks them, and
// returns them with a profile of their local section.
func localTiny(t *testing.T) (*Result, *calibration.Profile) {
	t.Helper()
	cfg := tinyConfig
	res, err := Local(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, ph := range res.Phases {
		want := int64(40)
		switch name {
		case "grpc", "grpc-direct":
			want = 20 // half as long
		case "client", "lag":
			// The load generator's Poisson arrivals: about 40.
			want = int64(ph.Requests)
			if want < 10 || want > 100 {
				t.Errorf("%s: %d requests, not about 40", name, want)
			}
		}
		if int64(ph.Requests) != want || ph.Hist.TotalCount() != want || len(ph.Rounds) != 2 {
			t.Errorf("%s: %d requests, %d recorded, %d rounds", name, ph.Requests, ph.Hist.TotalCount(), len(ph.Rounds))
		}
		if quantile(ph.Hist, 0.5) <= 0 {
			t.Errorf("%s: no latency", name)
		}
	}
	if res.Local.Lag == nil || res.Phases["lag"].Requests != res.Phases["client"].Requests {
		t.Errorf("the load generator's lag: %+v, %d lags for %d requests", res.Local.Lag, res.Phases["lag"].Requests, res.Phases["client"].Requests)
	}
	if h := res.Local.Hops.GRPC; h == nil || res.Local.GRPCClient == nil {
		t.Error("no gRPC hop or client measured")
	}
	// The hit phase's answers came from the cache: its proxy forwarded
	// the first request on a connection at most.
	if res.Local.Hops.Hit == nil || res.HitMisses < 1 || res.HitMisses > int64(cfg.Workers) {
		t.Errorf("cache hits: figure %v, %d of %d requests forwarded, want 1 to %d", res.Local.Hops.Hit, res.HitMisses, res.Phases["hit"].Requests+cfg.Warmup, cfg.Workers)
	}
	if res.Handshake <= 0 || res.Local.Handshake == nil {
		t.Errorf("mutual TLS handshake CPU %v", res.Handshake)
	} else if got, want := res.Local.Handshake.D(), max(res.Handshake, res.Connection); got != want {
		// A new connection's CPU is measured as a difference, which a
		// loaded machine can push below the handshake's own: the profile
		// keeps the larger.
		t.Errorf("profile's handshake %v, want the larger of the handshake's %v and a new connection's %v", got, res.Handshake, res.Connection)
	}
	if res.Connection == 0 {
		t.Error("a new mutual TLS connection's CPU was not measured")
	}
	if res.Local.Replica.Mean.D() <= 0 || res.Local.Replica.P99.D() <= 0 {
		t.Errorf("replica beyond its service time: %+v", res.Local.Replica.Quantiles())
	}
	if res.Phases["direct"].CPU <= 0 {
		t.Error("no CPU measured")
	}
	// The mesh phase: the payment flow's requests after its warm-up
	// (about 320 at 200/s over 1.6 s), its CPU, and the scale from it.
	// A machine busy with other tests can overload a mesh this short:
	// then the phase must say why it has no figure, and the profile has
	// no scale.
	c := res.Local.Host.CPU
	switch m := res.Mesh; {
	case m == nil && res.MeshSkipped == "":
		t.Error("no mesh phase, and no reason")
	case m == nil:
		t.Logf("mesh phase skipped: %s", res.MeshSkipped)
		if c.Mesh != nil || c.Scale != 0 {
			t.Errorf("a skipped mesh left mesh %v, scale %v", c.Mesh, c.Scale)
		}
	case m.Requests < 100 || m.CPU <= 0 || m.Span <= 0:
		t.Errorf("mesh phase: %+v", m)
	case c.Mesh == nil || c.Mesh.D() != m.PerRequest() || c.Scale < 0.1 || c.Scale > 4:
		t.Errorf("mesh %v, scale %v: want the phase's CPU per request and a scale within 0.1–4", c.Mesh, c.Scale)
	case len(res.MeshMore) == 0 && c.Curve != nil:
		t.Errorf("no mesh at a higher rate, but a curve %+v", c.Curve)
	default:
		// The curve: a point per phase, the first the scale's, then twice
		// the rate, then one within meshTopMin–meshTopMax times it.
		ms := append([]*Mesh{m}, res.MeshMore...)
		if len(res.MeshMore) > 0 && (len(c.Curve) != len(ms) || c.Curve[0].Scale != c.Scale) {
			t.Errorf("meshes at %d rates: curve %+v", len(ms), c.Curve)
		}
		for i, pt := range c.Curve {
			if pt.Rate != ms[i].Rate || pt.Jobs != 9*pt.Rate || pt.Mesh.D() != ms[i].PerRequest() {
				t.Errorf("curve[%d] %+v for a mesh at %d/s of %v per request", i, pt, ms[i].Rate, ms[i].PerRequest())
			}
		}
		if len(ms) > cfg.MeshRates {
			t.Errorf("meshes at %d rates, want at most %d", len(ms), cfg.MeshRates)
		}
		if len(ms) > 1 && ms[1].Rate != 2*cfg.Rate {
			t.Errorf("second mesh at %d/s, want twice %d/s", ms[1].Rate, cfg.Rate)
		}
		if len(ms) > 2 && (float64(ms[2].Rate) < meshTopMin*float64(cfg.Rate)-50 || float64(ms[2].Rate) > meshTopMax*float64(cfg.Rate)) {
			t.Errorf("third mesh at %d/s, want %v–%v times %d/s", ms[2].Rate, meshTopMin, meshTopMax, cfg.Rate)
		}
		// Its latency, and the simulator's median of the same flow, with
		// a latency curve through the same rates when there is a CPU one.
		l := res.Local.Mesh
		if l == nil || l.P50.D() != m.P50 || l.P99.D() != m.P99 || m.P50 < 9*time.Millisecond || m.P99 < m.P50 ||
			l.Predicted <= 0 || l.Scale < 0.1 || l.Scale > 4 {
			t.Errorf("mesh latency %+v for a phase with p50 %v, p99 %v: want both, a prediction and a scale within 0.1–4", l, m.P50, m.P99)
			break
		}
		if len(l.Curve) != len(c.Curve) {
			t.Errorf("latency curve %+v against the CPU curve %+v", l.Curve, c.Curve)
		}
		for i, pt := range l.Curve {
			if pt.Rate != ms[i].Rate || pt.P50.D() != ms[i].P50 || pt.Predicted <= 0 || pt.Scale < 0.1 || pt.Scale > calibration.MaxCurveScale ||
				(i == 0 && pt.Scale != l.Scale) || ms[i].P50 > meshPastKnee*m.P50 {
				t.Errorf("latency curve[%d] %+v for a mesh at %d/s with p50 %v", i, pt, ms[i].Rate, ms[i].P50)
			}
		}
	}
	p := &calibration.Profile{
		Schema:   calibration.Schema,
		Machine:  calibration.ThisMachine(),
		Measured: calibration.Measured{Requests: 40, Rate: 200, ServiceTime: *calibration.D(cfg.ServiceTime)},
		Backends: calibration.Backends{Local: res.Local},
	}
	return res, p
}

// TestOtherCores: the rest of the machine's CPU is the machine's busy
// time less this process's over the wall time, never negative (the
// machine's 10 ms ticks lag this process's clock), and nothing without a
// wall time; steal is the same sum with nothing of ours in it.
func TestOtherCores(t *testing.T) {
	s := time.Second
	if got := otherCores(10*s, 13*s, 2*s, 4*s); got == nil || *got != 0.25 {
		t.Errorf("3 s busy, 2 s ours, over 4 s: %v, want 0.25 cores", got)
	}
	if got := otherCores(10*s, 11*s, 1010*time.Millisecond, 4*s); got == nil || *got != 0 {
		t.Errorf("ours over the machine's by a tick: %v, want 0", got)
	}
	if got := otherCores(10*s, 13*s, 2*s, 0); got != nil {
		t.Errorf("no wall time: %v, want nil", *got)
	}
	if got := otherCores(0, 2*s, 0, 4*s); got == nil || *got != 0.5 {
		t.Errorf("2 s stolen over 4 s: %v, want 0.5 cores", got)
	}
	if got := otherCores(0, 0, 0, 4*s); got == nil || *got != 0 {
		t.Errorf("nothing stolen on bare metal: %v, want 0", got)
	}
}

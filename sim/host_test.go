package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"pgregory.net/rapid"
)

// psRun feeds CPU jobs (arrival time, size) to a bare host of the given
// cores and returns when each completes, by index.
func psRun(t *testing.T, cores int, arrivals []time.Duration, sizes []time.Duration) []time.Duration {
	t.Helper()
	m := &model{eng: NewEngine[event](), host: newHost(&scenarios.Host{Cores: cores}, nil)}
	done := make([]time.Duration, len(arrivals))
	for i := range done {
		done[i] = -1
	}
	m.cpuTestDone = func(idx int32, at time.Duration) { done[idx] = at }
	m.testEvent = func(i int32) { m.cpu(cpuJob{kind: jobTest, idx: i}, int64(sizes[i])) }
	for i, at := range arrivals {
		m.eng.At(at, event{kind: evTest, idx: int32(i)})
	}
	for {
		ev, ok := m.eng.Next()
		if !ok {
			break
		}
		m.setNow()
		m.dispatch(ev)
	}
	if len(m.host.jobs) != 0 {
		t.Fatalf("%d jobs left in the host", len(m.host.jobs))
	}
	return done
}

// TestHostProcessorSharing: small cases worked out by hand.
func TestHostProcessorSharing(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name     string
		cores    int
		arrivals []time.Duration
		sizes    []time.Duration
		want     []time.Duration
	}{
		{"one job, one core", 1, []time.Duration{0}, []time.Duration{10 * ms}, []time.Duration{10 * ms}},
		// Each gets half the core: both are done at 20ms.
		{"two jobs share one core", 1, []time.Duration{0, 0}, []time.Duration{10 * ms, 10 * ms}, []time.Duration{20 * ms, 20 * ms}},
		// A job never runs faster than one core: both at 10ms.
		{"two jobs on two cores", 2, []time.Duration{0, 0}, []time.Duration{10 * ms, 10 * ms}, []time.Duration{10 * ms, 10 * ms}},
		{"three jobs on two cores", 2, []time.Duration{0, 0, 0}, []time.Duration{6 * ms, 6 * ms, 6 * ms}, []time.Duration{9 * ms, 9 * ms, 9 * ms}},
		// A runs alone 5ms (5 left), then both at half speed: A done at
		// 15ms, B has 5 left and runs alone until 20ms.
		{"staggered", 1, []time.Duration{0, 5 * ms}, []time.Duration{10 * ms, 10 * ms}, []time.Duration{15 * ms, 20 * ms}},
		// The short job leaves first although it came last (PS, not FCFS):
		// 0–3ms A alone (3 done); 3–7ms both (A 5, B 2: B done at 7);
		// A alone again, 5 left, done at 12.
		{"short job overtakes", 1, []time.Duration{0, 3 * ms}, []time.Duration{10 * ms, 2 * ms}, []time.Duration{12 * ms, 7 * ms}},
		// Idle gaps cost nothing.
		{"idle gap", 1, []time.Duration{0, 50 * ms}, []time.Duration{1 * ms, 1 * ms}, []time.Duration{1 * ms, 51 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := psRun(t, tc.cores, tc.arrivals, tc.sizes)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("completions %v, want %v", got, tc.want)
			}
		})
	}
}

// mgPS runs n jobs with Poisson arrivals at lambda per second and sizes
// drawn by size through a host of c cores, and returns the mean response
// time in seconds.
func mgPS(t *testing.T, c int, lambda float64, n int, size func(*rand.Rand) time.Duration) float64 {
	r := rand.New(rand.NewPCG(7, 11))
	arr := make([]time.Duration, n)
	sz := make([]time.Duration, n)
	var at float64
	for i := range arr {
		at += r.ExpFloat64() / lambda
		arr[i] = time.Duration(at * 1e9)
		sz[i] = size(r)
	}
	done := psRun(t, c, arr, sz)
	var sum float64
	skip := n / 20 // warm-up
	for i := skip; i < n; i++ {
		sum += (done[i] - arr[i]).Seconds()
	}
	return sum / float64(n-skip)
}

// TestHostQueueingTheory checks the host against processor-sharing theory:
// M/M/1-PS has the mean response time of M/M/1 FCFS, 1/(μ−λ); M/G/1-PS is
// insensitive to the size distribution beyond its mean (Kleinrock 1967;
// Harchol-Balter 2013, ch. 22), so constant sizes give the same mean; and
// with exponential sizes c-core PS is the same birth-death process as
// M/M/c (n jobs served at min(n, c)μ), so its mean is Erlang C's.
func TestHostQueueingTheory(t *testing.T) {
	const mu = 1000.0 // 1ms jobs
	n := 400_000
	tol := 0.04
	if testing.Short() {
		n, tol = 100_000, 0.06
	}
	exp := func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 1e9 / mu) }
	fixed := func(*rand.Rand) time.Duration { return time.Second / mu }
	for _, tc := range []struct {
		name   string
		cores  int
		lambda float64
		size   func(*rand.Rand) time.Duration
		want   float64
	}{
		{"M/M/1-PS", 1, 600, exp, 1 / (mu - 600)},
		{"M/D/1-PS", 1, 600, fixed, 1 / (mu - 600)},
		{"M/M/2-PS", 2, 1400, exp, erlangC(2, 1.4)/(2*mu-1400) + 1/mu},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mgPS(t, tc.cores, tc.lambda, n, tc.size)
			t.Logf("%s n=%d: mean %.4fms (theory %.4fms, %+.2f%%)", tc.name, n, got*1e3, tc.want*1e3, 100*(got/tc.want-1))
			if !within(got, tc.want, tol) {
				t.Errorf("outside %.0f%% of theory", tol*100)
			}
		})
	}
}

// hostSpec is fleetSpec with a host: one replica of many workers, so that
// only the host queues.
func hostSpec(h *scenarios.Host, rate float64, dur time.Duration) *spec {
	s := fleetSpec(1, 1000, time.Millisecond, rate, dur, "round_robin")
	s.services[0].serviceTime = constDist(time.Millisecond)
	s.host = h
	return s
}

// TestHostWithoutCostsChangesNothing: a host whose components cost no CPU
// gives the stream of no host at all, byte for byte (the hooks are not
// taken), and a run with costs is deterministic.
func TestHostWithoutCostsChangesNothing(t *testing.T) {
	p := loadLibrary(t, "balancer-brownout")
	p = p.WithDuration(p.Duration / size(4, 16))
	base := runBackend(t, p, 0)
	q := p.WithDuration(p.Duration)
	q.Host = &scenarios.Host{Cores: 2}
	if got := runBackend(t, q, 0); !slices.Equal(got, base) {
		t.Fatal("a host without CPU costs changed the stream")
	}
	q.Host.CPU = scenarios.HostCPU{Client: 25 * time.Microsecond, Gateway: 40 * time.Microsecond, Sidecar: 35 * time.Microsecond, Replica: 15 * time.Microsecond}
	a, b := runBackend(t, q, 0), runBackend(t, q, 0)
	if !slices.Equal(a, b) {
		t.Fatal("two runs with a host differ")
	}
	if slices.Equal(a, base) {
		t.Fatal("CPU costs changed nothing")
	}
}

// TestHostCPUWindow: a run with a host model reports the CPU it served
// over the measured window, the warm-up left out; without a host, or cut
// short, it reports none.
func TestHostCPUWindow(t *testing.T) {
	p := loadLibrary(t, "balancer-brownout")
	p = p.WithDuration(p.Duration / size(4, 16))
	p.Faults = nil // no retries: every request does the same work
	var c collector
	out, err := Backend{}.Run(t.Context(), bench.Job{Plan: p, Seed: p.Seed}, &c)
	if err != nil || out.CPU != nil {
		t.Fatalf("without a host: CPU %+v, err %v; want none", out.CPU, err)
	}
	p.Host = &scenarios.Host{Cores: 2, CPU: scenarios.HostCPU{Client: 100 * time.Microsecond, Gateway: 100 * time.Microsecond, Sidecar: 100 * time.Microsecond, Replica: 100 * time.Microsecond}}
	out, err = Backend{}.Run(t.Context(), bench.Job{Plan: p, Seed: p.Seed}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if out.CPU == nil || out.CPU.Span != p.Duration-p.Warmup {
		t.Fatalf("CPU %+v, want a span of %v", out.CPU, p.Duration-p.Warmup)
	}
	// Each request: the client, the gateway, the payments replica, and
	// three calls, each a sidecar and a replica: 9 jobs of 100µs at the
	// scenario's 400/s, 0.36 cores, give or take the Poisson count.
	if cores := out.CPU.Used.Seconds() / out.CPU.Span.Seconds(); math.Abs(cores-0.36) > 0.015 {
		t.Errorf("%.3f cores busy, want about 0.36", cores)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if out, _ := (Backend{}).Run(ctx, bench.Job{Plan: p, Seed: p.Seed}, &c); out.CPU != nil {
		t.Errorf("a cancelled run reports CPU %+v", out.CPU)
	}
}

// TestHostLoadsTheCores: the host's utilisation is the CPU offered per
// second over its cores, and latency grows with it as PS says: each
// request's CPU (client, gateway and replica jobs in turn) takes its size
// over 1−ρ on average on one core.
func TestHostLoadsTheCores(t *testing.T) {
	const rate = 500.0
	dur := size(120*time.Second, 40*time.Second)
	cpu := scenarios.HostCPU{Client: 200 * time.Microsecond, Gateway: 300 * time.Microsecond, Replica: 500 * time.Microsecond}
	per := (cpu.Client + cpu.Gateway + cpu.Replica).Seconds()
	for _, cores := range []int{1, 2} {
		s := hostSpec(&scenarios.Host{Cores: cores, CPU: cpu}, rate, dur)
		var c collector
		m, err := build(s, &c)
		if err != nil {
			t.Fatal(err)
		}
		warmup := dur / 4
		m.markWindow(warmup)
		m.start()
		if _, err := m.run(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		rho := rate * per / float64(cores)
		// Over the load's duration: the run may end on a timer long after
		// the last answer.
		util := m.host.busy(m.t) / (float64(cores) * float64(dur))
		if math.Abs(util-rho) > 0.02 {
			t.Errorf("cores=%d: utilisation %.3f, want %.3f", cores, util, rho)
		}
		// The measured window: from the warm-up to the end of the load,
		// busy at the same rate.
		w := m.host.spent()
		if w == nil || w.Span != dur-warmup {
			t.Fatalf("cores=%d: window %+v, want a span of %v", cores, w, dur-warmup)
		}
		if got := w.Used.Seconds() / w.Span.Seconds(); math.Abs(got-rho*float64(cores)) > 0.02*float64(cores) {
			t.Errorf("cores=%d: %.3f cores busy over the window, want %.3f", cores, got, rho*float64(cores))
		}
		mean, _, _ := latencyStats(c.rs, 5*time.Second)
		cpuWait := mean - 0.001 // the service time is a constant 1ms
		t.Logf("cores=%d ρ=%.2f: utilisation %.3f, mean latency %.3fms (CPU part %.3fms, %.3fms of work)", cores, rho, util, mean*1e3, cpuWait*1e3, per*1e3)
		if cores == 1 {
			// Three jobs in tandem through one PS core; by insensitivity
			// each takes its size/(1−ρ) on average in the product-form
			// approximation (BCMP): 1ms/(1−0.5) = 2ms.
			if want := per / (1 - rho); !within(cpuWait, want, 0.08) {
				t.Errorf("cores=1: CPU part of latency %.3fms, want about %.3fms", cpuWait*1e3, want*1e3)
			}
		} else if cpuWait < per || cpuWait > per/(1-rho) {
			t.Errorf("cores=2: CPU part of latency %.3fms, want between %.3fms and %.3fms", cpuWait*1e3, per*1e3, per/(1-rho)*1e3)
		}
	}
}

// naivePS is egalitarian PS simulated directly: the reference.
func naivePS(cores int, arr, sz []time.Duration) []float64 {
	n := len(arr)
	rem := make([]float64, n)
	done := make([]float64, n)
	for i := range sz {
		rem[i] = float64(sz[i])
	}
	active := []int{}
	t := 0.0
	next := 0
	for next < n || len(active) > 0 {
		r := 1.0
		if len(active) > cores {
			r = float64(cores) / float64(len(active))
		}
		tc := 1e300
		for _, j := range active {
			if x := t + rem[j]/r; x < tc {
				tc = x
			}
		}
		ta := 1e300
		if next < n {
			ta = float64(arr[next])
		}
		tn := min(tc, ta)
		for _, j := range active {
			rem[j] -= (tn - t) * r
		}
		t = tn
		var keep []int
		for _, j := range active {
			if rem[j] <= 1e-6 {
				done[j] = t
			} else {
				keep = append(keep, j)
			}
		}
		active = keep
		if ta <= tc {
			active = append(active, next)
			next++
		}
	}
	return done
}

// TestHostMatchesReference compares the host with a direct simulation of
// egalitarian PS (every job's remaining work decremented between events)
// on random small cases; the host rounds each completion up to a whole
// nanosecond, so the two may differ by a few.
func TestHostMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(30)
		arr := make([]time.Duration, n)
		sz := make([]time.Duration, n)
		at := 0
		for i := range arr {
			at += r.IntN(3000)
			arr[i] = time.Duration(at)
			sz[i] = time.Duration(1 + r.IntN(5000))
		}
		c := 1 + r.IntN(3)
		got := psRun(t, c, arr, sz)
		want := naivePS(c, arr, sz)
		for i := range got {
			if d := float64(got[i]) - want[i]; math.Abs(d) > float64(n) {
				t.Fatalf("trial %d cores %d job %d: got %v want %v\narr %v\nsz %v\ngot %v\nwant %v", trial, c, i, got[i], want[i], arr, sz, got, want)
			}
		}
	}
}

// TestHostRunsSecurityCosts: with a host, the security CPU of hopcost.go
// (here the gateway's JWT verification, and mutual TLS in mtls-cost) runs
// on its cores as jobs, even when no component has a CPU cost of its own.
func TestHostRunsSecurityCosts(t *testing.T) {
	for _, name := range []string{"jwt-edge", "mtls-cost"} {
		t.Run(name, func(t *testing.T) {
			p := loadLibrary(t, name)
			p = p.WithDuration(p.Duration / size(8, 16))
			p.Host = &scenarios.Host{Cores: 1}
			for v := range p.Variants {
				s, err := specFromPlan(p, v, p.Seed)
				if err != nil {
					t.Fatal(err)
				}
				var c collector
				m, err := build(s, &c)
				if err != nil {
					t.Fatal(err)
				}
				m.start()
				if _, err := m.run(t.Context(), nil); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d CPU jobs, %d results", p.Variants[v].Name, m.host.done, len(c.rs))
				if (name == "jwt-edge" || p.Variants[v].Policy.MTLSOn()) && m.host.done == 0 {
					t.Errorf("%s: JWT or mutual TLS on, but no CPU job ran", p.Variants[v].Name)
				}
			}
		})
	}
}

// TestHostInvariants drives random fleets, policies and faults (the
// generator of TestInvariants) on a random host: every request still gets
// exactly one result, in range, with a consistent status, whatever the
// CPU jobs were doing when replicas were killed, paused or partitioned.
func TestHostInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := randomSpec(t)
		us := func(name string) time.Duration {
			return time.Duration(rapid.IntRange(0, 2000).Draw(t, name)) * time.Microsecond
		}
		s.host = &scenarios.Host{
			Cores: rapid.IntRange(1, 4).Draw(t, "cores"),
			CPU:   scenarios.HostCPU{Client: us("client"), Gateway: us("gateway"), Sidecar: us("sidecar"), Replica: us("replica")},
		}
		var c collector
		m, err := build(s, &c)
		if err != nil {
			t.Fatal(err)
		}
		m.start()
		if _, err := m.run(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if int64(len(c.rs)) != m.issued || m.inflight != 0 {
			t.Fatalf("%d results for %d requests, %d in flight", len(c.rs), m.issued, m.inflight)
		}
		for _, r := range c.rs {
			if r.Start < 0 || r.Start >= s.duration || r.Latency < 0 {
				t.Fatalf("result out of range: %+v", r)
			}
			if r.Status == 0 || (r.OK() != (bench.KindFromStatus(r.Status) == bench.KindOK)) {
				t.Fatalf("inconsistent status and kind: %+v", r)
			}
		}
	})
}

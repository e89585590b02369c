// Package measure is `meshbench calibrate`'s measurement: on this machine,
// on 127.0.0.1 only, it loads a real fleet replica directly and through the
// real proxy (package proxy: its fast path, its general path, and the
// general path to a replica behind mutual TLS) with a bounded open-loop
// load, and turns the latency and CPU figures into a calibration profile
// (package bench/calibration).
//
// # Method
//
// Each phase sends Config.Requests requests at Config.Rate per second from
// Config.Workers workers, each on its own kept connection, paced on a
// fixed schedule (a worker behind schedule sends at once; latency is
// measured from the actual send, so the figures are service latencies,
// not schedule lag). The client phase is the exception in how it sends:
// the load generator itself (bench/load, Poisson arrivals) sends it, and
// its schedule lag is kept beside its latencies, as the phase lag. The phases run in Config.Rounds interleaved rounds
// (every phase in turn, then again) so that a burst of noise from the
// machine's other tenants lands on all of them alike, and their
// figures are medians over the rounds (roundsDiff). Before the first round every
// target gets a short warm-up (connections opened, code paths hot).
//
// The phases, all to the same replica (role risk, constant service time
// Config.ServiceTime, no queue):
//
//	null     the minimal client to a minimal server (the load side's own cost)
//	direct   the minimal client to the replica
//	client   the load generator itself (bench/load: its pacer, workers and
//	         vegeta's net/http client) to the replica
//	fast     the minimal client through a proxy whose route the fast path serves
//	general  the same through a proxy forced onto the general path
//	mtls     the same through a proxy whose cluster speaks mutual TLS
//	hit      the minimal client's GET through a proxy whose route answers
//	         it from its response cache (every request but the first)
//
// Latency distributions are differences of quantiles, quantile by
// quantile (q_proxied(p) − q_direct(p), clamped at 0 and made
// non-decreasing): the added latency of a hop whose own variability is
// independent of the replica's is not exactly that (a difference of
// quantiles is not the quantile of a difference), but it is what makes
// the simulator's sum of the two match the measured distribution at each
// quantile when they are comonotone, which is the error that matters for
// p50 and p99 predictions.
//
//	replica  = direct − ServiceTime
//	client   = client − direct
//	lag      = the client phase's schedule lag (actual − intended send time)
//	fast, general, mtls = that phase − direct
//	hit      = the hit phase itself: a hit has no replica to subtract, and
//	         its round trip is what the simulator charges after the
//	         client's cost
//
// CPU time per request comes from getrusage(RUSAGE_SELF) (user + system,
// the whole process: every component runs in it) before and after each
// phase's share of a round, divided by the requests sent. Components are
// separated by differences of phases: the minimal client's own CPU is
// taken as half the null phase (a minimal client and a minimal server do
// the same system calls); replica = direct − that; client (the load
// generator) = client − replica; sidecar = fast − direct (the fast path
// is the mesh's sidecars' path on the local backend); gateway = general −
// direct (bench/local's gateway wraps its transports, which puts it on
// the general path).
//
// Every load loop is bounded by its request count and by the context.
package measure

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/internal/cputime"
	"github.com/meshbench/meshbench/proxy/config"
)

// Config bounds a measurement.
type Config struct {
	// Rate is the load of every phase, requests per second. Zero: 400
	// (the flagship's rate).
	Rate int
	// Requests per phase, over all rounds (the containers' phases send
	// half as many). Zero: 2000.
	Requests int
	// Rounds interleaves the phases. Zero: 8.
	Rounds int
	// Workers are the concurrent connections per phase. Zero: 4.
	Workers int
	// ServiceTime is the replica's constant service time. Zero: 1ms
	// (so that its timer's lateness is part of the replica's figure, as
	// in every fleet replica with a service time).
	ServiceTime time.Duration
	// Warmup requests per target before the first round. Zero: 200.
	Warmup int
	// Mesh is how long the mesh phase runs (mesh.go), a fifth of it
	// warm-up, at the calibration's rate; at each higher rate, four
	// fifths of that. Zero: 8s. Negative: no mesh phase.
	Mesh time.Duration
	// MeshRates is how many rates the mesh phase runs at, 1–3: the
	// calibration's, twice it, near the knee (meshTopRate). Zero: 3.
	MeshRates int
	// Quick marks the profile as measured with few requests.
	Quick bool
	// Log receives a line per round, or nil.
	Log io.Writer
}

// Quick is the configuration of --quick: about 10 s of load.
func Quick() Config {
	return Config{Requests: 900, Rounds: 3, Warmup: 50, Mesh: 4 * time.Second, Quick: true}
}

func (c Config) withDefaults() Config {
	if c.Rate <= 0 {
		c.Rate = 400
	}
	if c.Requests <= 0 {
		c.Requests = 2000
	}
	if c.Rounds <= 0 {
		c.Rounds = 8
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.ServiceTime <= 0 {
		c.ServiceTime = time.Millisecond
	}
	if c.Warmup <= 0 {
		c.Warmup = 200
	}
	if c.Mesh == 0 {
		c.Mesh = 8 * time.Second
	}
	if c.MeshRates <= 0 || c.MeshRates > 3 {
		c.MeshRates = 3
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// Phase is one phase's merged figures.
type Phase struct {
	Name     string
	Hist     *hdrhistogram.Histogram   // merged over the rounds
	Rounds   []*hdrhistogram.Histogram // one per round
	CPU      time.Duration             // process CPU over the phase
	Requests int
	Errors   int
}

// CPUPerRequest is the process CPU per request of the phase.
func (p *Phase) CPUPerRequest() time.Duration {
	if p.Requests == 0 {
		return 0
	}
	return p.CPU / time.Duration(p.Requests)
}

// Result is a measurement: every phase, and the profile's local section
// made from them.
type Result struct {
	Config Config
	Phases map[string]*Phase
	// Handshake is the CPU of one mutual TLS handshake, both ends.
	Handshake time.Duration
	// Connection is the CPU a try over a new mutual TLS connection costs
	// beyond one over a pooled connection, through the proxy: the
	// handshake and the connection's own setup and teardown.
	Connection time.Duration
	// Mesh is the mesh phase's figures; nil when it did not run or
	// failed, and then MeshSkipped says why it failed.
	Mesh        *Mesh
	MeshSkipped string
	// MeshMore is the mesh phase at higher rates, for the curves: at
	// meshHighRate times the rate, then near the knee (meshTopRate); it
	// stops at the first that failed, and is empty when Mesh is nil.
	MeshMore []*Mesh
	Local    *calibration.Local
	// OtherCores is the mean CPU, in cores, the rest of the machine
	// spent over the phases and the mesh at the calibration's rate;
	// nil where the machine's busy time cannot be read.
	OtherCores *float64
	// StealCores is the mean time, in cores, the hypervisor gave to other
	// guests while a core here wanted to run, over the same window; nil
	// where /proc/stat cannot be read.
	StealCores *float64
	// HitMisses counts the hit phase's requests its proxy's cache did not
	// answer (warm-up included): the first on each connection at most.
	HitMisses int64
}

// hitPath is the hit phase's GET: an answer the replica gives to any
// request, stored by the hit proxy's cache on the first.
const hitPath = "/readyz"

type target struct {
	name string
	addr string
	raw  bool   // the minimal client
	path string // the minimal client's path; "": the risk call's
	grpc bool   // the fleet's gRPC client (fleet.GRPCTransport), the risk call as gRPC
	get  bool   // the minimal client sends GET path (the hit phase)
}

// generator reports whether the load generator itself sends the phase
// (generator.go; neither raw nor gRPC), whose schedule lag is kept as the
// phase "lag".
func (t target) generator() bool { return !t.raw && !t.grpc }

// Local measures the local backend's costs.
func Local(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	r, err := startRig(cfg.ServiceTime)
	if err != nil {
		return nil, fmt.Errorf("calibrate: start: %w", err)
	}
	defer r.close()
	targets := []target{
		{name: "null", addr: r.raw, raw: true},
		{name: "direct", addr: r.replica, raw: true},
		{name: "client", addr: r.replica}, // the load generator
		{name: "fast", addr: r.fast, raw: true},
		{name: "general", addr: r.general, raw: true},
		{name: "mtls", addr: r.mtls, raw: true},
		{name: "payments", addr: r.payments, raw: true, path: "/v1/payments"},
		{name: "grpc-direct", addr: r.replica, grpc: true},
		{name: "grpc", addr: r.grpc, grpc: true},
		{name: "hit", addr: r.hit, raw: true, path: hitPath, get: true},
	}
	res := &Result{Config: cfg, Phases: map[string]*Phase{}}
	clients := map[string][]client{}
	defer func() {
		for _, cs := range clients {
			for _, c := range cs {
				c.close()
			}
		}
	}()
	res.Phases["lag"] = &Phase{Name: "lag", Hist: newHist()}
	for _, t := range targets {
		res.Phases[t.name] = &Phase{Name: t.name, Hist: newHist()}
		if t.generator() {
			if _, _, err := generatorLoad(ctx, t.addr, cfg.Rate, cfg.Warmup, nil, nil); err != nil {
				return nil, fmt.Errorf("calibrate: warm-up of %s: %w", t.name, err)
			}
			continue
		}
		cs := make([]client, cfg.Workers)
		for i := range cs {
			switch {
			case t.grpc:
				cs[i] = newGRPCClient()
			case t.get:
				cs[i] = newRawGet(t.path)
			case t.path != "":
				cs[i] = newRawClientFor(t.path)
			default:
				cs[i] = newRawClient()
			}
		}
		clients[t.name] = cs
		if _, err := load(ctx, cs, t.addr, cfg.Rate, cfg.Warmup, nil); err != nil {
			return nil, fmt.Errorf("calibrate: warm-up of %s: %w", t.name, err)
		}
	}
	per := max(cfg.Requests/cfg.Rounds, 1)
	other := startOther()
	for round := 1; round <= cfg.Rounds; round++ {
		for _, t := range targets {
			ph := res.Phases[t.name]
			h := newHist()
			k := per
			if t.grpc {
				k = max(per/2, 1) // two phases of one figure each: half as long
			}
			before := processCPU()
			var n int
			var err error
			if t.generator() {
				lag := newHist()
				k, n, err = generatorLoad(ctx, t.addr, cfg.Rate, k, h, lag)
				lp := res.Phases["lag"]
				lp.Hist.Merge(lag)
				lp.Rounds = append(lp.Rounds, lag)
				lp.Requests += k
			} else {
				n, err = load(ctx, clients[t.name], t.addr, cfg.Rate, k, h)
			}
			ph.CPU += processCPU() - before
			ph.Hist.Merge(h)
			ph.Rounds = append(ph.Rounds, h)
			ph.Requests += k
			ph.Errors += n
			if err != nil {
				return nil, fmt.Errorf("calibrate: %s: %w", t.name, err)
			}
		}
		fmt.Fprintf(cfg.Log, "  round %d/%d: %d requests per phase\n", round, cfg.Rounds, per)
	}
	for _, t := range targets {
		if ph := res.Phases[t.name]; ph.Errors*100 > ph.Requests {
			return nil, fmt.Errorf("calibrate: %s: %d of %d answers were not 2xx", t.name, ph.Errors, ph.Requests)
		}
	}
	res.HitMisses = r.hitMisses.Load()
	if res.Handshake, err = r.handshakeCPU(max(cfg.Requests/16, 20)); err != nil {
		return nil, err
	}
	if res.Connection, err = r.connCPU(max(cfg.Requests/80, 4), 5); err != nil {
		return nil, err
	}
	if cfg.Mesh > 0 {
		fmt.Fprintf(cfg.Log, "  mesh: the payment flow on the local backend, %s at %d/s\n", cfg.Mesh, cfg.Rate)
		// A mesh that failed leaves the profile without a scale, not
		// without the phases measured so far; a cancelled one stops.
		if res.Mesh, err = meshPhase(ctx, cfg.Rate, cfg.Mesh); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			res.MeshSkipped = err.Error()
			fmt.Fprintf(cfg.Log, "  mesh: skipped, the profile has no scale: %v\n", err)
		}
	}
	res.OtherCores, res.StealCores = other.cores()
	if res.Mesh != nil {
		// The same at higher rates, for the curves of CPU and latency by
		// rate; a failure there ends the curves at the rate before.
		for len(res.MeshMore) < cfg.MeshRates-1 {
			rate := meshHighRate * cfg.Rate
			if len(res.MeshMore) == 1 {
				rate = meshTopRate(cfg.Rate, res.Mesh.PerRequest(), res.MeshMore[0].PerRequest(), runtime.NumCPU())
			}
			fmt.Fprintf(cfg.Log, "  mesh: the same at %d/s\n", rate)
			m, err := meshPhase(ctx, rate, cfg.Mesh*4/5)
			if err == nil && m.P50 > meshPastKnee*res.Mesh.P50 {
				err = fmt.Errorf("median %s, over %d times the %s at %d/s: past the flow's knee", m.P50.Round(time.Microsecond), meshPastKnee, res.Mesh.P50.Round(time.Microsecond), cfg.Rate)
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				fmt.Fprintf(cfg.Log, "  mesh at %d/s: skipped, the curves end below it: %v\n", rate, err)
				break
			}
			res.MeshMore = append(res.MeshMore, m)
		}
	}
	res.Local = res.local()
	if res.Mesh != nil {
		// A simulator that cannot run the flow leaves the latency figures
		// unscaled, not the profile unwritten.
		if res.Local.Mesh, err = meshLatencies(ctx, res.Local, append([]*Mesh{res.Mesh}, res.MeshMore...)); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			fmt.Fprintf(cfg.Log, "  mesh: no latency scale: %v\n", err)
		}
	}
	return res, nil
}

// local turns the phases into the profile's local section.
func (res *Result) local() *calibration.Local {
	p := res.Phases
	direct := p["direct"]
	st := res.Config.ServiceTime
	diff := func(a, b *Phase, off time.Duration) *calibration.Dist {
		return roundsDiff(a, b, off)
	}
	rawCPU := p["null"].CPUPerRequest() / 2
	replicaCPU := max(direct.CPUPerRequest()-rawCPU, 0)
	cpu := &calibration.HostCPU{
		Client:  calibration.D(max(p["client"].CPUPerRequest()-replicaCPU, 0)),
		Gateway: calibration.D(max(p["general"].CPUPerRequest()-direct.CPUPerRequest(), 0)),
		Sidecar: calibration.D(max(p["fast"].CPUPerRequest()-direct.CPUPerRequest(), 0)),
		Replica: calibration.D(replicaCPU),
		// gRPC's proxy hop and the gRPC call's two ends, by the
		// same differences as their latencies.
		GRPCProxy: calibration.D(max(p["grpc"].CPUPerRequest()-p["grpc-direct"].CPUPerRequest(), 0)),
		GRPCCall:  calibration.D(max(p["grpc-direct"].CPUPerRequest()-direct.CPUPerRequest(), 0)),
	}
	if m := res.Mesh.PerRequest(); m > 0 {
		cpu.Mesh = calibration.D(m)
		cpu.Scale = meshScale(m, cpu)
		if len(res.MeshMore) > 0 {
			for _, at := range append([]*Mesh{res.Mesh}, res.MeshMore...) {
				c := at.PerRequest()
				cpu.Curve = append(cpu.Curve, calibration.ScalePoint{Rate: at.Rate, Jobs: at.Rate * meshJobs,
					Mesh: config.Duration(c), Scale: meshScale(c, cpu)})
			}
		}
	}
	return &calibration.Local{
		Client:  diff(p["client"], direct, 0),
		Lag:     roundsDiff(p["lag"], nil, 0),
		Replica: roundsDiff(direct, nil, st),
		Payments: roundsCombine(len(direct.Rounds), func(r int, q float64) time.Duration {
			return quantile(p["payments"].Rounds[r], q) - quantile(direct.Rounds[r], q) - 2*quantile(p["client"].Rounds[r], q)
		}, func(r int) time.Duration {
			return mean(p["payments"].Rounds[r]) - mean(direct.Rounds[r]) - 2*mean(p["client"].Rounds[r])
		}),
		Hops: &calibration.Hops{
			Fast:    diff(p["fast"], direct, 0),
			General: diff(p["general"], direct, 0),
			MTLS:    diff(p["mtls"], direct, 0),
			GRPC:    diff(p["grpc"], p["grpc-direct"], 0),
			Hit:     roundsDiff(p["hit"], nil, 0),
		},
		GRPCClient: diff(p["grpc-direct"], direct, 0),
		Handshake:  calibration.D(max(res.Handshake, res.Connection)),
		Host:       &calibration.Host{Cores: runtime.NumCPU(), CPU: cpu},
	}
}

// load sends n requests to addr at rate per second over the clients (one
// worker each), recording each latency in h (when not nil). It returns
// how many answers were not 2xx; a transport error stops it.
func load(ctx context.Context, clients []client, addr string, rate, n int, h *hdrhistogram.Histogram) (int, error) {
	w := len(clients)
	interval := time.Duration(float64(time.Second) / float64(rate))
	start := time.Now()
	var (
		mu     sync.Mutex
		bad    int
		first  error
		wg     sync.WaitGroup
		hLocal = make([]*hdrhistogram.Histogram, w)
	)
	for i, c := range clients {
		hLocal[i] = newHist()
		wg.Go(func() {
			for k := i; k < n; k += w {
				if ctx.Err() != nil {
					return
				}
				if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
					time.Sleep(d)
				}
				t0 := time.Now()
				err := c.do(addr)
				lat := time.Since(t0)
				if err != nil {
					mu.Lock()
					if errorsIsStatus(err) {
						bad++
					} else if first == nil {
						first = err
					}
					mu.Unlock()
					if !errorsIsStatus(err) {
						return
					}
					continue
				}
				record(hLocal[i], lat)
			}
		})
	}
	wg.Wait()
	if h != nil {
		for _, x := range hLocal {
			h.Merge(x)
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return bad, first
}

func errorsIsStatus(err error) bool { return err != nil && isStatus(err) }

// otherMeter measures what the rest of the machine spends while the
// calibration runs: the machine's busy time less this process's, and the
// hypervisor's steal, over the wall time (cputime.Stat). The phases
// measure costs that a busy neighbour inflates, whether a process here or
// another guest on the host, so a profile records both
// (measured.otherCores, measured.stealCores), and calibrate and run warn
// when they are high (calibration.Disturbed).
type otherMeter struct {
	at   time.Time
	stat cputime.Stat
	ok   bool
	self time.Duration
}

func startOther() otherMeter {
	st, ok := cputime.ReadStat()
	return otherMeter{at: time.Now(), stat: st, ok: ok, self: cputime.Self()}
}

// cores is the mean CPU the rest of the machine used since the start, and
// the mean steal, in cores, never negative (the machine's ticks are
// coarser than this process's clock); nil where the machine's times
// cannot be read.
func (m otherMeter) cores() (other, steal *float64) {
	now, ok := cputime.ReadStat()
	if !m.ok || !ok {
		return nil, nil
	}
	wall := time.Since(m.at)
	return otherCores(m.stat.Busy, now.Busy, cputime.Self()-m.self, wall),
		otherCores(m.stat.Steal, now.Steal, 0, wall)
}

// otherCores is (machine1 − machine0 − self) / wall in cores, rounded to
// thousandths and never negative; nil without a wall time.
func otherCores(machine0, machine1, self, wall time.Duration) *float64 {
	if wall <= 0 {
		return nil
	}
	c := max(0, (machine1-machine0-self).Seconds()/wall.Seconds())
	c = math.Round(c*1000) / 1000
	return &c
}

// processCPU is this process's user + system CPU time so far.
func processCPU() time.Duration { return cputime.Self() }

// roundsDiff is the distribution of a − b − off (b nil: a − off), quantile
// by quantile, each quantile the median over the rounds of that round's
// difference (a round runs a and b back to back): a round disturbed by the
// machine's other tenants moves no figure, as in proxy/proxybench's
// comparisons.
func roundsDiff(a, b *Phase, off time.Duration) *calibration.Dist {
	at := func(ph *Phase, r int, q float64) time.Duration {
		if ph == nil {
			return 0
		}
		return quantile(ph.Rounds[r], q)
	}
	meanAt := func(ph *Phase, r int) time.Duration {
		if ph == nil {
			return 0
		}
		return mean(ph.Rounds[r])
	}
	return roundsCombine(len(a.Rounds), func(r int, q float64) time.Duration { return at(a, r, q) - at(b, r, q) - off },
		func(r int) time.Duration { return meanAt(a, r) - meanAt(b, r) - off })
}

// roundsCombine is the distribution whose quantile q is the median over
// n rounds of quantile(r, q), and whose mean the median of mean(r).
func roundsCombine(n int, quantile func(r int, q float64) time.Duration, mean func(r int) time.Duration) *calibration.Dist {
	med := func(f func(r int) time.Duration) time.Duration {
		v := make([]time.Duration, n)
		for r := range v {
			v[r] = f(r)
		}
		slices.Sort(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return calibration.NewDist(func(q float64) time.Duration {
		return med(func(r int) time.Duration { return quantile(r, q) })
	}, med(mean))
}

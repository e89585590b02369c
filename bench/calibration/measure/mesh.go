package measure

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
)

// The mesh phase: the phases above measure each component alone, at the
// phase's rate, in a process that does nothing else, and every request
// then wakes parked threads. In a whole mesh the same process serves the
// load generator, the gateway, the sidecars and every replica at once, and
// a request finds threads already awake far more often: on a 2-core
// machine the library's payment flow spent about 0.85 of the sum of its
// components' figures, and a payments replica calling three others about
// 0.63 of four lone replicas' (docs/host-model.md). The mesh phase runs
// the library's payment flow on the local backend itself — gateway,
// sidecars, payments calling risk and fraud in parallel, then ledger — at
// the phase's rate, reads the process's CPU over its measured window, and
// sets it against the sum the simulator's host model charges for the same
// request: client + gateway + payments + three × (sidecar + replica). Their
// ratio is the profile's host.cpu.scale.

// meshPlan is the mesh phase's scenario: the library's payment flow at
// its services' median service times, on the local backend, no faults.
const meshPlan = `apiVersion: meshbench/v1
kind: Scenario
name: calibration-mesh
description: The calibration's mesh phase.
seed: 1
duration: %s
warmup: %s
backends: [%s]
topology:
  mesh: sidecar
  gateway:
    routes:
      - {name: create-payment, match: {method: POST, pathPrefix: /v1/payments}, service: payments, timeout: 2s}
  services:
    - name: payments
      replicas: 4
      concurrency: 8
      serviceTime: 4ms
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 2ms}
    - {name: fraud, replicas: 2, concurrency: 16, serviceTime: 3ms}
    - {name: ledger, replicas: 2, concurrency: 8, serviceTime: 2ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 50000}
    arrival: poisson
    rate: %d/s
`

// meshCalls is how many calls through a sidecar each request of meshPlan
// makes: risk, fraud and ledger.
const meshCalls = 3

// meshJobs is how many CPU jobs the simulator's host model runs for one
// request of meshPlan: the client's, the gateway's, the payments
// replica's, and a sidecar's and a replica's for each call.
const meshJobs = 3 + 2*meshCalls

// meshHighRate is the second rate of the mesh phase, as a multiple of the
// calibration's: the curves' second point (calibration.HostCPU.Curve,
// calibration.MeshLatency.Curve). Twice 400/s keeps a 2-core machine below
// the flow's knee.
const meshHighRate = 2

// The mesh phase's third rate is near the knee, where a real process's
// latency turns: the rate at which, by the CPU curve through the first
// two points, the flow would keep meshBusy of the machine's cores busy
// (on a 2-core machine about 1,350/s, where the payment flow's median
// had risen by a third while processor sharing added a tenth;
// docs/host-model.md), within meshTopMin–meshTopMax times the
// calibration's rate.
const (
	meshBusy   = 0.6
	meshTopMin = 2.5
	meshTopMax = 5
)

// meshPastKnee bounds a higher rate's median, as a multiple of the
// calibration rate's: a mesh slower than that is past the knee, where
// the flow's workers queue and its median measures how long the queue
// grew in the phase, not what a hop costs on a busy machine; the curves
// end below it.
const meshPastKnee = 3

// meshTopRate is the third rate for a flow that spent low per request at
// rate and high at meshHighRate times it, on a machine of cores, rounded
// down to 50/s: CPU per request is a power law of the rate between the
// two (the CPU curve's shape), so the cores busy at r are r × high ×
// (r/r2)^b, b the law's exponent, solved for meshBusy × cores.
func meshTopRate(rate int, low, high time.Duration, cores int) int {
	lo, hi := meshTopMin*float64(rate), meshTopMax*float64(rate)
	r2 := float64(meshHighRate * rate)
	top := hi
	if low > 0 && high > 0 && cores > 0 {
		b := math.Log(float64(high)/float64(low)) / math.Log(meshHighRate)
		if b > -1 {
			// r^(1+b) = busy × r2^b / high
			top = math.Pow(meshBusy*float64(cores)*math.Pow(r2, b)/high.Seconds(), 1/(1+b))
		}
	}
	top = min(max(top, lo), hi)
	return max(int(math.Round(top))/50*50, meshHighRate*rate+1)
}

// Mesh is the mesh phase's figures.
type Mesh struct {
	Rate     int           // the flow's requests per second
	Requests int64         // requests issued in the measured window
	CPU      time.Duration // the process's CPU over the window
	Span     time.Duration // the window
	P50, P99 time.Duration // the latency of the window's successful requests
}

// PerRequest is the whole mesh's CPU per request.
func (m *Mesh) PerRequest() time.Duration {
	if m == nil || m.Requests == 0 {
		return 0
	}
	return m.CPU / time.Duration(m.Requests)
}

// meshPhase runs meshPlan on the local backend for d (a fifth of it
// warm-up) at rate.
func meshPhase(ctx context.Context, rate int, d time.Duration) (*Mesh, error) {
	m, err := runMesh(ctx, local.Backend{}, calibration.BackendLocal, rate, d)
	if err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	if m.CPU <= 0 {
		return nil, fmt.Errorf("calibrate: mesh: no CPU measured")
	}
	return m, nil
}

// runMesh runs meshPlan on backend b, named name, for d (a fifth of it
// warm-up) at rate: its requests, latency and, when b measures it, its
// CPU.
func runMesh(ctx context.Context, b bench.Backend, name string, rate int, d time.Duration) (*Mesh, error) {
	warmup := d / 5
	plan, err := scenarios.LoadBytes("calibration-mesh.yaml", fmt.Appendf(nil, meshPlan, d, warmup, name, rate))
	if err != nil {
		return nil, err
	}
	sink := &meshSink{from: warmup, lat: newHist()}
	out, err := b.Run(ctx, bench.Job{Plan: plan, Seed: plan.Seed}, sink)
	if err != nil {
		return nil, err
	}
	if err := sink.check(); err != nil {
		return nil, err
	}
	m := &Mesh{Rate: rate, Requests: sink.requests, P50: quantile(sink.lat, 0.5), P99: quantile(sink.lat, 0.99)}
	if out.CPU != nil {
		m.CPU, m.Span = out.CPU.Used, out.CPU.Span
	}
	return m, nil
}

// meshSink counts the requests issued after the warm-up, as the
// aggregator counts a run's, and keeps the successful ones' latencies (in
// lat, when not nil).
type meshSink struct {
	from             time.Duration
	requests, failed int64
	byKind           map[bench.Kind]int64
	lat              *hdrhistogram.Histogram
}

func (s *meshSink) Record(r bench.Result) {
	if r.Start < s.from {
		return
	}
	s.requests++
	if r.Kind == bench.KindOK && s.lat != nil {
		record(s.lat, r.Latency)
	}
	if r.Kind != bench.KindOK {
		s.failed++
		if s.byKind == nil {
			s.byKind = map[bench.Kind]int64{}
		}
		s.byKind[r.Kind]++
	}
}

// check refuses a mesh that measured nothing or failed more than 1% of
// its requests: a failed request costs less CPU than a served one, and a
// mesh that fails is overloaded, not the machine's steady state. The
// error lists the failures by kind: "status_5xx 12, timeout 3".
func (s *meshSink) check() error {
	if s.requests == 0 {
		return fmt.Errorf("no request after the warm-up")
	}
	if s.failed*100 <= s.requests {
		return nil
	}
	var parts []string
	for _, k := range bench.Kinds() {
		if n := s.byKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return &meshFailed{fmt.Sprintf("%d of %d requests failed (%s): calibrate on a quieter machine", s.failed, s.requests, strings.Join(parts, ", "))}
}

// meshFailed is a mesh that failed more than 1% of its requests (check).
type meshFailed struct{ msg string }

func (e *meshFailed) Error() string { return e.msg }

// meshScale is the mesh's CPU per request over what the components'
// figures add up to for meshPlan's request, rounded to three decimals and
// kept within the profile's bounds; 0 (no scale) when they add up to
// nothing.
func meshScale(mesh time.Duration, c *calibration.HostCPU) float64 {
	sum := c.Client.D() + c.Gateway.D() + c.Replica.D() + meshCalls*(c.Sidecar.D()+c.Replica.D())
	if sum <= 0 {
		return 0
	}
	return math.Round(min(max(float64(mesh)/float64(sum), 0.1), 4)*1000) / 1000
}

// The latency side of the mesh phase. The figures of the local section
// were each measured with the component alone too, and a hop that wakes
// parked threads costs more than one in a busy mesh: with the figures as
// measured the simulator put the library's pages' medians 8–49% above
// local's (docs/host-model.md). meshLatency runs the simulator on the
// mesh phase's own flow — the same scenario at the same rate, with the
// section's figures and the host model of the machine's cores, as a run
// with the profile and --host-cores does — and finds the factor on every
// latency figure at which its median is the one measured.

// meshSimRequests is how many requests the simulator runs meshPlan for,
// for the scale (60 s at 400/s): enough that its median moves by well
// under a percent between seeds, a few tens of milliseconds of the
// calibration's time per run; never less than meshSimLeast, whose fifth,
// the warm-up, lets the host's job-rate estimate settle.
const (
	meshSimRequests = 24000
	meshSimLeast    = 20 * time.Second
)

// meshSimFor is how long the simulator runs meshPlan at rate.
func meshSimFor(rate int) time.Duration {
	return max(time.Duration(meshSimRequests)*time.Second/time.Duration(max(rate, 1)), meshSimLeast)
}

// meshLatency is the mesh's latency against the simulator's prediction
// of it from l, at the mesh's rate, and the scale that makes them agree
// (within 0.1–hi; at a bound when the simulator cannot reach the measured
// median inside them). With base nil the simulator charges l's figures
// times one scale at every rate for this; with base, the calibration
// rate's point, it charges them by the curve through base and the mesh's
// rate at the scale tried, as the profile's curve will at that rate. Its
// CPU follows l's CPU curve.
func meshLatency(ctx context.Context, l *calibration.Local, m *Mesh, hi float64, base *calibration.LatencyPoint) (*calibration.MeshLatency, error) {
	return solveMesh(ctx, calibration.BackendLocal, m, hi, func(s float64) *calibration.Profile {
		sec := *l
		sec.Mesh = &calibration.MeshLatency{Scale: s}
		if base != nil {
			sec.Mesh = &calibration.MeshLatency{Scale: base.Scale, Curve: []calibration.LatencyPoint{*base,
				{Rate: m.Rate, Jobs: m.Rate * meshJobs, Scale: s}}}
		}
		return &calibration.Profile{Backends: calibration.Backends{Local: &sec}}
	}, l.Host.Cores)
}

// meshLatencies is the local section's mesh latency from the mesh phases
// (the calibration's rate first, then higher ones): the first phase's,
// with the curve through all of them when there are two or more. The
// first phase's scale lies within 0.1–4 (calibration.MeshLatency.Scale),
// the others' within 0.1–calibration.MaxCurveScale: near the knee a real
// process's hops cost several times what they cost at the calibration's
// rate. The first is solved first, as every higher one's base; the
// simulator then solves the higher rates side by side, one run per core
// at a time, after the last phase has measured: nothing else runs then. A
// rate whose scale the simulator cannot solve ends the curve below it.
func meshLatencies(ctx context.Context, l *calibration.Local, ms []*Mesh) (*calibration.MeshLatency, error) {
	got := make([]*calibration.MeshLatency, len(ms))
	errs := make([]error, len(ms))
	if got[0], errs[0] = meshLatency(ctx, l, ms[0], 4, nil); errs[0] != nil {
		return nil, errs[0]
	}
	base := &calibration.LatencyPoint{Rate: ms[0].Rate, Jobs: ms[0].Rate * meshJobs, Scale: got[0].Scale}
	var wg sync.WaitGroup
	for i, m := range ms[1:] {
		wg.Go(func() { got[i+1], errs[i+1] = meshLatency(ctx, l, m, calibration.MaxCurveScale, base) })
	}
	wg.Wait()
	out := got[0]
	var curve []calibration.LatencyPoint
	for i, m := range ms {
		if errs[i] != nil {
			break
		}
		g := got[i]
		curve = append(curve, calibration.LatencyPoint{Rate: m.Rate, Jobs: m.Rate * meshJobs,
			P50: g.P50, P99: g.P99, Predicted: g.Predicted, Scale: g.Scale})
	}
	if len(curve) > 1 {
		out.Curve = curve
	}
	return out, nil
}

// solveMesh runs the simulator on meshPlan at m's rate, predicting
// backend with the profile profileAt(s) gives for a scale s and the host
// model of cores, and returns m's latency, the simulator's median at
// scale 1, and the scale within 0.1–hi at which its median is m's.
func solveMesh(ctx context.Context, backend string, m *Mesh, hi float64, profileAt func(float64) *calibration.Profile, cores int) (*calibration.MeshLatency, error) {
	d := meshSimFor(m.Rate)
	plan, err := scenarios.LoadBytes("calibration-mesh.yaml", fmt.Appendf(nil, meshPlan, d, d/5, "sim", m.Rate))
	if err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	plan.Profile, plan.ProfileBackend = profileAt(1), backend
	if plan, err = plan.WithHostCores(cores); err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	// p50 is the simulator's median at scale s: the same seed each time,
	// so that only the scale moves it.
	p50 := func(s float64) (time.Duration, error) {
		p := *plan
		p.Profile = profileAt(s)
		sink := &meshSink{from: plan.Warmup, lat: newHist()}
		if _, err := (sim.Backend{}).Run(ctx, bench.Job{Plan: &p, Seed: plan.Seed}, sink); err != nil {
			return 0, fmt.Errorf("calibrate: mesh: the simulator: %w", err)
		}
		if sink.requests == 0 {
			return 0, fmt.Errorf("calibrate: mesh: the simulator issued no request")
		}
		// A flow the simulator answers none of has no median: above any
		// measured one, as the bisection needs (a scale too high times
		// every request out).
		if sink.lat.TotalCount() == 0 {
			return unanswered, nil
		}
		return quantile(sink.lat, 0.5), nil
	}
	predicted, err := p50(1)
	if err != nil {
		return nil, err
	}
	// With the figures as measured (on an overloaded machine, say) the
	// simulator answered nothing: no prediction, so no scale, rather than
	// a profile with a prediction of 0 that does not load.
	if predicted == unanswered {
		return nil, fmt.Errorf("calibrate: mesh: the simulator answered none of the flow's requests with the figures as measured")
	}
	scale, err := solveScale(m.P50, hi, p50)
	if err != nil {
		return nil, err
	}
	return &calibration.MeshLatency{P50: config.Duration(m.P50), P99: config.Duration(m.P99),
		Predicted: config.Duration(predicted), Scale: scale}, nil
}

// unanswered is the simulator's median for a flow it answered none of.
const unanswered = time.Duration(math.MaxInt64)

// solveScale finds, by bisection over 0.1–hi, the scale at which
// median(s) is want, to three decimals: median grows with the scale
// (every charged latency does), so the interval halves each step. It
// returns a bound when want lies outside what the bounds give.
func solveScale(want time.Duration, hi float64, median func(float64) (time.Duration, error)) (float64, error) {
	lo := 0.1
	for _, b := range []float64{lo, hi} {
		got, err := median(b)
		if err != nil {
			return 0, err
		}
		if (b == lo && got >= want) || (b == hi && got <= want) {
			return b, nil
		}
	}
	for hi-lo > 0.0005 {
		mid := (lo + hi) / 2
		got, err := median(mid)
		if err != nil {
			return 0, err
		}
		if got < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Round((lo+hi)/2*1000) / 1000, nil
}

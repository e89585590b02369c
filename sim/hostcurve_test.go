package sim

import (
	"math"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/scenarios"
)

// TestScaleAt: the curve's scale is the measured points' at their rates,
// a power law between them, the nearest segment's beyond them, and held
// past twice the last rate or half the first.
func TestScaleAt(t *testing.T) {
	c := []scalePoint{{jobs: 3600, rel: 1}, {jobs: 7200, rel: 0.8}, {jobs: 14400, rel: 0.7}}
	for _, tc := range []struct{ rate, want float64 }{
		{3600, 1},
		{7200, 0.8},
		{14400, 0.7},
		{math.Sqrt(3600 * 7200), math.Sqrt(0.8)},
		{1800, 1 / 0.8},          // the first segment's slope, extended
		{10, 1 / 0.8},            // held at half the first rate
		{28800, 0.7 * 0.7 / 0.8}, // the last segment's slope, extended
		{1e6, 0.7 * 0.7 / 0.8},   // held at twice the last rate
		{10800, 0.8 * math.Pow(1.5, math.Log(0.7/0.8)/math.Log(2))},
	} {
		if got := scaleAt(c, tc.rate); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("scaleAt(%g) = %.6f, want %.6f", tc.rate, got, tc.want)
		}
	}
}

// TestHostJobRate: jobs taken at a steady rate are charged the curve's
// scale at that rate once the estimate has settled (a few of its
// forgetting times), and a host without a curve charges them as given.
func TestHostJobRate(t *testing.T) {
	c := []scalePoint{{jobs: 1000, rel: 1}, {jobs: 4000, rel: 0.5}}
	for _, rate := range []float64{1000, 2000, 4000} {
		h := newHost(&scenarios.Host{Cores: 2}, c)
		gap := int64(1e9 / rate)
		var got int64
		for i := int64(0); i < int64(10*rate); i++ {
			got = int64(1e6 * h.scale(i*gap))
		}
		want := 1e6 * scaleAt(c, rate)
		if math.Abs(float64(got)-want) > 0.02*want {
			t.Errorf("at %g jobs/s: charged %d ns, want %.0f within 2%%", rate, got, want)
		}
	}
}

// TestHostCurveFromProfile: a profile's curve reaches the host model only
// when the host block takes the profile's figures, each point relative to
// the profile's scale; the flagship at 400/s (3600 jobs a second: the
// client, the gateway, the payments replica and three calls of a sidecar
// and a replica) then spends the curve's CPU at 3600 jobs a second, not
// the figures'.
func TestHostCurveFromProfile(t *testing.T) {
	us := calibration.D(100 * time.Microsecond)
	prof := constProfile(0, 0, 0, 0, 0, 0)
	prof.Backends.Local.Host.CPU = &calibration.HostCPU{Client: us, Gateway: us, Sidecar: us, Replica: us, Scale: 1,
		Curve: []calibration.ScalePoint{{Rate: 200, Jobs: 1800, Scale: 1, Mesh: 900000}, {Rate: 400, Jobs: 3600, Scale: 0.5, Mesh: 450000}}}
	p := loadLibrary(t, "balancer-brownout")
	// A quarter of the flagship in both modes: its warm-up (2.5 s) lets
	// the job rate's estimate, which forgets over a second, settle.
	p = p.WithDuration(p.Duration / 4)
	p.Faults = nil // no retries: every request does the same work
	p.Profile, p.ProfileBackend = prof, calibration.BackendLocal
	p.Host = &scenarios.Host{Cores: 2, CPU: scenarios.HostCPU{Client: time.Microsecond}}
	if c := curveOf(p); c != nil {
		t.Errorf("a host block with CPU of its own took the profile's curve: %v", c)
	}
	p.Host = &scenarios.Host{Cores: 2}
	if c := curveOf(p); len(c) != 2 || c[0] != (scalePoint{1800, 1}) || c[1] != (scalePoint{3600, 0.5}) {
		t.Fatalf("curve %v, want {1800 1} {3600 0.5}", c)
	}
	var c collector
	out, err := Backend{}.Run(t.Context(), bench.Job{Plan: p, Seed: p.Seed}, &c)
	if err != nil {
		t.Fatal(err)
	}
	// 9 jobs of 100µs × 0.5 at 400/s: 0.18 cores, give or take the
	// Poisson count and the estimate's first second.
	if cores := out.CPU.Used.Seconds() / out.CPU.Span.Seconds(); math.Abs(cores-0.18) > 0.01 {
		t.Errorf("%.3f cores busy, want about 0.18 (0.36 without the curve)", cores)
	}
}

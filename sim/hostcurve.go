package sim

import "math"

// A process's CPU per request falls as its event rate rises: more
// requests find a thread already awake, and more work is batched into one
// system call (docs/host-model.md: a lone replica spent 373 µs per request
// at 400/s and 102 µs at 1600/s). Calibration's mesh phase measures the
// whole payment flow's CPU at two rates (calibration.HostCPU.Curve), and
// the host model, whose figures hostOf already scaled to the first rate,
// charges each component's job times the curve at the host's current job
// rate over the curve at the first: a run at twice the calibration's rate
// is charged what the mesh spent at twice it, not at it.
//
// The rate is the jobs the host has taken per second, a running estimate
// with exponential forgetting over rateTau of virtual time (at steady
// rate λ its mean is λ), so it follows a scenario's load steps within a
// second or two; the scale is a power law between adjacent points (a
// straight line on log-log axes, as CPU per request against rate lies
// between the measured ones), extended past the ends with the nearest
// segment's slope but no further than rateReach beyond them: past that no
// measurement says where it goes.

// scalePoint is one point of the curve: at jobs per second, the profile's
// scale there over its scale at the first point.
type scalePoint struct {
	jobs, rel float64
}

const (
	rateTau   = 1e9 // ns: the rate estimate's forgetting time
	rateReach = 2   // how far past the curve's ends it is extended, as a factor of rate
)

// scale is the factor on a component's CPU for one request taken at t, at
// the host's job rate, counting the request's job.
func (h *host) scale(t int64) float64 {
	if dt := t - h.rateAt; dt > 0 {
		h.jobRate *= math.Exp(-float64(dt) / rateTau)
	}
	h.rateAt = t
	h.jobRate += 1e9 / rateTau
	if h.curve == nil {
		return 1
	}
	return scaleAt(h.curve, h.jobRate)
}

// scaleAt is the curve's relative scale at rate jobs per second.
func scaleAt(curve []scalePoint, rate float64) float64 {
	n := len(curve)
	rate = min(max(rate, curve[0].jobs/rateReach), curve[n-1].jobs*rateReach)
	i := 1
	for i < n-1 && rate > curve[i].jobs {
		i++
	}
	a, b := curve[i-1], curve[i]
	slope := math.Log(b.rel/a.rel) / math.Log(b.jobs/a.jobs)
	return a.rel * math.Pow(rate/a.jobs, slope)
}

package bench

import (
	"fmt"
	"math"
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat"

	"github.com/meshbench/meshbench/scenarios"
)

// Verdicts of a prediction.
const (
	// PredictionPass: every metric within its tolerance.
	PredictionPass = "pass"
	// PredictionNoise: a metric is outside its tolerance, but every such
	// metric's prediction lies inside the real backend's own run-to-run
	// spread, so the measurement cannot tell the error from noise.
	PredictionNoise = "noise"
	// PredictionFail: a metric is outside its tolerance and outside the
	// real backend's spread (or there was no spread: one repeat).
	PredictionFail = "fail"
)

// Prediction metrics, as PredictionMetric.Metric names them.
const (
	PredictP50          = "p50"
	PredictP99          = "p99"
	PredictP999         = "p999"
	PredictAvailability = "availability"
	// PredictKnee is the offered rate at which the latency SLO is first
	// exceeded, on a load that rises in steps (Knee).
	PredictKnee = "knee"
	// PredictCPU is the mean cores the run used after its warm-up (CPU):
	// the host model's prediction against the local backend's process or
	// the containers backend's machine.
	PredictCPU = "cpu"
)

// Units of PredictionMetric.Error.
const (
	ErrorRelative = "relative" // (sim − real) / real
	ErrorPoints   = "pp"       // percentage points, (sim − real) × 100
)

// Prediction sets the simulator's runs of one variant beside a real
// backend's runs of the same variant: how well the model predicted the
// measurement, and whether that is within the scenario's tolerance.
type Prediction struct {
	Variant string `json:"variant"`
	// Backend is the real backend measured: local or containers.
	Backend string `json:"backend"`
	// SimRepeats and RealRepeats count the repeats that measured anything.
	SimRepeats  int `json:"sim_repeats"`
	RealRepeats int `json:"real_repeats"`
	// RealUntrustworthy counts the real backend's repeats marked
	// untrustworthy (RunSummary.Untrustworthy): they are counted, but
	// the measurement they give is not the scenario's load.
	RealUntrustworthy int `json:"real_untrustworthy,omitempty"`
	// RealBusy counts the real backend's repeats measured while the rest
	// of their machine was busy (CPU.Disturbed): counted too, but their
	// figures carry that work.
	RealBusy int `json:"real_busy,omitempty"`
	// Metrics are p50, p99, p999, availability, knee and cpu, in that
	// order; a latency is left out when either side had no successful
	// request, the knee when either side's runs have none (Knee), the cpu
	// when either side's runs do not all have one (RunSummary.CPU).
	Metrics []PredictionMetric `json:"metrics"`
	// Unmeasured lists the metrics the scenario's prediction.judge names
	// that one side could not give (a knee on a run that did not finish
	// its steps): the verdict then fails, since what it rests on is
	// missing.
	Unmeasured []string `json:"unmeasured,omitempty"`
	// Verdict is pass, noise or fail (PredictionPass, PredictionNoise,
	// PredictionFail); Pass is false only for fail.
	Verdict string `json:"verdict"`
	Pass    bool   `json:"pass"`
}

// PredictionMetric is one metric of a Prediction.
type PredictionMetric struct {
	Metric string `json:"metric"`
	// Unit of Sim, Real and the spreads: "ms" for latencies (the
	// percentile of the histograms merged over the repeats), "ratio" for
	// availability (successes over requests of all repeats), "rps" for the
	// knee (the median of the repeats' knees), "cores" for the cpu (the
	// mean of the repeats').
	Unit string  `json:"unit"`
	Sim  float64 `json:"sim"`
	Real float64 `json:"real"`
	// Error is the prediction's error in ErrorUnit: relative for
	// latencies, (sim − real) / real; percentage points for availability.
	Error     float64 `json:"error"`
	ErrorUnit string  `json:"error_unit"`
	// Tolerance is the largest acceptable |Error|, in ErrorUnit.
	Tolerance       float64 `json:"tolerance"`
	WithinTolerance bool    `json:"within_tolerance"`
	// SimSpread and RealSpread are each backend's run-to-run spread: the
	// lowest and highest per-repeat value; absent with fewer than two
	// repeats.
	SimSpread  *Spread `json:"sim_spread,omitempty"`
	RealSpread *Spread `json:"real_spread,omitempty"`
	// WithinSpread is true when Sim lies inside RealSpread: the
	// prediction is as close as the real backend comes to itself.
	WithinSpread bool `json:"within_spread,omitempty"`
	// NotJudged is true when the scenario's prediction.judge leaves the
	// metric out of the verdict: it is shown, and decides nothing.
	NotJudged bool `json:"not_judged,omitempty"`
}

// Spread is a metric's range over a backend's repeats, in the metric's unit.
type Spread struct {
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Repeats int     `json:"repeats"`
}

// Contains reports whether v lies inside the spread.
func (s *Spread) Contains(v float64) bool { return s != nil && v >= s.Min && v <= s.Max }

// Predict pairs every variant that ran on the simulator with each real
// backend that ran it too, in the order of the real backends' runs in s,
// and judges each against tol. A summary without the simulator or without
// a real backend has no predictions.
func Predict(s *Summary, tol scenarios.PredictionTolerance) ([]Prediction, error) {
	type group struct {
		key  RunKey
		runs []RunSummary
	}
	var groups []*group
	at := map[RunKey]*group{}
	for _, r := range s.Runs {
		k := RunKey{r.Backend, r.Variant}
		g, ok := at[k]
		if !ok {
			g = &group{key: k}
			at[k] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, r)
	}
	var out []Prediction
	for _, g := range groups {
		if g.key.Backend == scenarios.BackendSim {
			continue
		}
		sg, ok := at[RunKey{scenarios.BackendSim, g.key.Variant}]
		if !ok {
			continue
		}
		p, ok, err := predict(sg.runs, g.runs, tol)
		if err != nil {
			return nil, fmt.Errorf("prediction of %s on %s: %w", g.key.Variant, g.key.Backend, err)
		}
		if ok {
			p.Variant, p.Backend = g.key.Variant, g.key.Backend
			out = append(out, p)
		}
	}
	return out, nil
}

// PredictionsOf returns the summary's predictions, or, for a summary
// written before they existed, computes them with the default tolerance.
func PredictionsOf(s *Summary) ([]Prediction, error) {
	if len(s.Predictions) > 0 {
		return s.Predictions, nil
	}
	return Predict(s, scenarios.DefaultPredictionTolerance())
}

// measured keeps the repeats that made at least one request: a repeat that
// failed outright has zero latencies that would mislead.
func measured(runs []RunSummary) []RunSummary {
	var out []RunSummary
	for _, r := range runs {
		if r.Requests > 0 {
			out = append(out, r)
		}
	}
	return out
}

func predict(simRuns, realRuns []RunSummary, tol scenarios.PredictionTolerance) (Prediction, bool, error) {
	simRuns, realRuns = measured(simRuns), measured(realRuns)
	if len(simRuns) == 0 || len(realRuns) == 0 {
		return Prediction{}, false, nil
	}
	p := Prediction{SimRepeats: len(simRuns), RealRepeats: len(realRuns)}
	for _, r := range realRuns {
		if r.Untrustworthy != "" {
			p.RealUntrustworthy++
		}
		if r.CPU.Disturbed() != "" {
			p.RealBusy++
		}
	}
	sh, err := MergedHistogram(simRuns)
	if err != nil {
		return p, false, err
	}
	rh, err := MergedHistogram(realRuns)
	if err != nil {
		return p, false, err
	}
	latencies := []struct {
		name string
		q    float64
		tol  scenarios.Fraction
		of   func(Latency) float64
	}{
		{PredictP50, 50, tol.P50, func(l Latency) float64 { return l.P50 }},
		{PredictP99, 99, tol.P99, func(l Latency) float64 { return l.P99 }},
		{PredictP999, 99.9, tol.P999, func(l Latency) float64 { return l.P999 }},
	}
	if sh != nil && rh != nil {
		for _, l := range latencies {
			sv, rv := ms(sh.ValueAtQuantile(l.q)), ms(rh.ValueAtQuantile(l.q))
			if rv <= 0 {
				continue
			}
			withSuccess := func(r RunSummary) (float64, bool) { return l.of(r.LatencyMS), r.Successes > 0 }
			p.Metrics = append(p.Metrics, metric(l.name, "ms", sv, rv, RelativeError(sv, rv), ErrorRelative, l.tol.Float64(),
				spreadOf(simRuns, withSuccess), spreadOf(realRuns, withSuccess)))
		}
	}
	sa, ra := availability(simRuns), availability(realRuns)
	avail := func(r RunSummary) (float64, bool) { return r.Availability, true }
	p.Metrics = append(p.Metrics, metric(PredictAvailability, "ratio", sa, ra, round((sa-ra)*100, 6), ErrorPoints, tol.Availability,
		spreadOf(simRuns, avail), spreadOf(realRuns, avail)))
	kneeOf := func(r RunSummary) (float64, bool) {
		if r.Knee == nil {
			return 0, false
		}
		return r.Knee.RateRPS, true
	}
	if sk, rk := valuesOf(simRuns, kneeOf), valuesOf(realRuns, kneeOf); len(sk) == len(simRuns) && len(rk) == len(realRuns) {
		sv, rv := round(median(sk), 1), round(median(rk), 1)
		p.Metrics = append(p.Metrics, metric(PredictKnee, "rps", sv, rv, RelativeError(sv, rv), ErrorRelative, tol.Knee.Float64(),
			spreadOf(simRuns, kneeOf), spreadOf(realRuns, kneeOf)))
	}
	coresOf := func(r RunSummary) (float64, bool) {
		if r.CPU == nil {
			return 0, false
		}
		return r.CPU.Cores, true
	}
	if sc, rc := valuesOf(simRuns, coresOf), valuesOf(realRuns, coresOf); len(sc) == len(simRuns) && len(rc) == len(realRuns) {
		sv, rv := round(stat.Mean(sc, nil), 4), round(stat.Mean(rc, nil), 4)
		p.Metrics = append(p.Metrics, metric(PredictCPU, "cores", sv, rv, RelativeError(sv, rv), ErrorRelative, tol.CPU.Float64(),
			spreadOf(simRuns, coresOf), spreadOf(realRuns, coresOf)))
	}
	for i := range p.Metrics {
		p.Metrics[i].NotJudged = !tol.Judges(p.Metrics[i].Metric)
	}
	for _, name := range tol.Judge {
		if !slices.ContainsFunc(p.Metrics, func(m PredictionMetric) bool { return m.Metric == name }) {
			p.Unmeasured = append(p.Unmeasured, name)
		}
	}
	p.Verdict = verdict(p.Metrics)
	if len(p.Unmeasured) > 0 {
		p.Verdict = PredictionFail
	}
	p.Pass = p.Verdict != PredictionFail
	return p, true, nil
}

func metric(name, unit string, sim, real, err float64, errUnit string, tol float64, simSpread, realSpread *Spread) PredictionMetric {
	return PredictionMetric{
		Metric: name, Unit: unit, Sim: sim, Real: real,
		Error: err, ErrorUnit: errUnit, Tolerance: tol,
		// A hair of slack so that an error printed as the tolerance passes.
		WithinTolerance: math.Abs(err) <= tol+1e-9,
		SimSpread:       simSpread, RealSpread: realSpread,
		WithinSpread: realSpread.Contains(sim),
	}
}

// verdict judges a prediction's metrics (see PredictionPass and the others).
func verdict(ms []PredictionMetric) string {
	v := PredictionPass
	for _, m := range ms {
		switch {
		case m.NotJudged, m.WithinTolerance:
		case m.WithinSpread:
			v = PredictionNoise
		default:
			return PredictionFail
		}
	}
	return v
}

// RelativeError is the prediction error (pred − meas) / meas, rounded to
// six decimals; NaN when meas is 0.
func RelativeError(pred, meas float64) float64 {
	if meas == 0 {
		return math.NaN()
	}
	return round((pred-meas)/meas, 6)
}

// valuesOf are value's figures of the runs that have one (ok), as
// spreadOf takes them.
func valuesOf(runs []RunSummary, value func(RunSummary) (float64, bool)) []float64 {
	var out []float64
	for _, r := range runs {
		if v, ok := value(r); ok {
			out = append(out, v)
		}
	}
	return out
}

// availability is successes over requests of all runs.
func availability(runs []RunSummary) float64 {
	var ok, n int64
	for _, r := range runs {
		ok += r.Successes
		n += r.Requests
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / float64(n)
}

// spreadOf is the min–max of the per-repeat values that value reports,
// when at least two repeats have one.
func spreadOf(runs []RunSummary, value func(RunSummary) (float64, bool)) *Spread {
	var s *Spread
	n := 0
	for _, r := range runs {
		v, ok := value(r)
		if !ok {
			continue
		}
		n++
		if s == nil {
			s = &Spread{Min: v, Max: v}
			continue
		}
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	if n < 2 {
		return nil
	}
	s.Repeats = n
	return s
}

// MergedHistogram merges the latency histograms (µs) of runs: the
// distribution over all of them. It returns nil when none recorded a
// successful request.
func MergedHistogram(runs []RunSummary) (*hdr.Histogram, error) {
	var merged *hdr.Histogram
	for _, r := range runs {
		if r.LatencyHDR == "" {
			continue
		}
		h, err := DecodeHistogram(r.LatencyHDR)
		if err != nil {
			return nil, fmt.Errorf("%s/%s repeat %d: %w", r.Backend, r.Variant, r.Repeat, err)
		}
		if h.TotalCount() == 0 {
			continue
		}
		if merged == nil {
			merged = h
			continue
		}
		merged.Merge(h)
	}
	return merged, nil
}

package bench

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"golang.org/x/perf/benchmath"
)

// DefaultGateAlpha is the significance level of the regression gate's test.
const DefaultGateAlpha = 0.05

// gateConfidence is the confidence level of the medians' intervals.
const gateConfidence = 0.95

// GateOptions configures Gate. The zero value uses DefaultGateAlpha and
// DefaultTolerances.
type GateOptions struct {
	// Alpha is the significance level (0 means DefaultGateAlpha).
	Alpha float64
	// Tolerances by metric name; metrics missing here use their default.
	Tolerances map[string]Tolerance
	// Scoped adds checks of single routes' or workloads' metrics
	// (ParseRegressions), beside the totals' checks.
	Scoped []ScopedTolerance
}

// GateSample is one side of a comparison: the per-repeat values of a metric
// and their median with its confidence interval (±Inf when too few repeats
// give no interval, as benchmath reports).
type GateSample struct {
	Values         []float64
	Median, Lo, Hi float64
	// Confidence is the interval's actual confidence level.
	Confidence float64
}

// N is the number of repeats in the sample.
func (s GateSample) N() int { return len(s.Values) }

// GateCheck is the verdict on one metric of one backend × variant.
type GateCheck struct {
	Backend, Variant string
	Metric           GateMetric
	Baseline         GateSample
	Current          GateSample
	// DeltaPct is the change of the median, current against baseline, in
	// percent of the baseline (NaN when the baseline median is 0).
	DeltaPct float64
	// Worsening is how far the current median is worse than the baseline,
	// in the tolerance's terms (a fraction, or percentage points); negative
	// when it improved.
	Worsening float64
	Tolerance Tolerance
	// P is the Mann–Whitney U test's p-value (two-sided) that both samples
	// come from the same distribution.
	P float64
	// PAdjusted is P adjusted by Holm's method over all checks of the gate,
	// so that the gate as a whole raises a false alarm with probability at
	// most Alpha.
	PAdjusted float64
	// Tested is false when the samples are too small for the adjusted test
	// ever to reach Alpha; the verdict then rests on the tolerance alone.
	Tested bool
	// Significant is PAdjusted < Alpha (and Tested).
	Significant bool
	// Pass is the verdict.
	Pass bool
	// Verdict says why, in a few words ("ok", "improved", "REGRESSION"...).
	Verdict string
	// Warnings are benchmath's remarks on the samples and the test.
	Warnings []string
}

// Name identifies the check: "sim/peak-ewma p99".
func (c GateCheck) Name() string {
	return fmt.Sprintf("%s/%s %s", c.Backend, c.Variant, c.Metric.Name)
}

// GateResult is the outcome of comparing a current run with a baseline.
type GateResult struct {
	Alpha  float64
	Checks []GateCheck
	// OnlyBaseline and OnlyCurrent list "backend/variant" pairs present on
	// one side only; they are reported, not judged.
	OnlyBaseline, OnlyCurrent []string
	// Excluded lists runs left out of the samples because they failed or
	// measured nothing ("sim/x repeat 2: <error>").
	Excluded []string
	// Untrustworthy lists runs in the samples whose load generator fell
	// behind its schedule past the bound (RunSummary.Untrustworthy): they
	// are judged, but the load they offered was not the scenario's.
	Untrustworthy []string
	// Busy lists runs in the samples measured while the rest of their
	// machine was busy (CPU.Disturbed): judged too, but their figures
	// carry that work.
	Busy []string
	// Pass is true when every check passed.
	Pass bool
}

// Failed returns the checks that failed.
func (g *GateResult) Failed() []GateCheck {
	var out []GateCheck
	for _, c := range g.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// ThresholdOnly reports whether any check had too few repeats to be tested.
func (g *GateResult) ThresholdOnly() bool {
	for _, c := range g.Checks {
		if !c.Tested {
			return true
		}
	}
	return false
}

// RepeatsNeeded is the smallest number of repeats a side for which the
// gate's adjusted U test can reach Alpha over this many checks.
func (g *GateResult) RepeatsNeeded() int {
	n := 1
	for gateMinUTestP(n, n)*float64(len(g.Checks)) > g.Alpha && n < 1000 {
		n++
	}
	return n
}

// ErrNothingToGate is returned by Gate when the two summaries share no
// backend × variant.
var ErrNothingToGate = errors.New("baseline and current share no backend × variant")

// Gate compares current with baseline, backend × variant by backend ×
// variant, metric by metric, over the repeats of each (as benchstat compares
// benchmark runs, with benchmath's Mann–Whitney U test). A metric fails only
// when it is both significantly worse — the two-sided U test, its p-value
// Holm-adjusted over all checks, rejects "same distribution" at Alpha and the
// median moved in the worse direction — and worse by more than its
// tolerance. When the samples are too small for the adjusted test ever to
// reach Alpha (one backend × variant, eight checks, alpha 0.05: fewer than 6
// repeats a side), the tolerance alone decides, and Tested says so.
func Gate(baseline, current *Summary, opts GateOptions) (*GateResult, error) {
	alpha := opts.Alpha
	if alpha == 0 {
		alpha = DefaultGateAlpha
	}
	if alpha <= 0 || alpha >= 1 {
		return nil, fmt.Errorf("alpha %v outside (0, 1)", alpha)
	}
	tols := DefaultTolerances()
	for k, v := range opts.Tolerances {
		m, ok := LookupGateMetric(k)
		if !ok {
			return nil, fmt.Errorf("tolerance for unknown metric %q", k)
		}
		tols[m.Name] = v
	}
	scoped, err := resolveScopes(opts.Scoped, baseline, current)
	if err != nil {
		return nil, err
	}
	scopedChecks := make([]int, len(scoped))
	res := &GateResult{Alpha: alpha, Pass: true}
	base, baseKeys := gateGroupRepeats(baseline, "baseline", &res.Excluded)
	cur, curKeys := gateGroupRepeats(current, "current", &res.Excluded)
	for side, s := range map[string]*Summary{"baseline": baseline, "current": current} {
		for _, r := range s.Runs {
			if r.Error != "" || r.Requests <= 0 {
				continue
			}
			name := fmt.Sprintf("%s %s repeat %d", side, RunKey{r.Backend, r.Variant}, r.Repeat)
			if r.Untrustworthy != "" {
				res.Untrustworthy = append(res.Untrustworthy, name)
			}
			if r.CPU.Disturbed() != "" {
				res.Busy = append(res.Busy, name)
			}
		}
	}
	sort.Strings(res.Untrustworthy)
	sort.Strings(res.Busy)
	for _, k := range curKeys {
		if _, ok := base[k]; !ok {
			res.OnlyCurrent = append(res.OnlyCurrent, k.String())
		}
	}
	thresholds := benchmath.Thresholds{CompareAlpha: alpha}
	for _, k := range baseKeys {
		curRuns, ok := cur[k]
		if !ok {
			res.OnlyBaseline = append(res.OnlyBaseline, k.String())
			continue
		}
		for _, m := range gateMetrics {
			c := gateMeasure(m, base[k], curRuns, tols[m.Name], &thresholds)
			c.Backend, c.Variant = k.Backend, k.Variant
			res.Checks = append(res.Checks, c)
		}
		for i, st := range scoped {
			label := opts.Scoped[i].Label()
			b, c := scopedRuns(base[k], st), scopedRuns(curRuns, st)
			if len(b) == 0 || len(c) == 0 {
				res.Excluded = append(res.Excluded, fmt.Sprintf("%s %s: %s %s has no requests in the baseline or the current run", k, label, st.Kind, st.Name))
				continue
			}
			chk := gateMeasure(scopedMetric(st, label), b, c, st.Tolerance, &thresholds)
			chk.Backend, chk.Variant = k.Backend, k.Variant
			res.Checks = append(res.Checks, chk)
			scopedChecks[i]++
		}
	}
	if len(res.Checks) > 0 {
		for i, n := range scopedChecks {
			if n == 0 {
				return res, fmt.Errorf("%s: %s %s has requests in no backend × variant of both baseline and current", opts.Scoped[i].Label(), scoped[i].Kind, scoped[i].Name)
			}
		}
	}
	if len(res.Checks) == 0 {
		return res, fmt.Errorf("%w (baseline: %v; current: %v)", ErrNothingToGate, gateKeyStrings(baseKeys), gateKeyStrings(curKeys))
	}
	gateHolm(res.Checks)
	for i := range res.Checks {
		gateJudge(&res.Checks[i], alpha, len(res.Checks))
		res.Pass = res.Pass && res.Checks[i].Pass
	}
	return res, nil
}

// RunKey identifies a backend × variant.
type RunKey struct{ Backend, Variant string }

func (k RunKey) String() string { return k.Backend + "/" + k.Variant }

func gateKeyStrings(ks []RunKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.String()
	}
	return out
}

// gateGroupRepeats groups s's usable runs by backend × variant, keeping the order
// of first appearance. Runs that failed or measured nothing would read as a
// spectacular improvement in latency, so they are excluded and listed.
func gateGroupRepeats(s *Summary, side string, excluded *[]string) (map[RunKey][]RunSummary, []RunKey) {
	groups := map[RunKey][]RunSummary{}
	var keys []RunKey
	for _, r := range s.Runs {
		k := RunKey{r.Backend, r.Variant}
		switch {
		case r.Error != "":
			*excluded = append(*excluded, fmt.Sprintf("%s %s repeat %d: %s", side, k, r.Repeat, r.Error))
			continue
		case r.Requests == 0:
			*excluded = append(*excluded, fmt.Sprintf("%s %s repeat %d: no requests measured", side, k, r.Repeat))
			continue
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	return groups, keys
}

func gateSampleOf(m GateMetric, runs []RunSummary, th *benchmath.Thresholds) (GateSample, *benchmath.Sample, []string) {
	vals := make([]float64, len(runs))
	for i, r := range runs {
		vals[i] = m.Value(r)
	}
	s := benchmath.NewSample(vals, th) // sorts vals in place
	sum := benchmath.AssumeNothing.Summary(s, gateConfidence)
	var warn []string
	for _, w := range sum.Warnings {
		warn = append(warn, w.Error())
	}
	return GateSample{Values: s.Values, Median: sum.Center, Lo: sum.Lo, Hi: sum.Hi, Confidence: sum.Confidence}, s, warn
}

// gateMeasure fills in everything of a check but its verdict.
func gateMeasure(m GateMetric, base, cur []RunSummary, tol Tolerance, th *benchmath.Thresholds) GateCheck {
	c := GateCheck{Metric: m, Tolerance: tol}
	var bs, cs *benchmath.Sample
	var warn []string
	c.Baseline, bs, warn = gateSampleOf(m, base, th)
	c.Warnings = append(c.Warnings, warn...)
	c.Current, cs, warn = gateSampleOf(m, cur, th)
	c.Warnings = gateAppendNew(c.Warnings, warn...)

	c.DeltaPct = math.NaN()
	if c.Baseline.Median != 0 {
		c.DeltaPct = (c.Current.Median/c.Baseline.Median - 1) * 100
	} else if c.Current.Median == 0 {
		c.DeltaPct = 0
	}
	c.Worsening = gateWorsening(m, tol, c.Baseline.Median, c.Current.Median)
	cmp := benchmath.AssumeNothing.Compare(bs, cs)
	c.P = cmp.P
	for _, w := range cmp.Warnings {
		c.Warnings = gateAppendNew(c.Warnings, w.Error())
	}
	return c
}

// gateJudge sets the check's verdict from its adjusted p-value and tolerance.
// family is the number of checks the p-values were adjusted over.
func gateJudge(c *GateCheck, alpha float64, family int) {
	c.Tested = gateMinUTestP(c.Baseline.N(), c.Current.N())*float64(family) <= alpha
	c.Significant = c.Tested && c.PAdjusted < alpha
	beyond := c.Worsening > c.Tolerance.Value+1e-12
	worse := c.Worsening > 0
	c.Pass = true
	switch {
	case !c.Tested && beyond:
		c.Verdict, c.Pass = "REGRESSION (threshold only)", false
	case !c.Tested:
		c.Verdict = "ok (threshold only)"
	case c.Significant && beyond:
		c.Verdict, c.Pass = "REGRESSION", false
	case c.Significant && worse:
		c.Verdict = "worse, within tolerance"
	case c.Significant && c.Worsening < 0:
		c.Verdict = "improved"
	case beyond:
		c.Verdict = "worse, not significant"
	default:
		c.Verdict = "ok"
	}
}

// gateHolm sets PAdjusted of every check by Holm's step-down method, which keeps
// the chance of any false alarm among all checks at alpha: eight metrics
// tested at 5% each would otherwise flag an unchanged variant up to a third
// of the time.
func gateHolm(checks []GateCheck) {
	idx := make([]int, len(checks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return checks[idx[a]].P < checks[idx[b]].P })
	m := len(checks)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*checks[i].P)
		running = math.Max(running, adj)
		checks[i].PAdjusted = running
	}
}

// gateWorsening measures how much worse cur is than base in the tolerance's
// terms: a fraction of base, or percentage points for an absolute tolerance
// of a ratio metric. It is negative for an improvement and +Inf when a
// lower-is-better metric grows from zero.
func gateWorsening(m GateMetric, tol Tolerance, base, cur float64) float64 {
	diff := cur - base
	if m.HigherIsBetter {
		diff = -diff
	}
	if tol.Absolute {
		return diff * 100
	}
	switch {
	case base != 0:
		return diff / math.Abs(base)
	case diff > 0:
		return math.Inf(1)
	case diff < 0:
		return math.Inf(-1)
	}
	return 0
}

// gateMinUTestP is the smallest two-sided p-value a Mann–Whitney U test can give
// for samples of these sizes: the two samples completely separated, 2/C(n1+n2,
// n1). It depends only on the sizes: it says whether the test could detect
// anything at all.
func gateMinUTestP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	lc, _ := math.Lgamma(float64(n1 + n2 + 1))
	l1, _ := math.Lgamma(float64(n1 + 1))
	l2, _ := math.Lgamma(float64(n2 + 1))
	return math.Min(1, 2/math.Exp(lc-l1-l2))
}

func gateAppendNew(list []string, items ...string) []string {
next:
	for _, it := range items {
		for _, have := range list {
			if have == it {
				continue next
			}
		}
		list = append(list, it)
	}
	return list
}

package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/meshbench/meshbench/bench"
)

// gateValue prints a metric's value in its unit.
func gateValue(m bench.GateMetric, v float64) string {
	switch m.Unit {
	case "ms":
		return fmtMS(v)
	case "ratio":
		return fmtPct(v)
	default:
		return fmtRPS(v)
	}
}

// gateSpread prints a sample's confidence interval as benchstat does, "±
// 3%" around the median, or "± ∞" when too few repeats give none; ratio
// metrics use percentage points.
func gateSpread(m bench.GateMetric, s bench.GateSample) string {
	if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		return "± ∞"
	}
	if m.IsRatio() {
		d := math.Max(s.Hi-s.Median, s.Median-s.Lo) * 100
		return "± " + strconv.FormatFloat(d, 'f', 2, 64) + "pp"
	}
	if s.Median == 0 {
		return "± 0%"
	}
	d := math.Max(s.Hi/s.Median-1, 1-s.Lo/s.Median) * 100
	return fmt.Sprintf("± %.0f%%", d)
}

// gateDelta prints the change of the median in the tolerance's terms.
func gateDelta(c bench.GateCheck) string {
	if c.Tolerance.Absolute {
		d := (c.Current.Median - c.Baseline.Median) * 100
		return signed(d, 2) + "pp"
	}
	if math.IsNaN(c.DeltaPct) {
		return "n/a"
	}
	return signed(c.DeltaPct, 1) + "%"
}

// signed prints x with an explicit sign and a true minus.
func signed(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	switch {
	case strings.HasPrefix(s, "-"):
		if strings.Trim(s, "-0.") == "" {
			return "0" + s[2:]
		}
		return "−" + s[1:]
	case strings.Trim(s, "0.") == "":
		return s
	}
	return "+" + s
}

// allowedText prints the tolerance in the worse direction: "+10%" for a
// latency, "−5%" for throughput.
func allowedText(c bench.GateCheck) string {
	sign := "+"
	if c.Metric.HigherIsBetter {
		sign = "−"
	}
	return sign + c.Tolerance.String()
}

func pText(c bench.GateCheck) string {
	switch {
	case !c.Tested:
		return "n/a"
	case c.PAdjusted < 0.001:
		return "<0.001"
	}
	return strconv.FormatFloat(c.PAdjusted, 'f', 3, 64)
}

// gateCheckText is one check in a sentence, for JUnit messages.
func gateCheckText(c bench.GateCheck) string {
	unit := map[string]string{"ms": "ms", "rps": "req/s"}[c.Metric.Unit]
	val := func(v float64) string { return strings.TrimSpace(gateValue(c.Metric, v) + " " + unit) }
	p := "p=" + pText(c)
	if strings.HasPrefix(pText(c), "<") {
		p = "p" + pText(c)
	}
	test := fmt.Sprintf("%s (Mann–Whitney U, Holm-adjusted), n=%d+%d", p, c.Baseline.N(), c.Current.N())
	if !c.Tested {
		test = fmt.Sprintf("n=%d+%d: too few repeats for a significance test, judged on the allowed regression alone", c.Baseline.N(), c.Current.N())
	}
	return fmt.Sprintf("%s: %s median %s → %s (%s), allowed %s; %s",
		c.Verdict, c.Metric.Name, val(c.Baseline.Median), val(c.Current.Median), gateDelta(c), allowedText(c), test)
}

// GateLabels name the two sides of a gate in its table.
type GateLabels struct{ Baseline, Current string }

// WriteGateTable prints the gate's checks as a benchstat-like table, one
// block per backend × variant: metric, baseline median ± CI, current median
// ± CI, delta, adjusted p-value, sample sizes, allowed regression, verdict;
// then footnotes and the overall verdict.
func WriteGateTable(w io.Writer, g *bench.GateResult, l GateLabels) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "baseline: %s\ncurrent:  %s\n", l.Baseline, l.Current)
	fmt.Fprintf(bw, "test: Mann–Whitney U (two-sided) per metric, p-values Holm-adjusted over %d checks, alpha %g\n", len(g.Checks), g.Alpha)
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 4, 2, ' ', 0)
	last := ""
	for _, c := range g.Checks {
		key := c.Backend + " / " + c.Variant
		if key != last {
			if last != "" {
				fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
			}
			fmt.Fprintf(tw, "%s\tbaseline\tcurrent\tdelta\tp\tn\tallowed\tverdict\n", key)
			last = key
		}
		name := c.Metric.Name
		switch c.Metric.Unit {
		case "ms":
			name += " (ms)"
		case "rps":
			name += " (req/s)"
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s %s\t%s\t%s\t%d+%d\t%s\t%s\n", name,
			gateValue(c.Metric, c.Baseline.Median), gateSpread(c.Metric, c.Baseline),
			gateValue(c.Metric, c.Current.Median), gateSpread(c.Metric, c.Current),
			gateDelta(c), pText(c), c.Baseline.N(), c.Current.N(), allowedText(c), c.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bw.Write(trimLines(tb.Bytes()))
	if notes := gateNotes(g); len(notes) > 0 {
		fmt.Fprintf(bw, "\n%s\n", strings.Join(notes, "\n"))
	}
	if g.Pass {
		fmt.Fprintf(bw, "\ngate: PASS (%d checks)\n", len(g.Checks))
	} else {
		fmt.Fprintf(bw, "\ngate: FAIL (%d of %d checks regressed)\n", len(g.Failed()), len(g.Checks))
	}
	return bw.Flush()
}

// gateNotes explains what a reader of the table needs to know: thresholds
// used without a test, intervals missing, runs left out or unmatched.
func gateNotes(g *bench.GateResult) []string {
	var notes []string
	if g.ThresholdOnly() {
		notes = append(notes, fmt.Sprintf("threshold only: with this few repeats the U test cannot reach alpha %g over %d checks, so those "+
			"verdicts rest on the allowed regression alone and noise can fail them. Run both sides with --repeat %d or more for a significance test.",
			g.Alpha, len(g.Checks), g.RepeatsNeeded()))
	}
	for _, c := range g.Checks {
		if math.IsInf(c.Baseline.Lo, 0) || math.IsInf(c.Current.Lo, 0) {
			notes = append(notes, "± ∞: fewer than 6 repeats give no 95% confidence interval for a median.")
			break
		}
	}
	for _, e := range g.Excluded {
		notes = append(notes, "left out: "+e)
	}
	if len(g.Untrustworthy) > 0 {
		notes = append(notes, "not trustworthy (the load generator fell behind its schedule, so the load offered was not the scenario's): "+strings.Join(g.Untrustworthy, ", "))
	}
	if len(g.Busy) > 0 {
		notes = append(notes, fmt.Sprintf("measured on a busy machine (other processes and the hypervisor's steal together at %.2f cores or more, so the figures carry that work): %s", bench.DisturbedCores, strings.Join(g.Busy, ", ")))
	}
	if len(g.OnlyBaseline) > 0 {
		notes = append(notes, "only in the baseline (not judged): "+strings.Join(g.OnlyBaseline, ", "))
	}
	if len(g.OnlyCurrent) > 0 {
		notes = append(notes, "only in the current run (not judged): "+strings.Join(g.OnlyCurrent, ", "))
	}
	return notes
}

// WriteGateMarkdown writes the gate's verdict and its failed checks (or all
// checks when few) as Markdown, for a CI job summary.
func WriteGateMarkdown(w io.Writer, g *bench.GateResult, l GateLabels) error {
	bw := bufio.NewWriter(w)
	if g.Pass {
		fmt.Fprintf(bw, "### Regression gate: ✅ pass (%d checks)\n\n", len(g.Checks))
	} else {
		fmt.Fprintf(bw, "### Regression gate: ❌ %d of %d checks regressed\n\n", len(g.Failed()), len(g.Checks))
	}
	fmt.Fprintf(bw, "Baseline `%s`, current `%s`; Mann–Whitney U, Holm-adjusted, alpha %g.\n\n", mdEscape(l.Baseline), mdEscape(l.Current), g.Alpha)
	fmt.Fprintln(bw, "| backend / variant | metric | baseline | current | delta | p | n | allowed | verdict |")
	fmt.Fprintln(bw, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, c := range g.Checks {
		if !g.Pass && c.Pass && len(g.Checks) > 24 {
			continue // a long gate lists only what failed
		}
		fmt.Fprintf(bw, "| %s / %s | %s | %s | %s | %s | %s | %d+%d | %s | %s |\n",
			mdEscape(c.Backend), mdEscape(c.Variant), c.Metric.Name,
			gateValue(c.Metric, c.Baseline.Median), gateValue(c.Metric, c.Current.Median),
			gateDelta(c), pText(c), c.Baseline.N(), c.Current.N(), allowedText(c), c.Verdict)
	}
	for _, n := range gateNotes(g) {
		fmt.Fprintf(bw, "\n%s\n", mdEscape(n))
	}
	return bw.Flush()
}

package reports

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench"
)

// predictionRow is one prediction formatted for summary.md and index.html.
type predictionRow struct {
	Variant, Backend             string
	P50, P99, P999, Availability predictionCell
	// Knee is the capacity knee's cell, CPU the cores' cell; each
	// Missing unless the runs have one.
	Knee, CPU predictionCell
	// Verdict is "pass", "within noise" or "FAIL"; Pass is false for FAIL.
	Verdict     string
	Pass, Noise bool
	// Spread is true when either backend had two or more repeats.
	Spread bool
	// Untrusted counts the real backend's untrustworthy repeats, Busy
	// those measured on a busy machine.
	Untrusted, Busy int
}

// predictionCell is one metric of a prediction: the error, and the values
// and spreads it came from.
type predictionCell struct {
	Missing bool
	// Error is "−11.5%" for a latency, "−0.030 pp" for availability.
	Error string
	// Within is true inside the tolerance; Noise outside it but inside
	// the real backend's spread; NotJudged when the verdict does not
	// rest on the metric (the scenario's prediction.judge).
	Within, Noise, NotJudged bool
	// Sim and Real are the values compared, SimSpread and RealSpread
	// their ranges over the repeats ("" with one repeat).
	Sim, Real, SimSpread, RealSpread string
}

// Class is the cell's CSS class in index.html.
func (c predictionCell) Class() string {
	switch {
	case c.Missing, c.NotJudged:
		return ""
	case c.Within:
		return "ok"
	case c.Noise:
		return "near"
	}
	return "bad"
}

// Mark is the cell's mark in summary.md: none within the tolerance, "≈"
// within the real backend's noise, "✗" outside both, "(not judged)" for a
// metric the verdict does not rest on.
func (c predictionCell) Mark() string {
	switch {
	case c.NotJudged:
		return " (not judged)"
	case c.Missing || c.Within:
		return ""
	case c.Noise:
		return " ≈"
	}
	return " ✗"
}

// Values is "sim 12.10 (12.02–12.31) · real 13.20–14.10": the figures
// compared, with each backend's spread where it has one.
func (c predictionCell) Values() string {
	if c.Missing {
		return noValue
	}
	sim := c.Sim
	if c.SimSpread != "" {
		sim += " (" + c.SimSpread + ")"
	}
	real := c.Real
	if c.RealSpread != "" {
		real += " (" + c.RealSpread + ")"
	}
	return sim + " · " + real
}

func predictionRows(preds []bench.Prediction) []predictionRow {
	var rows []predictionRow
	for _, p := range preds {
		r := predictionRow{
			Variant: p.Variant, Backend: p.Backend,
			P50:          predictionCellOf(p, bench.PredictP50),
			P99:          predictionCellOf(p, bench.PredictP99),
			P999:         predictionCellOf(p, bench.PredictP999),
			Availability: predictionCellOf(p, bench.PredictAvailability),
			Knee:         predictionCellOf(p, bench.PredictKnee),
			CPU:          predictionCellOf(p, bench.PredictCPU),
			Pass:         p.Pass, Noise: p.Verdict == bench.PredictionNoise,
			Untrusted: p.RealUntrustworthy, Busy: p.RealBusy,
		}
		switch p.Verdict {
		case bench.PredictionPass:
			r.Verdict = "pass"
		case bench.PredictionNoise:
			r.Verdict = "within noise"
		default:
			r.Verdict = "FAIL"
		}
		for _, m := range p.Metrics {
			r.Spread = r.Spread || m.RealSpread != nil || m.SimSpread != nil
		}
		rows = append(rows, r)
	}
	return rows
}

func predictionCellOf(p bench.Prediction, name string) predictionCell {
	m := predictionMetric(p, name)
	if m == nil {
		return predictionCell{Missing: true}
	}
	c := predictionCell{Within: m.WithinTolerance, Noise: !m.WithinTolerance && m.WithinSpread, NotJudged: m.NotJudged}
	value := fmtMS
	switch m.Unit {
	case "ratio":
		value = fmtPct
	case "rps":
		value = fmtRate
	case "cores":
		value = fmtCores
	}
	c.Sim, c.Real = value(m.Sim), value(m.Real)
	spread := func(s *bench.Spread) string {
		if s == nil {
			return ""
		}
		return value(s.Min) + "–" + value(s.Max)
	}
	c.SimSpread, c.RealSpread = spread(m.SimSpread), spread(m.RealSpread)
	c.Error = fmtPredictionError(m.Error, m.ErrorUnit)
	return c
}

// fmtPredictionError prints an error in its unit: "+4.1%", "−0.030 pp".
func fmtPredictionError(e float64, unit string) string {
	if unit == bench.ErrorPoints {
		if math.IsNaN(e) {
			return noValue
		}
		return strings.Replace(fmt.Sprintf("%+.3f pp", e), "-", "−", 1)
	}
	return formatErr(e)
}

// predictionTolerance describes the tolerance the predictions were judged
// against: "p50 ±10%, p99 ±15%, p99.9 ±25%, availability ±0.5 pp".
func predictionTolerance(preds []bench.Prediction) string {
	if len(preds) == 0 {
		return ""
	}
	var parts []string
	judged := 0
	for _, m := range preds[0].Metrics {
		if !m.NotJudged {
			judged++
		}
	}
	for _, m := range preds[0].Metrics {
		if m.NotJudged && judged > 0 {
			continue
		}
		short := strconv.FormatFloat(m.Tolerance*100, 'f', -1, 64) + "%"
		if m.ErrorUnit == bench.ErrorPoints {
			short = strconv.FormatFloat(m.Tolerance, 'f', -1, 64) + " pp"
		}
		parts = append(parts, predictionMetricNames[m.Metric]+" ±"+short)
	}
	out := strings.Join(parts, ", ")
	if judged < len(preds[0].Metrics) {
		out += " (the scenario's verdict rests on these alone; the other metrics are shown, not judged)"
	}
	return out
}

// predictionMetricNames are the metrics' names in the reports.
var predictionMetricNames = map[string]string{
	bench.PredictP50: "p50", bench.PredictP99: "p99", bench.PredictP999: "p99.9",
	bench.PredictAvailability: "availability", bench.PredictKnee: "knee",
	bench.PredictCPU: "cpu",
}

// predictionCounts counts verdicts: pass, within noise, fail.
func predictionCounts(rows []predictionRow) (pass, noise, fail int) {
	for _, r := range rows {
		switch {
		case !r.Pass:
			fail++
		case r.Noise:
			noise++
		default:
			pass++
		}
	}
	return
}

// predictionHeadline counts the verdicts: "❌ 1 of 4 fail, ≈ 1 within
// the real backend's noise, ✅ 2 pass".
func predictionHeadline(rows []predictionRow) string {
	pass, noise, fail := predictionCounts(rows)
	var parts []string
	if fail > 0 {
		parts = append(parts, fmt.Sprintf("❌ %d of %d fail", fail, len(rows)))
	}
	if noise > 0 {
		parts = append(parts, fmt.Sprintf("≈ %d within the real backend's noise", noise))
	}
	if pass > 0 {
		parts = append(parts, fmt.Sprintf("✅ %d pass", pass))
	}
	return strings.Join(parts, ", ")
}

// writeMarkdownPredictions writes summary.md's prediction section: the
// errors with the verdict per variant and real backend, and, with
// repeats, each backend's spread beside the prediction.
func writeMarkdownPredictions(w io.Writer, preds []bench.Prediction) {
	rows := predictionRows(preds)
	if len(rows) == 0 {
		return
	}
	head := predictionHeadline(rows)
	extra := predictionExtras(rows)
	var extraHead, extraRule, extraValueHead string
	for _, x := range extra {
		extraHead += " " + x.name + " error |"
		extraValueHead += " " + x.name + " " + x.unit + " |"
		extraRule += " ---: |"
	}
	fmt.Fprintf(w, "\n### Prediction: sim beside the real backends — %s\n\n", head)
	fmt.Fprintf(w, "| variant | real backend | p50 error | p99 error | p99.9 error | availability error |%s verdict |\n", extraHead)
	fmt.Fprintf(w, "| --- | --- | ---: | ---: | ---: | ---: |%s :---: |\n", extraRule)
	spread, untrusted, busy := false, false, false
	for _, r := range rows {
		mark := "✅"
		switch {
		case !r.Pass:
			mark = "❌"
		case r.Noise:
			mark = "≈"
		}
		cell := func(c predictionCell) string {
			if c.Missing {
				return noValue
			}
			return c.Error + c.Mark()
		}
		backend := mdEscape(r.Backend)
		if r.Untrusted > 0 || r.Busy > 0 {
			backend += " ⚠️"
		}
		untrusted = untrusted || r.Untrusted > 0
		busy = busy || r.Busy > 0
		extraCells := ""
		for _, x := range extra {
			extraCells += " " + cell(x.of(r)) + " |"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |%s %s %s |\n", mdEscape(r.Variant), backend,
			cell(r.P50), cell(r.P99), cell(r.P999), cell(r.Availability), extraCells, mark, r.Verdict)
		spread = spread || r.Spread
	}
	notes := ""
	for _, x := range extra {
		notes += "; " + x.note
	}
	fmt.Fprintf(w, "\nError = (sim − real) / real of the percentiles over all repeats; availability in percentage points%s. Tolerance: %s. ✗ outside the tolerance, ≈ outside it but inside the real backend's run-to-run spread.\n", notes, predictionTolerance(preds))
	if untrusted {
		fmt.Fprintln(w, "\n⚠️ Some of the real backend's repeats are not trustworthy (see Schedule lag): the measurement, not only the prediction, may be off.")
	}
	if busy {
		fmt.Fprintln(w, "\n⚠️ Some of the real backend's repeats were measured while the rest of the machine was busy (see the note at the top): the measurement, not only the prediction, may be off.")
	}
	if !spread {
		return
	}
	fmt.Fprint(w, "\n**Run-to-run spread beside the prediction** (sim, with its min–max over repeats · real, with its min–max)\n\n")
	fmt.Fprintf(w, "| variant | real backend | p50 ms | p99 ms | p99.9 ms | availability |%s\n", extraValueHead)
	fmt.Fprintf(w, "| --- | --- | ---: | ---: | ---: | ---: |%s\n", extraRule)
	for _, r := range rows {
		extraCells := ""
		for _, x := range extra {
			extraCells += " " + x.of(r).Values() + " |"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |%s\n", mdEscape(r.Variant), mdEscape(r.Backend),
			r.P50.Values(), r.P99.Values(), r.P999.Values(), r.Availability.Values(), extraCells)
	}
}

// predictionExtra is a column of the prediction tables that only some
// runs have: the knee, the CPU.
type predictionExtra struct {
	name, unit, note string
	of               func(predictionRow) predictionCell
}

// predictionExtras are the optional columns some prediction has, in order.
func predictionExtras(rows []predictionRow) []predictionExtra {
	all := []predictionExtra{
		{"knee", "/s", "knee: the median over repeats of the offered rate at which the latency SLO is first exceeded (Knee, below)",
			func(r predictionRow) predictionCell { return r.Knee }},
		{"cpu", "cores", "cpu: the mean cores busy after the warm-up, the host model's against the real backend's (the local backend's process, the containers backend's whole machine)",
			func(r predictionRow) predictionCell { return r.CPU }},
	}
	var out []predictionExtra
	for _, x := range all {
		if slices.ContainsFunc(rows, func(r predictionRow) bool { return !x.of(r).Missing }) {
			out = append(out, x)
		}
	}
	return out
}

// predictionKnee reports whether any prediction has a knee.
func predictionKnee(rows []predictionRow) bool {
	return slices.ContainsFunc(rows, func(r predictionRow) bool { return !r.Knee.Missing })
}

// predictionCPU reports whether any prediction has a CPU figure.
func predictionCPU(rows []predictionRow) bool {
	return slices.ContainsFunc(rows, func(r predictionRow) bool { return !r.CPU.Missing })
}

// PredictionFailures describes each prediction whose verdict failed, one
// line each: "round_robin on local: p50 −11.5% (tolerance ±10%), p99 …".
func PredictionFailures(preds []bench.Prediction) []string {
	var out []string
	for _, p := range preds {
		if p.Pass {
			continue
		}
		var parts []string
		for _, m := range p.Metrics {
			if m.NotJudged || m.WithinTolerance || m.WithinSpread {
				continue
			}
			tol := "±" + strings.TrimPrefix(fmtPredictionError(m.Tolerance, m.ErrorUnit), "+")
			parts = append(parts, fmt.Sprintf("%s %s (tolerance %s)", predictionMetricNames[m.Metric], fmtPredictionError(m.Error, m.ErrorUnit), tol))
		}
		for _, name := range p.Unmeasured {
			parts = append(parts, predictionMetricNames[name]+" not measured on both")
		}
		out = append(out, fmt.Sprintf("%s on %s: %s", p.Variant, p.Backend, strings.Join(parts, ", ")))
	}
	return out
}

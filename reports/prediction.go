package reports

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench"
)

// predictionRow is one prediction formatted for summary.md and index.html.
type predictionRow struct {
	Variant, Backend             string
	P50, P99, P999, Availability predictionCell
	// Verdict is "pass", "within noise" or "FAIL"; Pass is false for FAIL.
	Verdict     string
	Pass, Noise bool
	// Spread is true when either backend had two or more repeats.
	Spread bool
	// Untrusted counts the real backend's untrustworthy repeats.
	Untrusted int
}

// predictionCell is one metric of a prediction: the error, and the values
// and spreads it came from.
type predictionCell struct {
	Missing bool
	// Error is "−11.5%" for a latency, "−0.030 pp" for availability.
	Error string
	// Within is true inside the tolerance; Noise outside it but inside
	// the real backend's spread.
	Within, Noise bool
	// Sim and Real are the values compared, SimSpread and RealSpread
	// their ranges over the repeats ("" with one repeat).
	Sim, Real, SimSpread, RealSpread string
}

// Class is the cell's CSS class in index.html.
func (c predictionCell) Class() string {
	switch {
	case c.Missing:
		return ""
	case c.Within:
		return "ok"
	case c.Noise:
		return "near"
	}
	return "bad"
}

// Mark is the cell's mark in summary.md: none within the tolerance, "≈"
// within the real backend's noise, "✗" outside both.
func (c predictionCell) Mark() string {
	switch {
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
			Pass:         p.Pass, Noise: p.Verdict == bench.PredictionNoise,
			Untrusted: p.RealUntrustworthy,
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
	c := predictionCell{Within: m.WithinTolerance, Noise: !m.WithinTolerance && m.WithinSpread}
	value := fmtMS
	if m.Unit == "ratio" {
		value = fmtPct
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
	names := map[string]string{bench.PredictP50: "p50", bench.PredictP99: "p99", bench.PredictP999: "p99.9", bench.PredictAvailability: "availability"}
	var parts []string
	for _, m := range preds[0].Metrics {
		short := strconv.FormatFloat(m.Tolerance*100, 'f', -1, 64) + "%"
		if m.ErrorUnit == bench.ErrorPoints {
			short = strconv.FormatFloat(m.Tolerance, 'f', -1, 64) + " pp"
		}
		parts = append(parts, names[m.Metric]+" ±"+short)
	}
	return strings.Join(parts, ", ")
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
	fmt.Fprintf(w, "\n### Prediction: sim beside the real backends — %s\n\n", head)
	fmt.Fprintln(w, "| variant | real backend | p50 error | p99 error | p99.9 error | availability error | verdict |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | :---: |")
	spread, untrusted := false, false
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
		if r.Untrusted > 0 {
			backend += " ⚠️"
			untrusted = true
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s %s |\n", mdEscape(r.Variant), backend,
			cell(r.P50), cell(r.P99), cell(r.P999), cell(r.Availability), mark, r.Verdict)
		spread = spread || r.Spread
	}
	fmt.Fprintf(w, "\nError = (sim − real) / real of the percentiles over all repeats; availability in percentage points. Tolerance: %s. ✗ outside the tolerance, ≈ outside it but inside the real backend's run-to-run spread.\n", predictionTolerance(preds))
	if untrusted {
		fmt.Fprintln(w, "\n⚠️ Some of the real backend's repeats are not trustworthy (see Schedule lag): the measurement, not only the prediction, may be off.")
	}
	if !spread {
		return
	}
	fmt.Fprint(w, "\n**Run-to-run spread beside the prediction** (sim, with its min–max over repeats · real, with its min–max)\n\n")
	fmt.Fprintln(w, "| variant | real backend | p50 ms | p99 ms | p99.9 ms | availability |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(r.Variant), mdEscape(r.Backend),
			r.P50.Values(), r.P99.Values(), r.P999.Values(), r.Availability.Values())
	}
}

// PredictionFailures describes each prediction whose verdict failed, one
// line each: "round_robin on local: p50 −11.5% (tolerance ±10%), p99 …".
func PredictionFailures(preds []bench.Prediction) []string {
	names := map[string]string{bench.PredictP50: "p50", bench.PredictP99: "p99", bench.PredictP999: "p99.9", bench.PredictAvailability: "availability"}
	var out []string
	for _, p := range preds {
		if p.Pass {
			continue
		}
		var parts []string
		for _, m := range p.Metrics {
			if m.WithinTolerance || m.WithinSpread {
				continue
			}
			tol := "±" + strings.TrimPrefix(fmtPredictionError(m.Tolerance, m.ErrorUnit), "+")
			parts = append(parts, fmt.Sprintf("%s %s (tolerance %s)", names[m.Metric], fmtPredictionError(m.Error, m.ErrorUnit), tol))
		}
		out = append(out, fmt.Sprintf("%s on %s: %s", p.Variant, p.Backend, strings.Join(parts, ", ")))
	}
	return out
}

package sweep

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SummaryMarkdown is summary.md: what was swept, the seeds, the best
// points by p99 and by availability, and every feasible point.
func SummaryMarkdown(res *Result, question string, points []PointSummary) string {
	def := res.Definition
	var b strings.Builder
	fmt.Fprintf(&b, "# Sweep of %s\n\n", def.Scenario)
	if question != "" {
		fmt.Fprintf(&b, "%s\n\n", question)
	}
	if res.Points != nil {
		fmt.Fprintf(&b, "Base variant `%s`, tuned over %d point(s): %d row(s)", def.Variant, len(res.Points), len(res.Rows))
	} else {
		fmt.Fprintf(&b, "Base variant `%s`, %s of %d point(s) × %d repeat(s): %d row(s)", def.Variant, def.Mode, def.Points(), def.Repeat, len(res.Rows))
	}
	if res.Partial {
		b.WriteString(" — **partial**: interrupted before every run ended; `meshbench sweep --resume DIR` completes it")
	}
	b.WriteString(".\n\n")
	for _, p := range def.Params {
		if res.Points != nil {
			fmt.Fprintf(&b, "- `%s`: %s to %s\n", p.Path, p.Values[0], p.Values[len(p.Values)-1])
			continue
		}
		fmt.Fprintf(&b, "- `%s`: %s\n", p.Path, strings.Join(p.Values, ", "))
	}
	fmt.Fprintf(&b, "\n%s\n\n", CRNNote)
	feasible := 0
	for _, p := range points {
		if p.Repeats > 0 && p.Feasible == 1 {
			feasible++
		}
	}
	fmt.Fprintf(&b, "%d of %d point(s) met every SLO in every repeat.\n\n", feasible, len(points))
	cols := columnsFor(points)
	best := []string{MetricP99, MetricAvailability}
	if len(cols) > len(columns) {
		best = append(best, MetricKnee)
	}
	for _, metric := range best {
		fmt.Fprintf(&b, "## Best by %s\n\n", metric)
		writeTable(&b, def, cols, Best(points, metric), 5, false)
	}
	b.WriteString("## Feasible points\n\n")
	writeTable(&b, def, cols, points, len(points), true)
	return b.String()
}

// columns are the metrics summary tables show.
var columns = []string{MetricP50, MetricP99, MetricP999, MetricAvailability, MetricExtraLoad, MetricRejected}

// columnsFor are the columns of points' tables: columns, and the knee when
// a point has one (a load that rises in steps).
func columnsFor(points []PointSummary) []string {
	for _, p := range points {
		if _, ok := p.Metrics[MetricKnee]; ok {
			return append(slices.Clone(columns), MetricKnee)
		}
	}
	return columns
}

func writeTable(b *strings.Builder, def *Definition, columns []string, points []PointSummary, limit int, onlyFeasible bool) {
	b.WriteString("| point |")
	for _, p := range def.Params {
		fmt.Fprintf(b, " %s |", p.Path)
	}
	for _, c := range columns {
		fmt.Fprintf(b, " %s |", c)
	}
	b.WriteString(" SLOs met |\n|---|")
	b.WriteString(strings.Repeat("---|", len(def.Params)+len(columns)+1))
	b.WriteString("\n")
	n := 0
	for _, p := range points {
		if n == limit {
			break
		}
		if onlyFeasible && (p.Repeats == 0 || p.Feasible < 1) {
			continue
		}
		n++
		fmt.Fprintf(b, "| %d |", p.Point)
		for _, q := range def.Params {
			fmt.Fprintf(b, " %s |", p.Params[q.Path])
		}
		for _, c := range columns {
			iv, ok := p.Metrics[c]
			if !ok {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(b, " %s |", FormatInterval(iv))
		}
		if p.Repeats == 0 {
			fmt.Fprintf(b, " error: %s |\n", p.Error)
			continue
		}
		fmt.Fprintf(b, " %d/%d |\n", int(p.Feasible*float64(p.Repeats)+0.5), p.Repeats)
	}
	if n == 0 {
		b.WriteString("| (none) |" + strings.Repeat(" |", len(def.Params)+len(columns)+1) + "\n")
	}
	b.WriteString("\n")
}

// FormatInterval writes a mean with its 95% interval: "12.3 [11.9, 12.8]".
func FormatInterval(iv Interval) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	if iv.N < 2 {
		return f(iv.Mean)
	}
	return fmt.Sprintf("%s [%s, %s]", f(iv.Mean), f(iv.Lo), f(iv.Hi))
}

// BestMarkdown is the table of the n best points by metric (summary.md's
// "Best by" table), for a terminal.
func BestMarkdown(res *Result, metric string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Best by %s (mean [95%% interval] over repeats):\n\n", metric)
	points := Summarize(res.Rows)
	writeTable(&b, res.Definition, columnsFor(points), Best(points, metric), n, false)
	return b.String()
}

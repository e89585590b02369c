package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench"
)

// maxListed bounds the failed SLOs summary.md lists one by one; GitHub caps a
// job summary at 1 MiB and a reader at far less.
const maxListed = 20

// WriteMarkdown writes summary.md: a heading with the overall SLO verdict,
// the scenario's question, and one table row per backend × variant with
// requests, availability, p50/p99/p99.9, throughput and SLO verdicts, then
// the SLOs that failed. It is short enough for a CI job summary
// ($GITHUB_STEP_SUMMARY).
func WriteMarkdown(w io.Writer, s *bench.Summary) error {
	bw := bufio.NewWriter(w)
	groups := Groups(s)
	passed, total := 0, 0
	for _, r := range s.Runs {
		for _, v := range r.SLO {
			total++
			if v.Pass {
				passed++
			}
		}
	}
	verdict := "no SLOs"
	switch {
	case total > 0 && passed == total:
		verdict = fmt.Sprintf("✅ all %d SLO verdicts met", total)
	case total > 0:
		verdict = fmt.Sprintf("❌ %d of %d SLO verdicts not met", total-passed, total)
	}
	fmt.Fprintf(bw, "## meshbench · %s — %s\n\n", mdEscape(s.Scenario), verdict)
	if s.Question != "" {
		fmt.Fprintf(bw, "> %s\n\n", mdEscape(s.Question))
	}
	if s.Partial {
		fmt.Fprint(bw, "⚠️ **The run was interrupted: these results are partial.**\n\n")
	}
	if n := untrustworthyRuns(s); n > 0 {
		fmt.Fprintf(bw, "⚠️ **%d of %d runs are not trustworthy: their load generator fell behind its schedule (see Schedule lag).**\n\n", n, len(s.Runs))
	}
	if note := busyRunsNote(s); note != "" {
		fmt.Fprintf(bw, "⚠️ **%s**\n\n", mdEscape(note))
	}
	repeated := false
	for _, g := range groups {
		repeated = repeated || len(g.Runs) > 1
	}
	// Retries and hedges are the cost of the policies that make them:
	// shown when any run made some.
	var retried, hedged bool
	for _, g := range groups {
		t := g.Totals()
		retried, hedged = retried || t.Retries > 0, hedged || t.Hedges > 0
	}
	head, align := "| backend | variant | runs | requests | availability | p50 ms | p99 ms | p99.9 ms | throughput req/s |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	if retried {
		head, align = head+" retries |", align+" ---: |"
	}
	if hedged {
		head, align = head+" hedges |", align+" ---: |"
	}
	fmt.Fprintln(bw, head+" SLOs met |")
	fmt.Fprintln(bw, align+" :---: |")
	for _, g := range groups {
		t := g.Totals()
		fmt.Fprintf(bw, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |",
			mdEscape(g.Key.Backend), mdEscape(g.Key.Variant), t.Repeats, fmtCount(t.Requests), fmtPct(t.Availability()),
			fmtMS(t.P50.Median), fmtMS(t.P99.Median), fmtMS(t.P999.Median), fmtRPS(t.Throughput.Median))
		if retried {
			fmt.Fprintf(bw, " %s |", fmtCount(t.Retries))
		}
		if hedged {
			fmt.Fprintf(bw, " %s |", fmtCount(t.Hedges))
		}
		fmt.Fprintf(bw, " %s |\n", t.SLOText())
	}
	if repeated {
		fmt.Fprintln(bw, "\nLatencies and throughput are medians over the repeats; requests, retries, hedges and availability are totals.")
	}
	if preds, err := bench.PredictionsOf(s); err != nil {
		fmt.Fprintf(bw, "\n⚠️ Prediction not shown: %s\n", mdEscape(err.Error()))
	} else {
		writeMarkdownPredictions(bw, preds)
	}
	writeMarkdownKnees(bw, s)
	writeMarkdownBreakdowns(bw, s, groups)

	var failed []string
	var problems []string
	for _, r := range s.Runs {
		who := fmt.Sprintf("%s / %s, repeat %d", r.Backend, r.Variant, r.Repeat)
		for _, v := range r.SLO {
			if !v.Pass {
				failed = append(failed, who+": "+sloOutcome(v))
			}
		}
		if r.Error != "" {
			problems = append(problems, who+": run failed: "+r.Error)
		}
		if r.Untrustworthy != "" {
			problems = append(problems, who+": not trustworthy: "+r.Untrustworthy)
		}
		if r.Audit != nil && !r.Audit.Clean() {
			problems = append(problems, fmt.Sprintf("%s: ledger audit found %d lost and %d duplicated payments", who, r.Audit.Lost, r.Audit.Duplicates))
		}
	}
	writeList(bw, "Failed SLOs", failed)
	writeList(bw, "Problems", problems)
	return bw.Flush()
}

func writeList(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n**%s**\n\n", title)
	for i, it := range items {
		if i == maxListed {
			fmt.Fprintf(w, "- … and %d more (see slo.xml)\n", len(items)-maxListed)
			break
		}
		fmt.Fprintf(w, "- %s\n", mdEscape(it))
	}
}

// mdEscape keeps text from breaking a Markdown table or list.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// busyRunsNote names the real runs measured while the rest of their
// machine was busy (bench.CPU.Disturbed), or is "" when there are none.
func busyRunsNote(s *bench.Summary) string {
	var busy []string
	for _, r := range s.Runs {
		if r.CPU.Disturbed() != "" {
			busy = append(busy, fmt.Sprintf("%s/%s repeat %d (%.2f cores other, %.2f steal)", r.Backend, r.Variant, r.Repeat, *r.CPU.OtherCores, *r.CPU.StealCores))
		}
	}
	if len(busy) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d runs were measured while the rest of the machine was busy, other processes and the hypervisor's steal together at %.2f cores or more: %s. Their figures carry that work, and so does every prediction's error against them.",
		len(busy), len(s.Runs), bench.DisturbedCores, strings.Join(busy, ", "))
}

// untrustworthyRuns counts the runs marked untrustworthy.
func untrustworthyRuns(s *bench.Summary) int {
	n := 0
	for _, r := range s.Runs {
		if r.Untrustworthy != "" {
			n++
		}
	}
	return n
}

// writeMarkdownKnees writes summary.md's knee section: for each run whose
// load rose in steps, the offered rate at which its latency SLO was
// first exceeded, and the per-step figures it was read from.
func writeMarkdownKnees(w io.Writer, s *bench.Summary) {
	rows := kneeRows(s)
	if len(rows) == 0 {
		return
	}
	k := rows[0].knee
	fmt.Fprintf(w, "\n### Knee: the offered rate where %s first exceeds %s ms\n\n", predictionMetricNames[k.Metric], strconv.FormatFloat(k.MaxMS, 'f', -1, 64))
	head, rule := "| backend | variant | repeat | knee |", "| --- | --- | ---: | ---: |"
	for _, st := range rows[0].steps {
		head += " " + st + " |"
		rule += " ---: |"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %s |", mdEscape(r.backend), mdEscape(r.variant), r.repeat, r.rate)
		for _, v := range r.values {
			fmt.Fprintf(w, " %s |", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nEach step: the median of its per-second %s, its first second skipped (ms; ✗ over the bound). The knee is interpolated between the last step within the bound and the first over it.\n", predictionMetricNames[k.Metric])
}

// kneeRow is one run's knee formatted for the reports.
type kneeRow struct {
	backend, variant string
	repeat           int
	knee             *bench.Knee
	// rate is "1385/s", "> 2000/s" (never exceeded) or "< 400/s".
	rate string
	// steps are the column heads ("400/s"), values each step's figure.
	steps, values []string
}

// kneeRows formats the knees of s's runs; the column heads are the first
// run's steps, and a run whose steps differ lists them in its cells.
func kneeRows(s *bench.Summary) []kneeRow {
	var rows []kneeRow
	for _, r := range s.Runs {
		k := r.Knee
		if k == nil {
			continue
		}
		row := kneeRow{backend: r.Backend, variant: r.Variant, repeat: r.Repeat, knee: k, rate: fmtKneeRate(k)}
		for _, st := range k.Steps {
			rate := fmtRate(st.RateRPS)
			v := "no answers"
			if st.ValueMS != nil {
				v = fmtMS(*st.ValueMS)
			}
			if st.Over {
				v += " ✗"
			}
			row.steps = append(row.steps, rate)
			row.values = append(row.values, v)
		}
		rows = append(rows, row)
	}
	for i := 1; i < len(rows); i++ {
		if strings.Join(rows[i].steps, " ") != strings.Join(rows[0].steps, " ") {
			for j := range rows[i].values {
				rows[i].values[j] = rows[i].steps[j] + ": " + rows[i].values[j]
			}
		}
	}
	return rows
}

// fmtKneeRate prints a knee's rate with its bound.
func fmtKneeRate(k *bench.Knee) string {
	switch k.Bound {
	case bench.KneeAbove:
		return "> " + fmtRate(k.RateRPS)
	case bench.KneeBelow:
		return "< " + fmtRate(k.RateRPS)
	}
	return fmtRate(k.RateRPS)
}

// fmtRate prints an offered rate to a tenth, without a trailing .0: "1385/s".
func fmtRate(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "/s"
}

package reports

import (
	"bufio"
	"fmt"
	"io"
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

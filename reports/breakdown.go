package reports

import (
	"fmt"
	"io"
	"strconv"

	"github.com/meshbench/meshbench/bench"
)

// partRow is one route's, workload's or instance's line of a breakdown
// table, formatted.
type partRow struct {
	Backend, Variant, Name                       string
	Requests, Availability, P50, P99, P999, Rate string
	Errors                                       string
	// Lag is a workload's p99 schedule lag, or why it has none.
	Lag string
}

// partRows lists the breakdown of every group by kind (ByRoute,
// ByWorkload, ByInstance); none for summaries without breakdowns, and
// none when no group has more than one part, whose figures are the totals.
func partRows(groups []Group, kind string) []partRow {
	split := false
	for _, g := range groups {
		split = split || len(g.Parts(kind)) > 1
	}
	if !split {
		return nil
	}
	var rows []partRow
	for _, g := range groups {
		for _, name := range g.Parts(kind) {
			t := g.PartTotals(kind, name)
			rows = append(rows, partRow{
				Backend: g.Key.Backend, Variant: g.Key.Variant, Name: name,
				Requests: fmtCount(t.Requests), Availability: fmtPct(t.Availability()),
				P50: fmtMS(t.P50.Median), P99: fmtMS(t.P99.Median), P999: fmtMS(t.P999.Median),
				Rate: fmtRPS(t.Throughput.Median), Errors: errorsText(t.Errors),
				Lag: "closed loop: no schedule",
			})
			if t.LagP99.N > 0 {
				rows[len(rows)-1].Lag = fmtMS(t.LagP99.Median)
			}
		}
	}
	return rows
}

// lagRow is one run's schedule lag, formatted.
type lagRow struct {
	Backend, Variant     string
	Repeat               int
	Requests             string
	P50, P99, Max, Bound string
	// Note says "ok", "NOT TRUSTWORTHY", or why there is no lag.
	Note    string
	Trusted bool
}

// noSchedule is what a run without open-loop requests shows for its lag.
const noSchedule = "no open-loop requests: closed-loop (users) workloads have no schedule, so no lag"

// lagRows lists every run's schedule lag, when any run of the summary
// reports one; a summary written before schedule lags existed has none.
func lagRows(s *bench.Summary) []lagRow {
	any := false
	for _, r := range s.Runs {
		any = any || r.ScheduleLag != nil
	}
	if !any {
		return nil
	}
	var rows []lagRow
	for _, r := range s.Runs {
		row := lagRow{Backend: r.Backend, Variant: r.Variant, Repeat: r.Repeat, Trusted: r.Untrustworthy == ""}
		lag := r.ScheduleLag
		if lag == nil {
			row.Requests, row.P50, row.P99, row.Max, row.Bound = "0", noValue, noValue, noValue, noValue
			row.Note = noSchedule
			rows = append(rows, row)
			continue
		}
		row.Requests = fmtCount(lag.Requests)
		row.P50, row.P99, row.Max = fmtMS(lag.P50MS), fmtMS(lag.P99MS), fmtMS(lag.MaxMS)
		row.Bound = noValue
		if lag.BoundP99MS > 0 {
			row.Bound = "p99 ≤ " + strconv.FormatFloat(lag.BoundP99MS, 'f', -1, 64)
		}
		row.Note = "ok"
		if !row.Trusted {
			row.Note = "NOT TRUSTWORTHY"
		}
		rows = append(rows, row)
	}
	return rows
}

// breakdownView is one breakdown table of index.html.
type breakdownView struct {
	Title, Column string
	Rows          []partRow
	// Lag shows the rows' schedule lag (workloads).
	Lag bool
}

// breakdownViews lists the breakdown tables that have rows.
func breakdownViews(groups []Group) []breakdownView {
	var out []breakdownView
	for _, b := range breakdownTitles {
		if rows := partRows(groups, b.kind); len(rows) > 0 {
			out = append(out, breakdownView{Title: b.title, Column: b.column, Rows: rows, Lag: b.kind == ByWorkload})
		}
	}
	return out
}

// breakdownTitles names the breakdown sections in reading order.
var breakdownTitles = []struct{ kind, title, column string }{
	{ByRoute, "By route", "route"},
	{ByWorkload, "By workload", "workload"},
	{ByInstance, "By instance of the entry service", "instance"},
}

// writeMarkdownBreakdowns writes summary.md's schedule-lag table and its
// per-route, per-workload and per-instance tables; nothing for a summary
// written before they existed.
func writeMarkdownBreakdowns(w io.Writer, s *bench.Summary, groups []Group) {
	if rows := lagRows(s); len(rows) > 0 {
		fmt.Fprint(w, "\n### Schedule lag\n\nHow late the load generator sent open-loop requests against their intended send times (ms). Latencies count from the intended times; a run past the bound did not offer the scenario's load.\n\n")
		fmt.Fprintln(w, "| backend | variant | repeat | open-loop requests | p50 | p99 | max | bound | verdict |")
		fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
		for _, r := range rows {
			note := r.Note
			if !r.Trusted {
				note = "⚠️ " + note
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
				mdEscape(r.Backend), mdEscape(r.Variant), r.Repeat, r.Requests, r.P50, r.P99, r.Max, r.Bound, mdEscape(note))
		}
	}
	for _, b := range breakdownTitles {
		rows := partRows(groups, b.kind)
		if len(rows) == 0 {
			continue
		}
		lag := b.kind == ByWorkload
		fmt.Fprintf(w, "\n### %s\n\n", b.title)
		fmt.Fprintf(w, "| backend | variant | %s | requests | availability | p50 ms | p99 ms | p99.9 ms | throughput req/s | errors |", b.column)
		if lag {
			fmt.Fprint(w, " schedule lag p99 ms |")
		}
		fmt.Fprint(w, "\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
		if lag {
			fmt.Fprint(w, " ---: |")
		}
		fmt.Fprintln(w)
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
				mdEscape(r.Backend), mdEscape(r.Variant), mdEscape(r.Name), r.Requests, r.Availability, r.P50, r.P99, r.P999, r.Rate, mdEscape(r.Errors))
			if lag {
				fmt.Fprintf(w, " %s |", mdEscape(r.Lag))
			}
			fmt.Fprintln(w)
		}
	}
}

package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/meshbench/meshbench/bench"
)

// ComparedRun is one side of a comparison: a short label and its summary.
type ComparedRun struct {
	Label   string
	Summary *bench.Summary
}

// Comparison lines several runs up by backend × variant, for `meshbench
// compare`: the first run is the reference the others are measured against.
type Comparison struct {
	Runs []ComparedRun
	// Keys is every backend × variant of any run, in order of first
	// appearance.
	Keys []bench.RunKey
	// cells[k][i] is run i's group for Keys[k]; Runs empty when absent.
	cells [][]Group
	// parts are the routes and workloads compared beside the totals
	// (AddPart).
	parts []comparedPart
}

// comparedPart is a route or workload compared beside the totals.
type comparedPart struct{ kind, name string }

// AddPart compares one route (kind ByRoute) or workload (ByWorkload) too,
// from the runs' per-route and per-workload statistics. A name that no run
// has is an error; a run without it shows it absent.
func (c *Comparison) AddPart(kind, name string) error {
	var known []string
	seen := map[string]bool{}
	for k := range c.cells {
		for _, g := range c.cells[k] {
			for _, n := range g.Parts(kind) {
				if !seen[n] {
					seen[n] = true
					known = append(known, n)
				}
			}
		}
	}
	if !seen[name] {
		if len(known) == 0 {
			return fmt.Errorf("unknown %s %q: the runs have no per-%s statistics (written by an older meshbench)", kind, name, kind)
		}
		sort.Strings(known)
		return fmt.Errorf("unknown %s %q (%ss: %s)", kind, name, kind, strings.Join(known, ", "))
	}
	c.parts = append(c.parts, comparedPart{kind, name})
	return nil
}

// totals reads the figures of run i for key k: the group's totals, or a
// part's; false when the run has none.
func (c *Comparison) totals(k, i int, part *comparedPart) (Totals, bool) {
	g := c.cells[k][i]
	if len(g.Runs) == 0 {
		return Totals{}, false
	}
	if part == nil {
		return g.Totals(), true
	}
	t := g.PartTotals(part.kind, part.name)
	return t, t.Repeats > 0
}

// rowName names a row of a part: "route checkout: p99 ms".
func rowName(row compareRow, part *comparedPart) string {
	if part == nil {
		return row.name
	}
	return part.kind + " " + part.name + ": " + row.name
}

// blockRows lists the rows of one backend × variant block: the totals',
// then each part's (without SLO verdicts, which apply to the totals).
func (c *Comparison) blockRows() []blockRow {
	var out []blockRow
	for _, r := range compareRows {
		if r.ifAny && !c.anyNonZero(r) {
			continue
		}
		out = append(out, blockRow{row: r})
	}
	for pi := range c.parts {
		for _, r := range compareRows {
			if r.name == rowSLOsMet || r.name == "schedule lag p99 ms" || r.ifAny {
				continue
			}
			out = append(out, blockRow{row: r, part: &c.parts[pi]})
		}
	}
	return out
}

// anyNonZero reports whether any run has a non-zero value of row.
func (c *Comparison) anyNonZero(row compareRow) bool {
	for k := range c.cells {
		for i := range c.Runs {
			if t, ok := c.totals(k, i, nil); ok {
				if v, _ := row.cell(t); v != 0 && !math.IsNaN(v) {
					return true
				}
			}
		}
	}
	return false
}

type blockRow struct {
	row  compareRow
	part *comparedPart
}

// NewComparison lines runs up.
func NewComparison(runs []ComparedRun) *Comparison {
	c := &Comparison{Runs: runs}
	at := map[bench.RunKey]int{}
	var perRun [][]Group
	for _, r := range runs {
		gs := Groups(r.Summary)
		perRun = append(perRun, gs)
		for _, g := range gs {
			if _, ok := at[g.Key]; !ok {
				at[g.Key] = len(c.Keys)
				c.Keys = append(c.Keys, g.Key)
			}
		}
	}
	c.cells = make([][]Group, len(c.Keys))
	for k := range c.cells {
		c.cells[k] = make([]Group, len(runs))
		for i := range runs {
			c.cells[k][i] = Group{Key: c.Keys[k]}
		}
	}
	for i, gs := range perRun {
		for _, g := range gs {
			c.cells[at[g.Key]][i] = g
		}
	}
	return c
}

// CheckCommon returns an error when a run has no backend × variant in
// common with the first: such runs (two unrelated scenarios) cannot be
// compared, and their table would be nothing but absent cells.
func (c *Comparison) CheckCommon() error {
	for i := 1; i < len(c.Runs); i++ {
		common := false
		for k := range c.cells {
			if len(c.cells[k][0].Runs) > 0 && len(c.cells[k][i].Runs) > 0 {
				common = true
				break
			}
		}
		if common {
			continue
		}
		a, b := c.Runs[0], c.Runs[i]
		advice := "compare runs of one scenario, or of scenarios whose variants share names"
		if c.shareVariants(0, i) {
			advice = "they share variants but ran on different backends; one run with both backends (run --backend sim,local) sets the simulator's prediction beside the real backend"
		}
		return fmt.Errorf("[%d] %s (scenario %s: %s) and [1] %s (scenario %s: %s) have no backend × variant in common: %s",
			i+1, b.Label, b.Summary.Scenario, c.keysOf(i), a.Label, a.Summary.Scenario, c.keysOf(0), advice)
	}
	return nil
}

// shareVariants reports whether runs i and j ran a variant of one name.
func (c *Comparison) shareVariants(i, j int) bool {
	in := map[string]bool{}
	for k, key := range c.Keys {
		if len(c.cells[k][i].Runs) > 0 {
			in[key.Variant] = true
		}
	}
	for k, key := range c.Keys {
		if len(c.cells[k][j].Runs) > 0 && in[key.Variant] {
			return true
		}
	}
	return false
}

// keysOf lists run i's backend/variant pairs.
func (c *Comparison) keysOf(i int) string {
	var keys []string
	for k, key := range c.Keys {
		if len(c.cells[k][i].Runs) > 0 {
			keys = append(keys, key.Backend+"/"+key.Variant)
		}
	}
	if len(keys) == 0 {
		return "no runs"
	}
	return strings.Join(keys, ", ")
}

// Group returns run i's group for key k (with no runs when absent).
func (c *Comparison) Group(k, i int) Group { return c.cells[k][i] }

// compareRow is one metric of the side-by-side table.
type compareRow struct {
	name string
	// cell reads the metric from a group's totals: the value the change is
	// computed from (NaN for none) and its text.
	cell func(Totals) (float64, string)
	// ratio metrics show their change in percentage points.
	ratio bool
	// ifAny rows are shown only when some run has a non-zero value
	// (retries and hedges: the cost of the policies that make them).
	ifAny bool
}

const rowSLOsMet = "SLOs met"

func numberRow(name string, v func(Totals) float64, text func(float64) string) compareRow {
	return compareRow{name: name, cell: func(t Totals) (float64, string) { x := v(t); return x, text(x) }}
}

var compareRows = []compareRow{
	numberRow("requests", func(t Totals) float64 { return float64(t.Requests) }, func(v float64) string { return fmtCount(int64(v)) }),
	{name: "availability", cell: func(t Totals) (float64, string) { a := t.Availability(); return a, fmtPct(a) }, ratio: true},
	numberRow("p50 ms", func(t Totals) float64 { return t.P50.Median }, fmtMS),
	numberRow("p90 ms", func(t Totals) float64 { return t.P90.Median }, fmtMS),
	numberRow("p99 ms", func(t Totals) float64 { return t.P99.Median }, fmtMS),
	numberRow("p99.9 ms", func(t Totals) float64 { return t.P999.Median }, fmtMS),
	numberRow("throughput req/s", func(t Totals) float64 { return t.Throughput.Median }, fmtRPS),
	{name: "schedule lag p99 ms", cell: func(t Totals) (float64, string) {
		if t.LagP99.N == 0 {
			return math.NaN(), noValue
		}
		s := fmtMS(t.LagP99.Median)
		if t.Untrusted > 0 {
			s += fmt.Sprintf(" (%d untrustworthy)", t.Untrusted)
		}
		return t.LagP99.Median, s
	}},
	{name: "retries", cell: func(t Totals) (float64, string) { return float64(t.Retries), fmtCount(t.Retries) }, ifAny: true},
	{name: "hedges", cell: func(t Totals) (float64, string) { return float64(t.Hedges), fmtCount(t.Hedges) }, ifAny: true},
	{name: rowSLOsMet, cell: func(t Totals) (float64, string) {
		if t.SLOTotal == 0 {
			return math.NaN(), noValue
		}
		return math.NaN(), fmt.Sprintf("%d of %d", t.SLOPassed, t.SLOTotal)
	}},
}

// ComparedValue is one cell of a comparison: run i's value of a metric for
// one backend × variant, and from the second run on its change against the
// first.
type ComparedValue struct {
	// Absent: the run has no such backend × variant (or route, workload).
	Absent bool `json:"absent,omitempty"`
	// Value is the number the text shows (nil: none, such as SLOs met).
	Value *float64 `json:"value,omitempty"`
	// Change against the first run, in ChangeUnit: "%" (relative) or "pp"
	// (percentage points, for ratios); nil for the first run.
	Change     *float64 `json:"change,omitempty"`
	ChangeUnit string   `json:"change_unit,omitempty"`
	// Text is the cell as the table prints it.
	Text string `json:"text"`
}

// cell computes run i's value of row for key k.
func (c *Comparison) cell(row compareRow, part *comparedPart, k, i int) ComparedValue {
	t, ok := c.totals(k, i, part)
	if !ok {
		return ComparedValue{Absent: true, Text: "absent"}
	}
	v, s := row.cell(t)
	out := ComparedValue{Text: s}
	if math.IsNaN(v) {
		return out
	}
	out.Value = &v
	if i == 0 {
		return out
	}
	ref, ok := c.totals(k, 0, part)
	if !ok {
		return out
	}
	r, _ := row.cell(ref)
	var ch float64
	switch {
	case math.IsNaN(r):
		return out
	case row.ratio:
		ch, out.ChangeUnit = (v-r)*100, "pp"
		out.Text += " (" + signed(ch, 2) + "pp)"
	case r != 0:
		ch, out.ChangeUnit = (v/r-1)*100, "%"
		out.Text += " (" + signed(ch, 1) + "%)"
	default:
		return out
	}
	out.Change = &ch
	return out
}

// cellText prints run i's value of row for key k, with its change against
// run 0 after the first column.
func (c *Comparison) cellText(row compareRow, part *comparedPart, k, i int) string {
	return c.cell(row, part, k, i).Text
}

// ComparisonResult is the comparison for programs (meshbench compare -o
// json|yaml): the runs, then one block per backend × variant with a row per
// metric and a value per run.
type ComparisonResult struct {
	Runs   []ComparedRunInfo `json:"runs"`
	Blocks []ComparedBlock   `json:"blocks"`
}

// ComparedRunInfo names one compared run.
type ComparedRunInfo struct {
	Label    string `json:"label"`
	Scenario string `json:"scenario"`
	Partial  bool   `json:"partial,omitempty"`
}

// ComparedBlock is one backend × variant of a comparison.
type ComparedBlock struct {
	Backend string        `json:"backend"`
	Variant string        `json:"variant"`
	Rows    []ComparedRow `json:"rows"`
}

// ComparedRow is one metric of a block: a value per run, in run order.
type ComparedRow struct {
	Metric string          `json:"metric"`
	Values []ComparedValue `json:"values"`
}

// Result returns the comparison as data, the same cells WriteTable prints.
func (c *Comparison) Result() ComparisonResult {
	var out ComparisonResult
	for _, r := range c.Runs {
		out.Runs = append(out.Runs, ComparedRunInfo{Label: r.Label, Scenario: r.Summary.Scenario, Partial: r.Summary.Partial})
	}
	for k, key := range c.Keys {
		b := ComparedBlock{Backend: key.Backend, Variant: key.Variant}
		for _, br := range c.blockRows() {
			row := ComparedRow{Metric: rowName(br.row, br.part)}
			for i := range c.Runs {
				row.Values = append(row.Values, c.cell(br.row, br.part, k, i))
			}
			b.Rows = append(b.Rows, row)
		}
		out.Blocks = append(out.Blocks, b)
	}
	return out
}

// WriteTable prints the runs side by side, one block per backend × variant;
// from the second run on, each value carries its change against the first.
func (c *Comparison) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for i, r := range c.Runs {
		fmt.Fprintf(bw, "[%d] %s: %s", i+1, r.Label, r.Summary.Scenario)
		if r.Summary.Partial {
			fmt.Fprint(bw, " (partial)")
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw)
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 4, 2, ' ', 0)
	for k, key := range c.Keys {
		fmt.Fprintf(tw, "%s / %s", key.Backend, key.Variant)
		for i := range c.Runs {
			fmt.Fprintf(tw, "\t[%d]", i+1)
		}
		fmt.Fprintln(tw, "\t")
		for _, br := range c.blockRows() {
			fmt.Fprintf(tw, "  %s", rowName(br.row, br.part))
			for i := range c.Runs {
				fmt.Fprintf(tw, "\t%s", c.cellText(br.row, br.part, k, i))
			}
			fmt.Fprintln(tw, "\t")
		}
		fmt.Fprintln(tw, "\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bw.Write(trimLines(tb.Bytes()))
	fmt.Fprintln(bw, "Latencies and throughput are medians over repeats; changes are against [1]. Use `meshbench gate` to test a change for significance.")
	return bw.Flush()
}

// WriteMarkdown writes the same comparison as Markdown tables.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "## meshbench comparison")
	fmt.Fprintln(bw)
	for i, r := range c.Runs {
		fmt.Fprintf(bw, "%d. `%s` — %s\n", i+1, mdEscape(r.Label), mdEscape(r.Summary.Scenario))
	}
	for k, key := range c.Keys {
		fmt.Fprintf(bw, "\n### %s / %s\n\n| metric |", mdEscape(key.Backend), mdEscape(key.Variant))
		for i := range c.Runs {
			fmt.Fprintf(bw, " [%d] |", i+1)
		}
		fmt.Fprint(bw, "\n| --- |")
		for range c.Runs {
			fmt.Fprint(bw, " ---: |")
		}
		fmt.Fprintln(bw)
		for _, br := range c.blockRows() {
			fmt.Fprintf(bw, "| %s |", mdEscape(rowName(br.row, br.part)))
			for i := range c.Runs {
				fmt.Fprintf(bw, " %s |", mdEscape(c.cellText(br.row, br.part, k, i)))
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

// trimLines drops the spaces tabwriter pads each line's last column with.
func trimLines(p []byte) []byte {
	lines := bytes.Split(p, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " ")
	}
	return bytes.Join(lines, []byte("\n"))
}

// RunLabels gives each path a short unique label: its base name, or more of
// its path where base names repeat ("a/current", "b/current").
func RunLabels(paths []string) []string {
	labels := make([]string, len(paths))
	for depth := 1; depth <= 8; depth++ {
		seen := map[string]int{}
		for i, p := range paths {
			labels[i] = lastParts(p, depth)
			seen[labels[i]]++
		}
		unique := true
		for _, n := range seen {
			unique = unique && n == 1
		}
		if unique {
			return labels
		}
	}
	for i, p := range paths {
		labels[i] = fmt.Sprintf("%s #%d", lastParts(p, 1), i+1)
	}
	return labels
}

func lastParts(p string, n int) string {
	p = filepath.ToSlash(filepath.Clean(p))
	p = strings.TrimSuffix(p, "/"+SummaryFile)
	parts := strings.Split(p, "/")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "/")
}

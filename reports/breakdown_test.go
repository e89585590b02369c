package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/reports/reportstest"
)

// TestReportShowsBreakdownsAndScheduleLag renders a run with routes,
// workloads and instances, one of whose runs fell behind its schedule, and
// checks that summary.md, index.html and the plots show them.
func TestReportShowsBreakdownsAndScheduleLag(t *testing.T) {
	s := reportstest.Summary(reportstest.Config{
		Duration: 5 * time.Second,
		Routes:   []reportstest.Route{{Name: "checkout", Share: 0.4, LatencyFactor: 2}, {Name: "lookup", Share: 0.6}},
		// 25 ms: past the default 10 ms bound.
		ScheduleLagP99: 25 * time.Millisecond,
	})
	s.Runs[0].ScheduleLag, s.Runs[0].Untrustworthy = nil, "" // a closed-loop run: no schedule
	dir := t.TempDir()
	if err := reportstest.WriteRun(dir, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, Options{Plots: PlotOptions{Formats: []string{FormatSVG}}}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### By route", "| sim | peak-ewma | checkout |", "### By workload", "### By instance of the entry service",
		"payments[3]", "### Schedule lag", "| schedule lag p99 ms |", "| 25.00 |", "NOT TRUSTWORTHY", "closed-loop (users) workloads have no schedule", "1 of 2 runs are not trustworthy"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	for _, want := range []string{`id="lag-table"`, `class="breakdown-table"`, `id="untrustworthy"`, "checkout", "NOT TRUSTWORTHY", "latency-spectrum-routes.svg"} {
		if !bytes.Contains(index, []byte(want)) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, "latency-spectrum-routes.svg")); err != nil {
		t.Error(err)
	}
}

// TestReportOfAnOldSummary renders a summary written before breakdowns
// and schedule lags existed: no such sections, no errors.
func TestReportOfAnOldSummary(t *testing.T) {
	s := reportstest.Summary(reportstest.Config{Duration: 3 * time.Second})
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Schedule lag", "By route", "trustworthy"} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("an old summary's summary.md mentions %q", absent)
		}
	}
	dir := t.TempDir()
	if err := reportstest.WriteRun(dir, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, Options{NoPlots: true}); err != nil {
		t.Fatal(err)
	}
}

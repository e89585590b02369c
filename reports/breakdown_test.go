package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
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
	md, index := renderRun(t, dir, s)
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

// TestReportOfBusyRuns: a real run measured while the rest of its machine
// was busy is named at the top of summary.md and index.html, and its
// prediction is marked; a summary without such runs says nothing of it.
func TestReportOfBusyRuns(t *testing.T) {
	s := reportstest.Summary(reportstest.Config{Duration: 3 * time.Second, Backends: []string{"sim", "local"}})
	var quiet bytes.Buffer
	if err := WriteMarkdown(&quiet, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), "machine was busy") {
		t.Errorf("a summary without busy runs mentions them:\n%s", quiet.String())
	}
	other, steal := 0.05, 0.4
	busied := 0
	for i := range s.Runs {
		if s.Runs[i].Backend == "local" && s.Runs[i].Repeat == 0 {
			s.Runs[i].CPU = &bench.CPU{Cores: 0.5, PerRequestMS: 1.5, OtherCores: &other, StealCores: &steal}
			busied++
		}
	}
	if busied == 0 {
		t.Fatal("the synthetic summary has no local run")
	}
	md, index := renderRun(t, t.TempDir(), s)
	wantMD := fmt.Sprintf("%d of %d runs were measured while the rest of the machine was busy", busied, len(s.Runs))
	for _, want := range []string{wantMD, "(0.05 cores other, 0.40 steal)", "| local ⚠️ |", "were measured while the rest of the machine was busy (see the note at the top)"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	for _, want := range []string{wantMD, "repeat(s) measured while the rest of the machine was busy"} {
		if !bytes.Contains(index, []byte(want)) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// renderRun writes s as a run folder in dir, renders its report with SVG
// plots, and returns its summary.md and index.html.
func renderRun(t *testing.T, dir string, s *bench.Summary) (md, index []byte) {
	t.Helper()
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
	index, err = os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	return md, index
}

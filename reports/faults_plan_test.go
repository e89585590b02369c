package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/reports/reportstest"
	"github.com/meshbench/meshbench/scenarios"
)

func TestRunReadsTimelineFromScenario(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := reportstest.WriteRun(dir, goldenSummary(), src); err != nil {
		t.Fatal(err)
	}
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []FaultWindow{
		{Start: 10 * time.Second, End: 20 * time.Second, Label: "slow ×6 payments[0]", Target: "payments[0]"},
		{Start: 22 * time.Second, End: 24 * time.Second, Label: "restart payments[1] (down 2s)", Target: "payments[1]"},
		{Start: 26 * time.Second, End: 30 * time.Second, Label: "errors 20% (503) payments", Target: "payments"},
	}
	if len(run.Timeline.Faults) != len(want) {
		t.Fatalf("faults = %+v, want %+v", run.Timeline.Faults, want)
	}
	for i, w := range want {
		if run.Timeline.Faults[i] != w {
			t.Errorf("fault %d = %+v, want %+v", i, run.Timeline.Faults[i], w)
		}
	}
	if run.Timeline.Warmup != 5*time.Second || run.Timeline.Duration != 30*time.Second {
		t.Errorf("timeline = %+v", run.Timeline)
	}
	if !strings.HasPrefix(run.Description, "Does peak-EWMA") {
		t.Errorf("description = %q", run.Description)
	}
	if err := RenderRun(run, Options{Plots: PlotOptions{Formats: []string{FormatSVG}}}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "restart payments[1] (down 2s)") || strings.Contains(string(page), "fault windows not shown") {
		t.Errorf("index.html does not list the scenario's faults")
	}
}

func TestRunWithBrokenScenarioStillLoads(t *testing.T) {
	dir := t.TempDir()
	if err := reportstest.WriteRun(dir, goldenSummary(), []byte("name: [unclosed\n")); err != nil {
		t.Fatal(err)
	}
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Timeline.Faults) != 0 || !strings.Contains(run.timelineWarning, "fault windows not shown") {
		t.Errorf("timeline %+v, warning %q", run.Timeline, run.timelineWarning)
	}
}

func TestFaultLabel(t *testing.T) {
	peer := scenarios.Target{Zone: "b"}
	tests := []struct {
		name string
		f    scenarios.Fault
		want string
	}{
		{"kill", scenarios.Fault{Action: "kill", Target: scenarios.Target{Service: "payments", Replica: 0}}, "kill payments[0]"},
		{"slow", scenarios.Fault{Action: "slow", Factor: 2.5, Target: scenarios.Target{Service: "payments", Replica: scenarios.AllReplicas}}, "slow ×2.5 payments"},
		{"errors with status", scenarios.Fault{Action: "errors", Rate: 0.05, Status: 500, Target: scenarios.Target{Service: "ledger", Replica: 1}}, "errors 5% (500) ledger[1]"},
		{"latency constant", scenarios.Fault{Action: "latency", Add: &scenarios.DistributionSpec{Type: "constant", Value: 50 * time.Millisecond}, Target: scenarios.Target{Zone: "a"}}, "latency +50ms zone:a"},
		{"latency distribution", scenarios.Fault{Action: "latency", Add: &scenarios.DistributionSpec{Type: "exponential"}, Target: scenarios.Target{Zone: "a"}}, "latency +exponential zone:a"},
		{"partition", scenarios.Fault{Action: "partition", Peer: &peer, Target: scenarios.Target{Zone: "a"}}, "partition zone:a ↔ zone:b"},
		{"restart without downtime", scenarios.Fault{Action: "restart", Target: scenarios.Target{Service: "risk", Replica: 2}}, "restart risk[2]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := faultLabel(tc.f); got != tc.want {
				t.Errorf("faultLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

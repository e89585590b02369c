package reports

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenSummary is the fixed synthetic summary of the golden tests: two
// backends, two variants, two repeats, a fault that breaks round-robin's
// SLOs, a failed repeat and a dirty ledger audit.
func goldenSummary() *bench.Summary {
	s := reportstest.Summary(reportstest.Config{
		Scenario: "balancer-brownout",
		Backends: []string{"sim", "local"},
		Variants: []string{"round-robin", "peak-ewma"},
		Repeats:  2,
		Duration: 30 * time.Second,
		Warmup:   5 * time.Second,
		Degraded: []reportstest.Window{{Start: 10 * time.Second, End: 20 * time.Second, Slowdown: 6, ErrorRate: 0.05}},
	})
	for i := range s.Runs {
		r := &s.Runs[i]
		if r.Backend == "local" && r.Variant == "peak-ewma" && r.Repeat == 1 {
			r.Audit = &bench.Audit{Acknowledged: r.Successes, Recorded: r.Successes - 2, Lost: 2}
		}
		if r.Backend == "local" && r.Variant == "round-robin" && r.Repeat == 1 {
			r.Error = "fleet: payments[2] did not become ready within 10s"
			r.Partial = true
		}
	}
	s.SLOPass = false
	return s
}

func goldenTimeline() Timeline {
	return Timeline{Warmup: 5 * time.Second, Duration: 30 * time.Second, Faults: []FaultWindow{
		{Start: 10 * time.Second, End: 20 * time.Second, Label: "slow ×6 payments[0]"},
		{Start: 24 * time.Second, End: 24 * time.Second, Label: "restart payments[1]"},
	}}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbench/meshbench/reports/reportstest"
)

// writeRun writes a synthetic run folder under t's temp dir and returns it.
func writeRun(t *testing.T, name string, cfg reportstest.Config) string {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := reportstest.WriteRun(dir, reportstest.Summary(cfg), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportExitCodes(t *testing.T) {
	good := writeRun(t, "run", reportstest.Config{})
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"renders a run folder", []string{"report", good, "--format", "svg"}, exitOK},
		{"no plots", []string{"report", good, "--no-plots"}, exitOK},
		{"missing folder", []string{"report", filepath.Join(t.TempDir(), "nope")}, exitUsage},
		{"folder without summary", []string{"report", t.TempDir()}, exitUsage},
		{"no argument", []string{"report"}, exitUsage},
		{"two arguments", []string{"report", good, good}, exitUsage},
		{"bad format", []string{"report", good, "--format", "gif"}, exitUsage},
		{"unknown flag", []string{"report", good, "--colour"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
	for _, f := range []string{"index.html", "summary.md", "slo.xml", "plots/latency-over-time.svg"} {
		if _, err := os.Stat(filepath.Join(good, f)); err != nil {
			t.Errorf("report did not write %s: %v", f, err)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/reports/reportstest"
)

func TestCompareExitCodes(t *testing.T) {
	a := writeRun(t, "a", reportstest.Config{})
	b := writeRun(t, "b", reportstest.Config{Seed: 2, LatencyFactor: 1.2})
	out := filepath.Join(t.TempDir(), "cmp")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"two runs", []string{"compare", a, b, "--out", out, "--no-plots"}, exitOK},
		{"summary file and folder", []string{"compare", filepath.Join(a, "summary.json"), b, "--out", out, "--no-plots"}, exitOK},
		{"one run", []string{"compare", a}, exitUsage},
		{"missing run", []string{"compare", a, filepath.Join(t.TempDir(), "nope"), "--out", out}, exitUsage},
		{"not a run folder", []string{"compare", a, t.TempDir(), "--out", out}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "comparison.md")); err != nil {
		t.Error(err)
	}
}

func TestCompareWritesPlots(t *testing.T) {
	a := writeRun(t, "a", reportstest.Config{})
	b := writeRun(t, "b", reportstest.Config{Seed: 2})
	out := filepath.Join(t.TempDir(), "cmp")
	if got := run([]string{"compare", a, b, "--out", out}); got != exitOK {
		t.Fatalf("exit %d", got)
	}
	for _, f := range []string{"compare-metrics.png", "compare-metrics.svg", "compare-spectrum.png", "compare-spectrum.svg"} {
		if _, err := os.Stat(filepath.Join(out, "plots", f)); err != nil {
			t.Error(err)
		}
	}
}

func TestCompareRoutes(t *testing.T) {
	routes := []reportstest.Route{{Name: "checkout", Share: 0.4}, {Name: "lookup", Share: 0.6}}
	a := writeRun(t, "a", reportstest.Config{Routes: routes})
	slow := []reportstest.Route{{Name: "checkout", Share: 0.4, LatencyFactor: 2}, {Name: "lookup", Share: 0.6}}
	b := writeRun(t, "b", reportstest.Config{Seed: 2, Routes: slow})
	old := writeRun(t, "old", reportstest.Config{Seed: 3})
	out := filepath.Join(t.TempDir(), "cmp")
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"a route and a workload", []string{"compare", a, b, old, "--route", "checkout", "--workload", "lookup", "--out", out, "--no-plots"}, exitOK},
		{"unknown route", []string{"compare", a, b, "--route", "refunds", "--out", out, "--no-plots"}, exitUsage},
		{"old runs only", []string{"compare", old, old, "--route", "checkout", "--out", out, "--no-plots"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
	md, err := os.ReadFile(filepath.Join(out, "comparison.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| route checkout: p99 ms |", "| workload lookup: availability |", "absent"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("comparison.md lacks %q:\n%s", want, md)
		}
	}
}

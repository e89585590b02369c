package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
	"github.com/meshbench/meshbench/scenarios"
)

func TestGateExitCodes(t *testing.T) {
	ten := reportstest.Config{Variants: []string{"peak-ewma"}, Repeats: 10}
	base := writeRun(t, "baseline", ten)
	same := writeRun(t, "same", ten)
	slow := ten
	slow.Seed, slow.LatencyFactor = 2, 1.3
	regressed := writeRun(t, "regressed", slow)
	other := writeRun(t, "other", reportstest.Config{Backends: []string{"local"}, Variants: []string{"peak-ewma"}})
	junit := filepath.Join(t.TempDir(), "gate.xml")
	md := filepath.Join(t.TempDir(), "gate.md")

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"identical passes", []string{"gate", "--baseline", base, same}, exitOK},
		{"summary.json paths", []string{"gate", "--baseline", filepath.Join(base, "summary.json"), filepath.Join(same, "summary.json")}, exitOK},
		{"p99 up 30% fails", []string{"gate", "--baseline", base, regressed, "--junit", junit, "--markdown", md}, exitFailure},
		{"a loose enough tolerance passes", []string{"gate", "--baseline", base, regressed, "--max-regression", "p50=50%,p90=50%,p99=50%,p999=50%,mean=50%"}, exitOK},
		{"missing --baseline", []string{"gate", same}, exitUsage},
		{"missing current", []string{"gate", "--baseline", base, filepath.Join(t.TempDir(), "nope")}, exitUsage},
		{"missing baseline", []string{"gate", "--baseline", filepath.Join(t.TempDir(), "nope"), same}, exitUsage},
		{"bad --max-regression", []string{"gate", "--baseline", base, same, "--max-regression", "p99=ten"}, exitUsage},
		{"unknown metric", []string{"gate", "--baseline", base, same, "--max-regression", "p98=10%"}, exitUsage},
		{"bad --alpha", []string{"gate", "--baseline", base, same, "--alpha", "1.5"}, exitUsage},
		{"nothing in common", []string{"gate", "--baseline", base, other}, exitUsage},
		{"two currents", []string{"gate", "--baseline", base, same, same}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
			}
		})
	}

	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("--junit output: %v", err)
	}
	if doc.Failures == 0 {
		t.Errorf("--junit reports no failures for a regression:\n%s", raw)
	}
	mdRaw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mdRaw), "Regression gate: ❌") {
		t.Errorf("--markdown output:\n%s", mdRaw)
	}
}

func TestGateRouteExitCodes(t *testing.T) {
	routes := []reportstest.Route{{Name: "checkout", Share: 0.3}, {Name: "lookup", Share: 0.7}}
	cfg := reportstest.Config{Variants: []string{"peak-ewma"}, Repeats: 6, Routes: routes}
	base := writeRun(t, "baseline", cfg)
	slow := cfg
	slow.Seed = 2
	slow.Routes = []reportstest.Route{{Name: "checkout", Share: 0.3, LatencyFactor: 1.5}, {Name: "lookup", Share: 0.7}}
	regressed := writeRun(t, "regressed", slow)
	old := writeRun(t, "old", reportstest.Config{Variants: []string{"peak-ewma"}, Repeats: 6})
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"checkout's p99 up 50% fails", []string{"gate", "--baseline", base, regressed, "--max-regression", "route:checkout.p99=10%"}, exitFailure},
		{"lookup unchanged passes", []string{"gate", "--baseline", base, regressed, "--max-regression", "route:lookup.p99=10%"}, exitOK},
		{"unknown route", []string{"gate", "--baseline", base, regressed, "--max-regression", "route:refunds.p99=10%"}, exitUsage},
		{"a route and a workload", []string{"gate", "--baseline", base, regressed, "--max-regression", "checkout.p99=10%"}, exitUsage},
		{"unknown route metric", []string{"gate", "--baseline", base, regressed, "--max-regression", "route:checkout.p98=10%"}, exitUsage},
		{"old summaries", []string{"gate", "--baseline", old, old, "--max-regression", "route:checkout.p99=10%"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.args); got != tc.want {
				t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
}

// TestGateFailOnPrediction fails the gate on a failed prediction verdict
// of the current run only when asked to.
func TestGateFailOnPrediction(t *testing.T) {
	cfg := reportstest.Config{Backends: []string{"sim", "local"}, Variants: []string{"peak-ewma"}, Duration: 10 * time.Second}
	// Stored predictions judged against a tolerance no run meets.
	s := reportstest.Summary(cfg)
	var err error
	if s.Predictions, err = bench.Predict(s, scenarios.PredictionTolerance{}); err != nil {
		t.Fatal(err)
	}
	strict := filepath.Join(t.TempDir(), "strict")
	if err := reportstest.WriteRun(strict, s, nil); err != nil {
		t.Fatal(err)
	}
	// No stored predictions: judged with the default tolerance, which
	// the synthetic backends (a few percent apart) meet.
	lenient := writeRun(t, "lenient", cfg)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"gate", "--baseline", strict, strict}, exitOK},
		{[]string{"gate", "--baseline", strict, strict, "--fail-on-prediction"}, exitFailure},
		{[]string{"gate", "--baseline", lenient, lenient, "--fail-on-prediction"}, exitOK},
	} {
		if got := run(tc.args); got != tc.want {
			t.Errorf("meshbench %v = %d, want %d", tc.args, got, tc.want)
		}
	}
	code, out, _ := cli(t, t.Context(), "gate", "--baseline", strict, strict, "--fail-on-prediction")
	if code != exitFailure || !strings.Contains(out, "prediction FAIL: peak-ewma on local: p50 ") || !strings.Contains(out, "(tolerance ±0.0%)") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

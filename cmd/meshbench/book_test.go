package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBookUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	profile := thisMachineProfile(t, t.TempDir(), nil)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unknown part", []string{"book", "--out", dir, "--backend", "containers"}},
		{"duration on the simulator part", []string{"book", "--out", dir, "--duration", "20s"}},
		{"scenario on the simulator part", []string{"book", "--out", dir, "--scenario", "mtls-cost"}},
		{"check of the local part", []string{"book", "--out", dir, "--backend", "local", "--check"}},
		{"unknown scenario", []string{"book", "--out", dir, "--backend", "local", "--scenario", "no-such"}},
		{"calibration on the simulator part", []string{"book", "--out", dir, "--calibration", profile}},
		{"host cores without a profile", []string{"book", "--out", dir, "--backend", "local", "--host-cores", "2"}},
		{"no such profile", []string{"book", "--out", dir, "--backend", "local", "--calibration", filepath.Join(dir, "none.yaml")}},
		{"host cores zero", []string{"book", "--out", dir, "--backend", "local", "--calibration", profile, "--host-cores", "0"}},
		{"repeat on the simulator part", []string{"book", "--out", dir, "--repeat", "3"}},
		{"repeat zero", []string{"book", "--out", dir, "--backend", "local", "--repeat", "0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage || !strings.Contains(stderr, "meshbench:") {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
		})
	}
}

// book writes the simulator part, --check passes on it, and fails with
// the file named and the hint once a page is edited.
func TestBookCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the whole library three times")
	}
	dir := t.TempDir()
	ctx := context.Background()
	if code, _, stderr := cli(t, ctx, "book", "--out", dir); code != exitOK {
		t.Fatalf("book: exit %d: %s", code, stderr)
	}
	if code, out, stderr := cli(t, ctx, "book", "--out", dir, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Fatalf("check of a fresh book: exit %d: %s%s", code, out, stderr)
	}
	page := filepath.Join(dir, "retry-storm.md")
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(raw, "edited by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, ctx, "book", "--out", dir, "--check")
	if code != exitFailure || !strings.Contains(stderr, "changed  retry-storm.md") || !strings.Contains(stderr, "make book-sim") {
		t.Fatalf("check of an edited book: exit %d: %s", code, stderr)
	}
}

// TestBookLocalCalibrated: the local part with --calibration and
// --host-cores runs the simulator with both and says so on the page and
// in results.json; with --repeat it runs each variant that many times and
// gives the local spreads (a short rescaled run of one small scenario).
func TestBookLocalCalibrated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local backend")
	}
	dir := t.TempDir()
	profile := thisMachineProfile(t, t.TempDir(), nil)
	code, _, stderr := cli(t, context.Background(), "book", "--out", dir, "--backend", "local", "--scenario", "istio-outlier-proposal",
		"--duration", "2s", "--calibration", profile, "--host-cores", "2", "--repeat", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "local", "istio-outlier-proposal.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Simulator: calibration profile profile.yaml (measured ", "a host model of 2 cores",
		"each run 2 times with different seeds", "| p99 local | local spread | error |"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	res, err := os.ReadFile(filepath.Join(dir, "local", "istio-outlier-proposal", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), `"host_cores": 2`) {
		t.Errorf("results.json's machine facts lack the host model")
	}
	for _, want := range []string{`"repeats": 2`, `"p99_spread_ms": {`} {
		if !strings.Contains(string(res), want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
	index, err := os.ReadFile(filepath.Join(dir, "local", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), "(rescaled) × 2 |") {
		t.Errorf("the local index does not give the repeats:\n%s", index)
	}
}

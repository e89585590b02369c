package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench/sweep"
)

func TestSweepCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := cli(t, context.Background(), "sweep", "balancer-brownout", "--variant", "least_request",
		"--param", "policy.balancer.choices=2,3", "--param", "topology.services.payments.concurrency={from: 3, to: 4}",
		"--duration", "4s", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "sweep folder: "+dir) || !strings.Contains(stderr, "common random numbers") || !strings.Contains(stderr, "4/4 points, 4/4 runs") {
		t.Errorf("stdout %q\nstderr %q", out, stderr)
	}
	var f sweep.Folder
	raw, err := os.ReadFile(filepath.Join(dir, sweep.SweepJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Rows != 4 || f.Partial || len(f.Points) != 4 || f.Points[3]["policy.balancer.choices"] != "3" {
		t.Fatalf("sweep.json: %v %+v", err, f)
	}
	// Resuming a complete folder runs nothing and keeps the rows.
	code, _, stderr = cli(t, context.Background(), "sweep", "balancer-brownout", "--variant", "least_request",
		"--param", "policy.balancer.choices=2,3", "--param", "topology.services.payments.concurrency={from: 3, to: 4}",
		"--duration", "4s", "--resume", dir)
	if code != exitOK || strings.Contains(stderr, "1/4") {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	// Another grid is refused.
	code, _, stderr = cli(t, context.Background(), "sweep", "balancer-brownout", "--variant", "least_request",
		"--param", "policy.balancer.choices=2,4", "--duration", "4s", "--resume", dir)
	if code != exitUsage || !strings.Contains(stderr, "holds another sweep") {
		t.Fatalf("resume another sweep: exit %d: %s", code, stderr)
	}
}

func TestTuneCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := cli(t, context.Background(), "tune", "balancer-brownout", "--variant", "least_request",
		"--param", "topology.services.payments.concurrency={from: 2, to: 8}", "--minimize", "p99_ms",
		"--subject-to", "availability>=0.99", "--budget-runs", "12", "--repeat", "2", "--duration", "4s", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "Best setting") || !strings.Contains(out, "topology.services.payments.concurrency") {
		t.Errorf("stdout %q", out)
	}
	for _, name := range []string{sweep.TuneFile, sweep.RowsCSV, sweep.RowsJSON, sweep.SweepJSON, sweep.SummaryMD} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestTuneResumeCommand: an interrupted tune says how to go on; --resume
// completes it as an uninterrupted tune; another search or box is refused.
func TestTuneResumeCommand(t *testing.T) {
	args := func(extra ...string) []string {
		return append([]string{"tune", "balancer-brownout", "--variant", "least_request",
			"--param", "topology.services.payments.concurrency={from: 2, to: 8}", "--minimize", "p99_ms",
			"--subject-to", "availability>=0.99", "--budget-runs", "12", "--repeat", "2", "--duration", "4s"}, extra...)
	}
	ref := t.TempDir()
	if code, _, stderr := cli(t, context.Background(), args("--out", ref)...); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := cli(t, ctx, args("--out", dir)...)
	if code != exitFailure || !strings.Contains(stderr, "--resume "+dir) {
		t.Fatalf("interrupted: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, context.Background(), args("--resume", dir)...); code != exitOK || !strings.Contains(stderr, "resuming: ") {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	for _, name := range []string{sweep.RowsJSON, sweep.TuneFile} {
		a, _ := os.ReadFile(filepath.Join(ref, name))
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s of the resumed tune differs from an uninterrupted one's", name)
		}
	}
	// Resuming the complete folder retraces every run and changes nothing.
	a, _ := os.ReadFile(filepath.Join(ref, sweep.RowsJSON))
	var rows []sweep.Row
	if err := json.Unmarshal(a, &rows); err != nil || len(rows) == 0 {
		t.Fatalf("rows.json: %d rows, %v", len(rows), err)
	}
	if code, _, stderr := cli(t, context.Background(), args("--resume", dir)...); code != exitOK || !strings.Contains(stderr, fmt.Sprintf("resuming: %d run(s)", len(rows))) {
		t.Fatalf("resume a complete tune: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, sweep.RowsJSON)); string(a) != string(b) {
		t.Error("resuming a complete tune changed its rows")
	}
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"another search", append(args("--resume", dir), "--minimize", "p50_ms"), "holds another search"},
		{"another box", []string{"tune", "balancer-brownout", "--variant", "least_request", "--param", "topology.services.payments.concurrency={from: 2, to: 6}", "--minimize", "p99_ms", "--duration", "4s", "--resume", dir}, "holds another sweep"},
		{"out and resume", append(args("--resume", dir), "--out", t.TempDir()), "drop --out"},
		{"not a folder", args("--resume", t.TempDir()), "not a sweep folder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, _, stderr := cli(t, context.Background(), c.args...); code != exitUsage || !strings.Contains(stderr, c.msg) {
				t.Fatalf("exit %d, want %d with %q; stderr: %s", code, exitUsage, c.msg, stderr)
			}
		})
	}
}

func TestSweepUsageErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"nothing to sweep", []string{"sweep", "balancer-brownout"}, "nothing to sweep"},
		{"unknown key", []string{"sweep", "balancer-brownout", "--param", "policy.balancer.choises=2"}, `did you mean "choices"`},
		{"bad value", []string{"sweep", "balancer-brownout", "--variant", "least_request", "--param", "policy.balancer.choices=1"}, "--param policy.balancer.choices:1:"},
		{"too many points", []string{"sweep", "balancer-brownout", "--param", "policy.timeouts.request={from: 1s, to: 2s, steps: 50}", "--param", "policy.timeouts.connect={from: 1s, to: 2s, steps: 30}", "--max-points", "1000"}, "1500 points (50 × 30), more than the maximum of 1000"},
		{"bad flag", []string{"sweep", "balancer-brownout", "--param", "choices"}, "want PATH=VALUES"},
		{"tune without goal", []string{"tune", "balancer-brownout", "--param", "policy.balancer.choices={from: 2, to: 4}"}, "nothing to optimise"},
		{"tune bad constraint", []string{"tune", "balancer-brownout", "--param", "policy.balancer.choices={from: 2, to: 4}", "--minimize", "p99_ms", "--subject-to", "p99<3"}, "invalid constraint"},
		{"tune unknown metric", []string{"tune", "balancer-brownout", "--param", "policy.balancer.choices={from: 2, to: 4}", "--minimize", "p99"}, `unknown metric "p99"`},
		{"confirm elsewhere", []string{"sweep", "balancer-brownout", "--param", "policy.balancer.choices=2", "--confirm", "containers"}, "confirming backend is local"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), append(c.args, "--out", t.TempDir())...)
			if code != exitUsage || !strings.Contains(stderr, c.msg) {
				t.Fatalf("exit %d, want %d with %q; stderr: %s", code, exitUsage, c.msg, stderr)
			}
		})
	}
}

func TestSweepInterruptedKeepsAPartialFolder(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := cli(t, ctx, "sweep", "balancer-brownout", "--variant", "least_request",
		"--param", "policy.balancer.choices=2,3", "--duration", "4s", "--out", dir)
	if code != exitFailure || !strings.Contains(stderr, "--resume "+dir) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var f sweep.Folder
	raw, err := os.ReadFile(filepath.Join(dir, sweep.SweepJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f); err != nil || !f.Partial || f.Rows != 0 {
		t.Fatalf("sweep.json: %v %+v", err, f)
	}
}

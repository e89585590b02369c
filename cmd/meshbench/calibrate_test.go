package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/calibration/measure"
	"github.com/meshbench/meshbench/scenarios"
)

// thisMachineProfile is the test profile with this machine's facts.
func thisMachineProfile(t *testing.T, dir string, mutate func(*calibration.Profile)) string {
	t.Helper()
	p, err := calibration.Load("../../bench/calibration/testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Machine = calibration.ThisMachine()
	if mutate != nil {
		mutate(p)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "profile.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunCalibrationErrors: a profile of the wrong schema, with missing
// keys, of another machine, or without the run's backend exits 2 with a
// message saying which.
func TestRunCalibrationErrors(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "other"), 0o755)
	other := thisMachineProfile(t, filepath.Join(dir, "other"), func(p *calibration.Profile) { p.Machine.Host = "sha256:0000000000000000" })
	good := thisMachineProfile(t, dir, nil)
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"wrong schema", `schema: want "meshbench.calibration/v1"`, []string{"--calibration", "../../bench/calibration/testdata/invalid/wrong-schema.yaml"}},
		{"missing keys", "backends.local.hops.mtls: missing", []string{"--calibration", "../../bench/calibration/testdata/invalid/missing-keys.yaml"}},
		{"other machine", "measured on another machine (host:", []string{"--calibration", other}},
		{"no containers section", "has no containers section", []string{"--calibration", good, "--backend", "sim,containers"}},
		{"no such file", "no such file", []string{"--calibration", filepath.Join(dir, "none.yaml")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "balancer-brownout", "--backend", "sim", "--duration", "1s", "--out", t.TempDir()}, c.args...)
			code, _, stderr := cli(t, context.Background(), args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
}

// TestRunCalibrationApplies: the simulator charges a profile given by
// flag or by the scenario's calibration key (relative to the scenario
// file), and another machine's profile runs with
// --calibration-any-machine; each changes the simulated latencies.
func TestRunCalibrationApplies(t *testing.T) {
	dir := t.TempDir()
	good := thisMachineProfile(t, dir, nil)
	e, err := scenarios.LibraryScenario("balancer-brownout")
	if err != nil {
		t.Fatal(err)
	}
	keyed := filepath.Join(dir, "keyed.yaml")
	src := strings.Replace(string(e.Source), "backends: [sim, local]\n", "backends: [sim, local]\ncalibration: profile.yaml\n", 1)
	if err := os.WriteFile(keyed, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p50 := func(args ...string) string {
		t.Helper()
		args = append([]string{"run", "--backend", "sim", "--variant", "peak_ewma", "--duration", "2s", "--out", t.TempDir()}, args...)
		code, out, stderr := cli(t, context.Background(), args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 6 && f[0] == "sim" {
				return f[5]
			}
		}
		t.Fatalf("no result line in %q", out)
		return ""
	}
	plain := p50("balancer-brownout")
	flagged := p50("balancer-brownout", "--calibration", good)
	out := t.TempDir()
	if code, _, stderr := cli(t, context.Background(), "run", "balancer-brownout", "--backend", "sim", "--variant", "peak_ewma", "--duration", "1s", "--calibration", good, "--out", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := calibration.Load(filepath.Join(out, "calibration.yaml")); err != nil {
		t.Errorf("the run folder's profile: %v", err)
	}
	if keyedP50 := p50(keyed); keyedP50 != flagged {
		t.Errorf("p50 %s with the scenario key, %s with the flag", keyedP50, flagged)
	}
	if plain == flagged {
		t.Errorf("the profile changed nothing (p50 %s)", plain)
	}
	// --host-cores on a scenario without a host block models the host
	// with the profile's CPU figures.
	hosted := filepath.Join(dir, "hosted.yaml")
	if err := os.WriteFile(hosted, append(e.Source, "host: {cores: 2}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	byFlag := p50("balancer-brownout", "--calibration", good, "--host-cores", "2")
	if byFile := p50(hosted, "--calibration", good); byFlag != byFile || byFlag == flagged {
		t.Errorf("p50 %s with --host-cores 2, %s with host: {cores: 2}, %s without a host model", byFlag, byFile, flagged)
	}
	_ = os.MkdirAll(filepath.Join(dir, "o"), 0o755)
	other := thisMachineProfile(t, filepath.Join(dir, "o"), func(p *calibration.Profile) { p.Machine.CPU = "another CPU" })
	if got := p50("balancer-brownout", "--calibration", other, "--calibration-any-machine"); got != flagged {
		t.Errorf("p50 %s with another machine's same costs, want %s", got, flagged)
	}
}

// fakeLocal is a local measurement for a calibrate whose measureLocal is
// faked: the test profile's local section and phases of ten requests.
func fakeLocal(t *testing.T) (*calibration.Profile, map[string]*measure.Phase) {
	t.Helper()
	p, err := calibration.Load("../../bench/calibration/testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	phases := map[string]*measure.Phase{}
	for _, n := range []string{"null", "direct", "client", "fast", "general", "mtls", "payments"} {
		phases[n] = &measure.Phase{Name: n, Requests: 10}
	}
	return p, phases
}

// TestCalibrateKeepsLocalWhenContainersFail: a containers measurement
// that fails still writes the local section it measured first; the run
// exits non-zero only when containers was asked for by name.
func TestCalibrateKeepsLocalWhenContainersFail(t *testing.T) {
	p, phases := fakeLocal(t)
	oldL, oldC := measureLocal, measureContainers
	t.Cleanup(func() { measureLocal, measureContainers = oldL, oldC })
	measureLocal = func(context.Context, measure.Config) (*measure.Result, error) {
		return &measure.Result{Config: measure.Config{Rate: 400, ServiceTime: time.Millisecond}, Phases: phases, Local: p.Backends.Local}, nil
	}
	measureContainers = func(context.Context, measure.Config, *measure.Result) (*calibration.Containers, string, error) {
		return nil, "", errors.New("calibrate: containers: no go.mod of the module")
	}
	for _, c := range []struct {
		name      string
		args      []string
		interrupt bool
		wantCode  int
	}{
		{"default backends", nil, false, exitOK},
		{"containers by name", []string{"--backend", "local,containers"}, false, exitFailure},
		{"interrupted", nil, true, exitFailure},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.interrupt {
				// Ctrl-C while the containers are measured.
				measureContainers = func(ctx context.Context, _ measure.Config, _ *measure.Result) (*calibration.Containers, string, error) {
					cancel()
					<-ctx.Done()
					return nil, "", fmt.Errorf("calibrate: containers: no go.mod of the module: %w", ctx.Err())
				}
			}
			out := filepath.Join(t.TempDir(), "cal.yaml")
			code, stdout, stderr := cli(t, ctx, append([]string{"calibrate", "--out", out}, c.args...)...)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, c.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, "containers: not measured: calibrate: containers: no go.mod") {
				t.Errorf("stdout does not say containers was not measured: %q", stdout)
			}
			got, err := calibration.Load(out)
			if err != nil {
				t.Fatalf("the profile written: %v", err)
			}
			if got.Backends.Local == nil || got.Backends.Containers != nil {
				t.Errorf("profile backends: local %v, containers %v; want local only", got.Backends.Local != nil, got.Backends.Containers != nil)
			}
			if c.wantCode != exitOK && !strings.Contains(stderr, "written without a containers section") {
				t.Errorf("stderr %q does not say what was written", stderr)
			}
		})
	}
}

// TestCalibrateWarnsWhenDisturbed: a measurement during which the rest of
// the machine, or another guest on the host, was busy is written with its
// otherCores and stealCores and a warning, and a
// run that applies the profile warns too; a quiet one warns nowhere.
func TestCalibrateWarnsWhenDisturbed(t *testing.T) {
	p, phases := fakeLocal(t)
	oldL := measureLocal
	t.Cleanup(func() { measureLocal = oldL })
	for _, c := range []struct {
		name         string
		other, steal float64
		warn         bool
	}{
		{"quiet", 0.04, 0.01, false},
		{"busy", 0.6, 0, true},
		{"a busy host", 0.02, 0.4, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			other, steal := c.other, c.steal
			measureLocal = func(context.Context, measure.Config) (*measure.Result, error) {
				return &measure.Result{Config: measure.Config{Rate: 400, ServiceTime: time.Millisecond}, Phases: phases, Local: p.Backends.Local, OtherCores: &other, StealCores: &steal}, nil
			}
			out := filepath.Join(t.TempDir(), "cal.yaml")
			code, stdout, stderr := cli(t, context.Background(), "calibrate", "--backend", "local", "--out", out)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, fmt.Sprintf("the rest of the machine meanwhile: %.2f cores", other)) {
				t.Errorf("stdout does not give the other cores: %q", stdout)
			}
			if !strings.Contains(stdout, fmt.Sprintf("the hypervisor's steal meanwhile: %.2f cores", steal)) {
				t.Errorf("stdout does not give the steal: %q", stdout)
			}
			if got := strings.Contains(stderr, "warning: this machine looked disturbed"); got != c.warn {
				t.Errorf("calibrate warned %v, want %v: %q", got, c.warn, stderr)
			}
			got, err := calibration.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if got.Measured.OtherCores == nil || *got.Measured.OtherCores != other {
				t.Fatalf("measured.otherCores %v, want %v", got.Measured.OtherCores, other)
			}
			if got.Measured.StealCores == nil || *got.Measured.StealCores != steal {
				t.Fatalf("measured.stealCores %v, want %v", got.Measured.StealCores, steal)
			}
			// The profile is of this machine (ThisMachine), so a run applies it.
			code, _, stderr = cli(t, context.Background(), "run", "balancer-brownout", "--backend", "sim", "--variant", "peak_ewma",
				"--duration", "1s", "--calibration", out, "--out", t.TempDir())
			if code != exitOK {
				t.Fatalf("run: exit %d: %s", code, stderr)
			}
			if warned := strings.Contains(stderr, "warning: the calibration profile") && strings.Contains(stderr, "other processes used"); warned != c.warn {
				t.Errorf("run warned %v, want %v: %q", warned, c.warn, stderr)
			}
		})
	}
}

// TestWarnBusyRuns: a real run whose machine was busy with other work
// while it was measured is named on standard error, with the reason; a
// quiet one and a simulator run are not.
func TestWarnBusyRuns(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	sum := &bench.Summary{Runs: []bench.RunSummary{
		{Backend: "sim", Variant: "a", CPU: &bench.CPU{Cores: 0.5}},
		{Backend: "local", Variant: "a", Repeat: 0, CPU: &bench.CPU{Cores: 0.6, OtherCores: f(0.02), StealCores: f(0)}},
		{Backend: "local", Variant: "a", Repeat: 1, CPU: &bench.CPU{Cores: 0.6, OtherCores: f(0.1), StealCores: f(0.3)}},
		{Backend: "local", Variant: "b", Repeat: 0},
	}}
	var w strings.Builder
	warnBusyRuns(&w, sum)
	got := w.String()
	if want := "meshbench: warning: local/a repeat 1: other processes used 0.10 cores and the hypervisor's steal took 0.30 while it was measured"; !strings.Contains(got, want) {
		t.Errorf("warning %q does not contain %q", got, want)
	}
	if n := strings.Count(got, "warning:"); n != 1 {
		t.Errorf("%d warnings, want 1: %q", n, got)
	}
}

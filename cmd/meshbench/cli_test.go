package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cli runs the command tree as main does and returns the exit code and
// both outputs.
func cli(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := cli(t, context.Background(), "version")
	if code != exitOK || !strings.HasPrefix(out, "meshbench v") {
		t.Fatalf("version: exit %d, output %q", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"unknown flag", []string{"run", "balancer-brownout", "--colour"}},
		{"validate without files", []string{"validate"}},
		{"run without scenario", []string{"run"}},
		{"show without name", []string{"scenarios", "show"}},
		{"repeat zero", []string{"run", "balancer-brownout", "--repeat", "0", "--out", t.TempDir()}},
		{"unknown backend", []string{"run", "balancer-brownout", "--backend", "kubernets", "--out", t.TempDir()}},
		{"unknown variant", []string{"run", "balancer-brownout", "--variant", "fastest", "--out", t.TempDir()}},
		{"missing scenario file", []string{"run", "no/such/file.yaml"}},
		{"schedule lag bound zero", []string{"run", "balancer-brownout", "--max-schedule-lag", "0", "--out", t.TempDir()}},
		{"host cores without a host block or a profile", []string{"run", "balancer-brownout", "--backend", "sim", "--host-cores", "2", "--out", t.TempDir()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, "meshbench:") {
				t.Errorf("stderr does not say what went wrong: %q", stderr)
			}
		})
	}
}

func TestValidateLibraryAndBrokenFiles(t *testing.T) {
	paths, err := filepath.Glob("../../scenarios/library/*.yaml")
	if err != nil || len(paths) < 6 {
		t.Fatalf("library: %v, %d files", err, len(paths))
	}
	code, out, stderr := cli(t, context.Background(), append([]string{"validate"}, paths...)...)
	if code != exitOK {
		t.Fatalf("validate library: exit %d: %s", code, stderr)
	}
	if got := strings.Count(out, ": ok ("); got != len(paths) {
		t.Errorf("%d files reported ok, want %d:\n%s", got, len(paths), out)
	}

	broken := filepath.Join(t.TempDir(), "broken.yaml")
	src := strings.Replace(string(mustLibrary(t, "balancer-brownout").Source), "type: lognormal", "type: lognorml", 1)
	if err := os.WriteFile(broken, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = cli(t, context.Background(), "validate", paths[0], broken)
	if code != exitUsage {
		t.Fatalf("validate broken: exit %d, want 2", code)
	}
	for _, want := range []string{broken + ":", `"lognorml"`, `did you mean "lognormal"?`, "serviceTime"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func mustLibrary(t *testing.T, name string) scenarios.Entry {
	t.Helper()
	e, err := scenarios.LibraryScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestScenariosListAndShow(t *testing.T) {
	code, out, _ := cli(t, context.Background(), "scenarios", "list")
	if code != exitOK {
		t.Fatalf("list: exit %d", code)
	}
	for _, e := range append(scenarios.Library(), scenarios.Checks()...) {
		if !strings.Contains(out, e.Name) || !strings.Contains(out, e.Question) {
			t.Errorf("list lacks %s and its question", e.Name)
		}
	}
	if !strings.Contains(out, "checks (published results):") {
		t.Errorf("list does not set the checks apart:\n%s", out)
	}
	code, out, _ = cli(t, context.Background(), "scenarios", "show", "erlang-c")
	if check, err := scenarios.Shipped("erlang-c"); code != exitOK || err != nil || out != string(check.Source) {
		t.Fatalf("show erlang-c: exit %d, %v", code, err)
	}
	code, out, _ = cli(t, context.Background(), "scenarios", "show", "retry-storm")
	if code != exitOK || out != string(mustLibrary(t, "retry-storm").Source) {
		t.Fatalf("show: exit %d, output differs from the shipped file", code)
	}
	code, _, stderr := cli(t, context.Background(), "scenarios", "show", "retry-strom")
	if code != exitUsage || !strings.Contains(stderr, `"retry-storm"`) {
		t.Fatalf("show misspelt: exit %d, stderr %q", code, stderr)
	}
}

func TestCompletion(t *testing.T) {
	code, out, _ := cli(t, context.Background(), "completion", "bash")
	if code != exitOK || !strings.Contains(out, "meshbench") {
		t.Fatalf("completion bash: exit %d", code)
	}
}

// TestRunEveryShippedScenarioShortOnSim runs each shipped scenario's and
// check's short form on the simulator through the CLI, by name, and checks
// the run folder: every variant measured, SLOs evaluated, the report
// written.
func TestRunEveryShippedScenarioShortOnSim(t *testing.T) {
	for _, e := range append(scenarios.Library(), scenarios.Checks()...) {
		t.Run(e.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			code, _, stderr := cli(t, context.Background(), "run", e.Name, "--backend", "sim", "--duration", "6s", "--out", dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			sum, err := bench.ReadSummary(filepath.Join(dir, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := scenarios.LoadBytes(e.Name, e.Source)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Runs) != len(plan.Variants) || sum.Partial {
				t.Fatalf("%d runs (partial=%v), want %d", len(sum.Runs), sum.Partial, len(plan.Variants))
			}
			for _, r := range sum.Runs {
				if r.Requests == 0 {
					t.Errorf("%s: no requests measured", r.Variant)
				}
				if len(plan.SLO) > 0 && len(r.SLO) == 0 {
					t.Errorf("%s: SLOs not evaluated", r.Variant)
				}
			}
			for _, f := range []string{"scenario.yaml", "plan.json", "environment.json", "summary.md", "slo.xml", "index.html"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("run folder lacks %s", f)
				}
			}
		})
	}
}

func TestRunIsDeterministic(t *testing.T) {
	var sums [2][]byte
	for i := range sums {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, stderr := cli(t, context.Background(), "run", "hedging-tail", "--backend", "sim", "--duration", "4s", "--seed", "7", "--out", dir)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = raw
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatal("the same scenario and seed gave different summary.json files")
	}
	if !bytes.Contains(sums[0], []byte(`"seed": 7`)) {
		t.Error("--seed was not honoured")
	}
}

// TestRunInterruptedKeepsWhatWasMeasured cancels the run before it starts:
// the run folder must still hold the scenario, the plan and a summary marked
// partial, and the exit status must say it failed.
func TestRunInterruptedKeepsWhatWasMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "run")
	code, _, stderr := cli(t, ctx, "run", "retry-storm", "--backend", "sim", "--duration", "2s", "--out", dir)
	if code == exitOK {
		t.Fatal("an interrupted run exited 0")
	}
	sum, err := bench.ReadSummary(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Partial {
		t.Error("summary of an interrupted run is not marked partial")
	}
	if !strings.Contains(stderr, "partial") {
		t.Errorf("stderr does not say the summary is partial: %q", stderr)
	}
}

func TestRunFailOnSLO(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	// round_robin fails its p99 SLO during the brown-out.
	code, _, _ := cli(t, context.Background(), "run", "balancer-brownout", "--backend", "sim", "--variant", "round_robin", "--duration", "20s", "--fail-on-slo", "--out", dir)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 for a failed SLO with --fail-on-slo", code)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/scenarios"
)

// requireDocker skips a test when no Docker daemon answers, or fails it
// when MESHBENCH_REQUIRE_DOCKER=1 (CI machines with Docker set it).
func requireDocker(t *testing.T) {
	t.Helper()
	err := containers.Available(context.Background())
	if err == nil {
		return
	}
	if os.Getenv("MESHBENCH_REQUIRE_DOCKER") == "1" {
		t.Fatalf("MESHBENCH_REQUIRE_DOCKER=1 but Docker is not usable: %v", err)
	}
	t.Skipf("skipping: %v (set MESHBENCH_REQUIRE_DOCKER=1 to fail instead of skipping)", err)
}

// root runs the command tree built by newRootCmd with args.
func root(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestFleetUpStatusDown(t *testing.T) {
	requireDocker(t)
	run := "clitest-" + containers.NewRunID()
	t.Cleanup(func() {
		if _, err := containers.RemoveRun(context.Background(), run); err != nil {
			t.Errorf("cleanup of run %s: %v", run, err)
		}
	})

	out, err := root(t, "fleet", "up", "replica-crash", "--replicas", "1", "--replicas", "payments=2", "--run", run)
	if err != nil {
		t.Fatalf("fleet up: %v\n%s", err, out)
	}
	for _, name := range []string{"payments[0]", "payments[1]", "risk[0]", "fraud[0]", "ledger[0]"} {
		if !strings.Contains(out, name+" ") || !strings.Contains(out, "http://127.0.0.1:") {
			t.Errorf("fleet up output lacks %s and its URL:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "fleet "+run+": 5 replicas") {
		t.Errorf("fleet up output does not announce 5 replicas of run %s:\n%s", run, out)
	}

	out, err = root(t, "fleet", "status", "--run", run)
	if err != nil {
		t.Fatalf("fleet status: %v\n%s", err, out)
	}
	if got := strings.Count(out, " ready "); got != 5 {
		t.Errorf("fleet status shows %d ready replicas, want 5:\n%s", got, out)
	}
	if first := strings.Split(out, "\n")[1]; !strings.Contains(first, "payments[0]") {
		t.Errorf("fleet status does not list payments first: %q", first)
	}

	out, err = root(t, "fleet", "down", "--run", run)
	if err != nil {
		t.Fatalf("fleet down: %v\n%s", err, out)
	}
	if !strings.Contains(out, "removed 5 containers and 1 network") {
		t.Errorf("fleet down output: %q", out)
	}
	out, err = root(t, "fleet", "status", "--run", run)
	if err != nil || !strings.Contains(out, "no meshbench containers") {
		t.Errorf("fleet status after down: %v\n%s", err, out)
	}
}

func TestFleetUsageErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"fleet", "up", "replica-crash", "--replicas", "checkout=2"}, `no service "checkout"`},
		{"zero replicas", []string{"fleet", "up", "--replicas", "0"}, "at least 1"},
		{"not a number", []string{"fleet", "up", "--replicas", "payments=many"}, "SERVICE=N"},
		{"unknown scenario", []string{"fleet", "up", "no-such-scenario"}, "neither a scenario file nor a shipped scenario"},
		{"two scenarios", []string{"fleet", "up", "a", "b"}, "fleet up takes at most 1 argument(s) (SCENARIO), got 2"},
		{"status takes no args", []string{"fleet", "status", "x"}, "takes no arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, exitUsage, c.want)
			}
		})
	}
}

func TestDockerUnreachableIsUsageError(t *testing.T) {
	err := dockerErr(fmt.Errorf("list containers: %w: dial unix /var/run/docker.sock: connect: no such file", containers.ErrNoDocker))
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Fatalf("dockerErr = %v, want exit %d", err, exitUsage)
	}
	if !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("message gives no hint: %q", err)
	}
	other := errors.New("start payments[0]: boom")
	if got := dockerErr(other); got != other {
		t.Errorf("dockerErr changed a non-Docker error: %v", got)
	}
}

func TestApplyReplicas(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		want  map[string]int
	}{
		{"none keeps the scenario's", nil, map[string]int{"payments": 4, "risk": 2, "fraud": 2, "ledger": 2}},
		{"bare count for every service", []string{"3"}, map[string]int{"payments": 3, "risk": 3, "fraud": 3, "ledger": 3}},
		{"later flags win", []string{"1", "payments=2"}, map[string]int{"payments": 2, "risk": 1, "fraud": 1, "ledger": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := scenarios.LibraryScenario("replica-crash")
			if err != nil {
				t.Fatal(err)
			}
			plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			if err != nil {
				t.Fatal(err)
			}
			if err := applyReplicas(plan, c.flags); err != nil {
				t.Fatal(err)
			}
			for _, s := range plan.Services {
				if s.Replicas != c.want[s.Name] {
					t.Errorf("%s: %d replicas, want %d", s.Name, s.Replicas, c.want[s.Name])
				}
			}
		})
	}
}

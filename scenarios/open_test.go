package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	file, src, err := Open("retry-storm")
	if err != nil || file != "retry-storm.yaml" || len(src) == 0 {
		t.Fatalf("Open(retry-storm) = %q, %d bytes, %v", file, len(src), err)
	}
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if file, _, err := Open(path); err != nil || file != path {
		t.Fatalf("Open(%s) = %q, %v", path, file, err)
	}
	for _, c := range []struct{ arg, want string }{
		{"balancer-brownot", `"balancer-brownot" is neither a scenario file nor a shipped scenario (did you mean "balancer-brownout"?)`},
		{"no/such/retry-strom.yaml", `no scenario file no/such/retry-strom.yaml (the shipped scenario "retry-storm" needs no file: give its name)`},
		{"quite-unlike-anything", `"quite-unlike-anything" is neither a scenario file nor a shipped scenario`},
	} {
		if _, _, err := Open(c.arg); err == nil || err.Error() != c.want {
			t.Errorf("Open(%q) = %v, want %q", c.arg, err, c.want)
		}
	}
}

// TestCheckBackends registers a backend that refuses every plan with a
// mesh, and checks that CheckBackends runs it for a plan loaded without it
// and locates its issue in the source.
func TestCheckBackends(t *testing.T) {
	const name = "test-refuses-mesh"
	RegisterBackendCheck(name, func(plan *Plan, _ int) []BackendIssue {
		return []BackendIssue{{Path: "topology.mesh", Msg: "no mesh here"}, {Msg: "not today"}}
	})
	e, err := LibraryScenario("retry-storm")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := LoadBytes("retry-storm.yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.CheckBackends([]string{BackendSim}); err != nil {
		t.Fatalf("sim has no checks, got %v", err)
	}
	err = plan.CheckBackends([]string{name})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("CheckBackends = %v, want a *ValidationError", err)
	}
	text := err.Error()
	for _, want := range []string{"retry-storm.yaml:", "topology.mesh: on " + name + ": no mesh here", "backends: on " + name + ": not today"} {
		if !strings.Contains(text, want) {
			t.Errorf("CheckBackends error lacks %q:\n%s", want, text)
		}
	}
	for _, is := range ve.Issues {
		if is.Line < 1 || is.Col < 1 {
			t.Errorf("issue without a position: %+v", is)
		}
	}
}

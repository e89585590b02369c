package config

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHTTP keeps the package, and everything it imports, free of
// net/http: the simulator builds its policy objects with it and must not
// depend on the proxy's I/O.
func TestNoHTTP(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.HasPrefix(dep, "net/http/") {
			t.Errorf("proxy/config depends on %s", dep)
		}
	}
}

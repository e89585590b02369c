package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHeavyDeps keeps the fleet's binary light: it links package
// scenarios, which must not pull in the importers (Istio's and Kubernetes'
// types, client-go) — they register with scenarios from their own
// packages, which only the meshbench CLI links.
func TestNoHeavyDeps(t *testing.T) {
	// go test puts its own toolchain first on PATH.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	banned := []string{"istio.io/", "k8s.io/", "sigs.k8s.io/",
		"github.com/meshbench/meshbench/importer/istio", "github.com/meshbench/meshbench/importer/kong"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, b := range banned {
			if strings.HasPrefix(pkg, b) {
				t.Errorf("cmd/paymentsvc depends on %s", pkg)
			}
		}
	}
}

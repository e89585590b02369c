package containers

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/backend-checks")

// TestBackendChecksInValidation: scenarios.Load runs the local and
// containers backends' start-up checks (registered by bench/local and by
// this package) for the backends a scenario lists, and reports what they
// refuse with file:line:col, the key and the backend's name. Regenerate
// the golden files with go test ./bench/containers -run
// TestBackendChecksInValidation -update, and review the diff.
func TestBackendChecksInValidation(t *testing.T) {
	files, err := filepath.Glob("testdata/backend-checks/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = scenarios.LoadBytes(file, src)
			var ve *scenarios.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want a *ValidationError", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
			// Without the real backends listed, the simulator runs it.
			simOnly := strings.Replace(string(src), "backends: [", "backends: [sim]\n# was: [", 1)
			if _, err := scenarios.LoadBytes(file, []byte(simOnly)); err != nil {
				t.Errorf("with backends [sim] only: %v", err)
			}
		})
	}
}

// TestLibraryPassesBackendChecks: every shipped scenario passes the
// checks of the real backends it lists.
func TestLibraryPassesBackendChecks(t *testing.T) {
	for _, e := range scenarios.Library() {
		if _, err := scenarios.LoadBytes(e.Name+".yaml", e.Source); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
	}
}

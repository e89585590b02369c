package scenarios

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
)

// TestShippedScenariosNameTheSchema: every scenario the project ships opens
// with the yaml-language-server line that points editors at the JSON
// schema, so a user editing one gets completion and checks as they type.
func TestShippedScenariosNameTheSchema(t *testing.T) {
	const want = "# yaml-language-server: $schema=../scenario.schema.json"
	for _, dir := range []string{"library", "checks", "sweeps"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no scenarios in %s", dir)
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			sc.Scan()
			if got := sc.Text(); got != want {
				t.Errorf("%s: first line %q, want %q", f, got, want)
			}
			fh.Close()
		}
	}
}

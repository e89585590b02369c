package scenarios

import (
	"path/filepath"
	"testing"
)

// TestShippedSweeps loads the sweep examples of scenarios/sweeps
// (docs/sweep.md quotes their results): each must be valid, with a sweep
// section whose values all load.
func TestShippedSweeps(t *testing.T) {
	files, err := filepath.Glob("sweeps/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("sweeps: %v, %d files", err, len(files))
	}
	for _, f := range files {
		plan, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if plan.Sweep == nil || len(plan.Sweep.Params) == 0 {
			t.Errorf("%s: no sweep section", f)
		}
		for _, sp := range plan.Sweep.Params {
			if _, err := sp.Expand(); err != nil {
				t.Errorf("%s: %s: %v", f, sp.Path, err)
			}
		}
	}
}

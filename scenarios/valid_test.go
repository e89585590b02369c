package scenarios

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestValidCorpus loads every file of testdata/valid, and checks that its
// plan.json loads back to the same plan.
func TestValidCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no valid corpus")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p := mustLoad(t, string(src))
			raw, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			back, err := LoadBytes("plan.json", raw)
			if err != nil {
				t.Fatalf("plan.json does not load back:\n%v", err)
			}
			if again, _ := json.MarshalIndent(back, "", "  "); !bytes.Equal(raw, again) {
				t.Errorf("plan.json changes when loaded back")
			}
		})
	}
}

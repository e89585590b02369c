package kong

import (
	"os"
	"testing"
)

// FuzzImport: no input makes the importer panic, and every finding is
// located inside the input.
func FuzzImport(f *testing.F) {
	src, err := os.ReadFile("testdata/kong.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte("_format_version: \"3.0\"\nservices: [{name: a, routes: [{name: r, paths: [\"~/x\"]}]}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		res := ImportBytes("in.yaml", src)
		for _, fi := range res.Findings {
			if fi.Line < 1 || fi.Col < 1 {
				t.Errorf("finding outside the file: %v", fi)
			}
		}
	})
}

package istio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshbench/meshbench/importer"
)

// FuzzImport: no input makes the importer panic, and every finding is
// located inside the input.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/mesh/*.yaml")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		docs, fs := importer.ParseFile("in.yaml", src)
		res := importer.NewResult("istio")
		res.Findings = fs
		var rs []*resource
		for _, d := range docs {
			r, fs := decodeDoc(d)
			res.Findings = append(res.Findings, fs...)
			if r != nil {
				rs = append(rs, r)
			}
		}
		im := &imp{res: res, rs: rs, subsets: map[string]map[string]map[string]string{}}
		im.run()
		for _, fi := range res.Findings {
			if fi.Line < 1 || fi.Col < 1 {
				t.Errorf("finding outside the file: %v", fi)
			}
		}
	})
}

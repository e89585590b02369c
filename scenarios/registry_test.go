package scenarios

import (
	"strings"
	"testing"

	"github.com/meshbench/meshbench/importer"
)

// withoutImporters runs f with no importer registered (as in a program
// that links none), then restores the registry. No test of this package
// runs in parallel.
func withoutImporters(t *testing.T, f func()) {
	t.Helper()
	importers.Lock()
	saved := importers.byKind
	importers.byKind = nil
	importers.Unlock()
	defer func() {
		importers.Lock()
		importers.byKind = saved
		importers.Unlock()
	}()
	f()
}

// TestMissingImporter: a scenario with from: in a program without the
// importer is an error naming the package to import, at the from: key.
func TestMissingImporter(t *testing.T) {
	src := minimal + "variants:\n  - name: mesh\n    from: {kong: ./kong.yaml}\n"
	withoutImporters(t, func() {
		_, err := LoadBytes("s.yaml", []byte(src))
		want := `s.yaml:15:18: variants[0].from.kong: cannot import ./kong.yaml: this program has no kong importer (a Go program that loads such scenarios imports _ "github.com/meshbench/meshbench/importer/kong")`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant %s", err, want)
		}
	})
}

func TestRegisterImporterPanics(t *testing.T) {
	fn := func(ImportRequest) (*importer.Result, error) { return importer.NewResult("kong"), nil }
	for _, c := range []struct {
		name, kind string
		fn         ImportFunc
		want       string
	}{
		{"unknown kind", "nginx", fn, `unknown kind "nginx"`},
		{"nil", "kong", nil, "nil importer"},
		{"twice", "kong", fn, "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			withoutImporters(t, func() {
				if c.name == "twice" {
					RegisterImporter("kong", fn)
				}
				defer func() {
					if r := recover(); r == nil || !strings.Contains(r.(string), c.want) {
						t.Errorf("panic %v, want one saying %q", r, c.want)
					}
				}()
				RegisterImporter(c.kind, c.fn)
			})
		})
	}
}

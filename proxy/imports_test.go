package proxy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreImportsNoSecurityPackages keeps the security layer out of the
// core: proxy/secure plugs proxy/mtls, proxy/auth, proxy/fault and
// proxy/cache in through the hooks, so the core's own sources import none
// of them.
func TestCoreImportsNoSecurityPackages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{}
	for _, p := range []string{"mtls", "auth", "fault", "cache"} {
		banned["github.com/meshbench/meshbench/proxy/"+p] = true
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); banned[path] {
				t.Errorf("%s imports %s; that belongs in proxy/secure", f, path)
			}
		}
	}
}

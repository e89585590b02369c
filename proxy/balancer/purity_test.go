package balancer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity keeps the package a pure state machine (see doc.go): the
// non-test sources must not read the clock, sleep, start goroutines, use
// channels, draw from a global random source or do I/O.
func TestPurity(t *testing.T) {
	forbiddenImports := map[string]string{
		"os": "I/O", "io": "I/O", "io/ioutil": "I/O", "io/fs": "I/O", "bufio": "I/O",
		"net": "I/O", "net/http": "I/O (reading requests is package httpkey's job)",
		"net/http/httptest": "I/O", "syscall": "I/O", "os/exec": "I/O",
		"math/rand": "the global, unseeded v1 source", "crypto/rand": "nondeterminism",
		"log": "I/O",
	}
	// net/netip parses addresses without I/O.
	forbiddenTime := map[string]bool{
		"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true,
	}
	// Package-level functions of math/rand/v2 use the global, randomly
	// seeded source; methods on an injected *rand.Rand are fine.
	forbiddenRand := map[string]bool{
		"Int": true, "IntN": true, "Int32": true, "Int32N": true, "Int64": true, "Int64N": true,
		"Uint": true, "UintN": true, "Uint32": true, "Uint32N": true, "Uint64": true, "Uint64N": true,
		"Float32": true, "Float64": true, "N": true, "Perm": true, "Shuffle": true,
		"NormFloat64": true, "ExpFloat64": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if why, bad := forbiddenImports[path]; bad {
				t.Errorf("%s: imports %q (%s)", fset.Position(imp.Pos()), path, why)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			bad := ""
			switch n := n.(type) {
			case *ast.GoStmt:
				bad = "go statement"
			case *ast.ChanType:
				bad = "channel type"
			case *ast.SendStmt:
				bad = "channel send"
			case *ast.SelectStmt:
				bad = "select"
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					bad = "channel receive"
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok {
					switch {
					case id.Name == "time" && forbiddenTime[n.Sel.Name]:
						bad = "time." + n.Sel.Name
					case id.Name == "rand" && forbiddenRand[n.Sel.Name]:
						bad = "global rand." + n.Sel.Name
					case id.Name == "fmt" && n.Sel.Name != "Errorf": // no printing
						bad = "fmt." + n.Sel.Name
					}
				}
			}
			if bad != "" {
				t.Errorf("%s: %s in a pure policy package", fset.Position(n.Pos()), bad)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no sources checked")
	}
}

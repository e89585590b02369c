package ratelimit

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

// TestPurity keeps the package a pure state machine told the time: its
// non-test sources must not read the clock, sleep, start goroutines, use
// channels, do I/O, draw from a global random source, or call the methods of
// rate.Limiter that read the clock themselves. It inspects the syntax tree,
// so comments that mention these names do not trip it.
func TestPurity(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbiddenImports := []string{"net", "os", "io", "syscall", "log", "unsafe", "runtime", "math/rand"}
	forbiddenCalls := map[string]map[string]bool{
		"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
			"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true},
		"fmt": {"Print": true, "Printf": true, "Println": true, "Fprint": true, "Fprintf": true,
			"Fprintln": true, "Scan": true, "Scanf": true, "Scanln": true},
	}
	// Methods of rate.Limiter and rate.Reservation that use time.Now.
	clockMethods := map[string]int{"Allow": 0, "Reserve": 0, "Tokens": 0, "Delay": 0, "Cancel": 0,
		"Wait": -1, "WaitN": -1, "SetLimit": -1, "SetBurst": -1}

	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		imports := map[string]string{} // local name -> path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if path == "math/rand/v2" {
				local = "rand"
			}
			if imp.Name != nil {
				local = imp.Name.Name
			}
			imports[local] = path
			for _, bad := range forbiddenImports {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					// *rand.Rand may be taken as an argument; calls are checked below.
					if bad == "math/rand" {
						continue
					}
					t.Errorf("%s: imports %q", fset.Position(imp.Pos()), path)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			report := func(what string) { t.Errorf("%s: %s", fset.Position(n.Pos()), what) }
			switch n := n.(type) {
			case *ast.GoStmt:
				report("starts a goroutine")
			case *ast.ChanType:
				report("uses a channel type")
			case *ast.SendStmt:
				report("sends on a channel")
			case *ast.SelectStmt:
				report("selects on channels")
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					report("receives from a channel")
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok {
					path := imports[id.Name]
					if forbiddenCalls[path][sel.Sel.Name] {
						report("calls " + path + "." + sel.Sel.Name)
					}
					if strings.HasPrefix(path, "math/rand") {
						report("calls package-level " + path + "." + sel.Sel.Name + " (take a *rand.Rand instead)")
					}
				}
				if args, ok := clockMethods[sel.Sel.Name]; ok && (args < 0 || len(n.Args) == args) {
					report("calls ." + sel.Sel.Name + ", which reads the wall clock")
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no sources checked")
	}
}

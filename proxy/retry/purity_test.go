package retry

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

// TestPurity keeps the package a pure state machine that is told the time
// (DESIGN.md): its non-test sources may not read the clock, sleep, start
// goroutines, use channels, or import packages that do I/O. It inspects the
// syntax tree, so the rule is about code, not about words in comments.
func TestPurity(t *testing.T) {
	forbiddenTime := map[string]bool{
		"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true,
	}
	forbiddenImport := func(path string) bool {
		switch path {
		case "os", "io", "io/ioutil", "io/fs", "net", "syscall", "unsafe", "time/tzdata":
			return true
		}
		return strings.HasPrefix(path, "os/") || strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "syscall/")
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
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		timeName := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbiddenImport(path) {
				t.Errorf("%s: imports %q (no I/O in a policy package)", fset.Position(imp.Pos()), path)
			}
			if path == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
				if timeName == "." {
					t.Errorf("%s: dot-imports time, which would hide clock reads from this test", fset.Position(imp.Pos()))
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement (no goroutines in a policy package)", fset.Position(n.Pos()))
			case *ast.ChanType:
				t.Errorf("%s: channel type (no channels in a policy package)", fset.Position(n.Pos()))
			case *ast.SendStmt:
				t.Errorf("%s: channel send", fset.Position(n.Pos()))
			case *ast.SelectStmt:
				t.Errorf("%s: select statement", fset.Position(n.Pos()))
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					t.Errorf("%s: channel receive", fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && forbiddenTime[n.Sel.Name] {
					t.Errorf("%s: time.%s (time is an argument, never read or waited on)", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no non-test sources found; is the test running in the package directory?")
	}
}

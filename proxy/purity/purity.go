// Package purity checks that a policy package is a pure state machine that
// is told the time (docs/architecture.md): its non-test sources must not read the wall
// clock, sleep, start goroutines, use channels, do I/O or draw from a global
// random source. The policy packages call Check from a test, so the rule the
// simulator depends on is enforced by `go test`, not by review.
//
// Check reads the syntax tree rather than the text, so comments may name what
// the code must not do.
package purity

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Rules adds a package's own bans to the common ones.
type Rules struct {
	// ClockMethods names methods, of any receiver, that read the wall clock
	// themselves, with the argument count that does (-1: any count). For
	// example rate.Limiter's Allow() reads the clock, AllowN(t, n) does not.
	ClockMethods map[string]int
}

// bannedImport reports why importing path breaks purity, or "".
func bannedImport(path string) string {
	switch {
	case path == "net/netip":
		return "" // parses addresses, no I/O
	case path == "math/rand":
		return "the global, unseeded v1 source (take a math/rand/v2 *rand.Rand)"
	case path == "crypto/rand":
		return "nondeterminism"
	case path == "unsafe", path == "runtime":
		return "no business in a policy"
	}
	for _, p := range []string{"os", "io", "net", "syscall", "log", "bufio"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return "I/O"
		}
	}
	return ""
}

// bannedCalls are package-level functions that read the clock, wait, or
// print, by import path.
var bannedCalls = map[string]map[string]bool{
	"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true},
	"fmt": {"Print": true, "Printf": true, "Println": true, "Scan": true, "Scanf": true,
		"Scanln": true, "Fprint": true, "Fprintf": true, "Fprintln": true},
}

// randConstructors are the math/rand/v2 functions that build an explicit
// source or generator; every other package-level function draws from the
// global, randomly seeded source.
var randConstructors = map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true}

// Violations returns, sorted, every breach of purity in the non-test Go
// sources of dir, as "file:line:col: what".
func Violations(dir string, r Rules) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		checked++
		report := func(pos token.Pos, what string) {
			out = append(out, fmt.Sprintf("%s: %s", fset.Position(pos), what))
		}
		imports := map[string]string{} // local name -> import path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if path == "math/rand/v2" {
				local = "rand"
			}
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == "." && (path == "time" || strings.HasPrefix(path, "math/rand")) {
				report(imp.Pos(), "dot-imports "+path)
			}
			imports[local] = path
			if why := bannedImport(path); why != "" {
				report(imp.Pos(), fmt.Sprintf("imports %q: %s", path, why))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				report(n.Pos(), "starts a goroutine")
			case *ast.ChanType:
				report(n.Pos(), "uses a channel type")
			case *ast.SendStmt:
				report(n.Pos(), "sends on a channel")
			case *ast.SelectStmt:
				report(n.Pos(), "selects on channels")
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					report(n.Pos(), "receives from a channel")
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok {
					path := imports[id.Name]
					if bannedCalls[path][sel.Sel.Name] {
						report(n.Pos(), "calls "+path+"."+sel.Sel.Name)
					}
					if path == "math/rand/v2" && !randConstructors[sel.Sel.Name] {
						report(n.Pos(), "calls package-level rand."+sel.Sel.Name+" (take a *rand.Rand instead)")
					}
				}
				if args, ok := r.ClockMethods[sel.Sel.Name]; ok && (args < 0 || len(n.Args) == args) {
					report(n.Pos(), "calls ."+sel.Sel.Name+", which reads the wall clock")
				}
			}
			return true
		})
	}
	if checked == 0 {
		return nil, fmt.Errorf("purity: no Go sources in %s", dir)
	}
	sort.Strings(out)
	return out, nil
}

// Check fails t for every breach of purity in the non-test sources of the
// package in dir.
func Check(t testing.TB, dir string, r Rules) {
	t.Helper()
	bad, err := Violations(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range bad {
		t.Error(v)
	}
}

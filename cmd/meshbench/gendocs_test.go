package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestCLIReferenceUpToDate regenerates the Markdown CLI reference into a
// temporary folder and fails when docs/cli differs: run `make docs` (or
// `go generate ./cmd/meshbench`) and commit docs/cli.
func TestCLIReferenceUpToDate(t *testing.T) {
	want := t.TempDir()
	if err := writeMarkdownReference(want); err != nil {
		t.Fatal(err)
	}
	const dir = "../../docs/cli"
	wantFiles := mdFiles(t, want)
	gotFiles := mdFiles(t, dir)
	var stale []string
	for name, w := range wantFiles {
		g, ok := gotFiles[name]
		if !ok {
			stale = append(stale, name+" (missing)")
		} else if !bytes.Equal(g, w) {
			stale = append(stale, name+" (differs)")
		}
	}
	for name := range gotFiles {
		if _, ok := wantFiles[name]; !ok {
			stale = append(stale, name+" (no such command any more)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Fatalf("docs/cli is stale; run `make docs` and commit docs/cli:\n  %s", strings.Join(stale, "\n  "))
	}
}

func mdFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestManPages writes the man pages and checks that every visible command
// has one, in section 1, and that the hidden generator has none.
func TestManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1735689600")
	dir := t.TempDir()
	if err := writeManPages(dir); err != nil {
		t.Fatal(err)
	}
	root := docsRoot()
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			if _, err := os.Stat(filepath.Join(dir, "meshbench-"+c.Name()+".1")); err == nil {
				t.Errorf("hidden command %s has a man page", c.Name())
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "meshbench-"+c.Name()+".1"))
		if err != nil {
			t.Errorf("command %s: %v", c.Name(), err)
			continue
		}
		if !bytes.Contains(b, []byte(`.TH "MESHBENCH" "1" "Jan 2025"`)) {
			t.Errorf("meshbench-%s.1 has no section-1 header dated by SOURCE_DATE_EPOCH:\n%.300s", c.Name(), b)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if err := writeManPages(t.TempDir()); err == nil {
		t.Error("a SOURCE_DATE_EPOCH that is not a number was accepted")
	}
}

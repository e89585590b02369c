package book

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/meshbench/meshbench/scenarios"
)

// Drift is one file of the simulator's part that differs between the book
// checked in and a fresh generation.
type Drift struct {
	// Path is relative to the book's folder, with forward slashes.
	Path string
	// Kind is "changed", "missing" (generated but not in the book) or
	// "stale" (in the book but no longer generated).
	Kind string
	// Detail locates a change in a text file: the first line that differs.
	Detail string
}

// simFiles lists the simulator part's files under dir: everything but the
// local part.
func simFiles(dir string) (map[string]bool, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == LocalDir {
				return filepath.SkipDir
			}
			return nil
		}
		files[rel] = true
		return nil
	})
	if os.IsNotExist(err) {
		return files, nil
	}
	return files, err
}

// Compare reports how the simulator part in book differs from the one in
// fresh, sorted by path. Every file is compared byte for byte, PNGs
// included: the plots are drawn by gonum/plot in pure Go from the
// simulator's figures, so they are as reproducible as the figures.
func Compare(book, fresh string) ([]Drift, error) {
	have, err := simFiles(book)
	if err != nil {
		return nil, err
	}
	want, err := simFiles(fresh)
	if err != nil {
		return nil, err
	}
	var out []Drift
	for p := range want {
		if !have[p] {
			out = append(out, Drift{Path: p, Kind: "missing"})
			continue
		}
		a, err := os.ReadFile(filepath.Join(book, p))
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(fresh, p))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(a, b) {
			out = append(out, Drift{Path: p, Kind: "changed", Detail: firstDiff(p, a, b)})
		}
	}
	for p := range have {
		if !want[p] {
			out = append(out, Drift{Path: p, Kind: "stale"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// firstDiff names the first differing line of a text file, with both
// versions; binary files get their sizes.
func firstDiff(path string, have, want []byte) string {
	switch filepath.Ext(path) {
	case ".md", ".json":
	default:
		return fmt.Sprintf("%d bytes checked in, %d generated", len(have), len(want))
	}
	hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(hl), len(wl)); i++ {
		var h, w string
		if i < len(hl) {
			h = hl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if h != w {
			return fmt.Sprintf("line %d: checked in %q, generated %q", i+1, clip(h), clip(w))
		}
	}
	return ""
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// Check regenerates the simulator's part into a temporary folder and
// compares it with book; it returns the drift (empty when the book is up
// to date).
func Check(ctx context.Context, book string, entries []scenarios.Entry, log Log) ([]Drift, error) {
	tmp, err := os.MkdirTemp("", "meshbench-book-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := GenerateSim(ctx, tmp, entries, log); err != nil {
		return nil, err
	}
	return Compare(book, tmp)
}

// WriteDrift prints a drift summary: one line per file, then the hint.
func WriteDrift(w io.Writer, book string, drift []Drift) {
	fmt.Fprintf(w, "book: the simulator part of %s is out of date (%d file%s):\n", book, len(drift), plural(len(drift)))
	for _, d := range drift {
		line := fmt.Sprintf("  %-8s %s", d.Kind, d.Path)
		if d.Detail != "" {
			line += ": " + d.Detail
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "book: run `make book-sim` and commit docs/results/ (a change that moves a result must show in the book)")
}

// Sync makes the simulator part of book equal to fresh: it removes the
// book's simulator files that fresh no longer has and copies fresh's in,
// leaving the local part alone.
func Sync(book, fresh string) error {
	have, err := simFiles(book)
	if err != nil {
		return err
	}
	want, err := simFiles(fresh)
	if err != nil {
		return err
	}
	for p := range have {
		if !want[p] {
			if err := os.Remove(filepath.Join(book, p)); err != nil {
				return err
			}
		}
	}
	for p := range want {
		data, err := os.ReadFile(filepath.Join(fresh, p))
		if err != nil {
			return err
		}
		dst := filepath.Join(book, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return removeEmptyDirs(book)
}

// removeEmptyDirs removes folders left empty under dir (a scenario's plots
// folder after the scenario left the library).
func removeEmptyDirs(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if ents, err := os.ReadDir(dirs[i]); err == nil && len(ents) == 0 {
			if err := os.Remove(dirs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteSim regenerates the simulator part of book: into a temporary folder
// first, then synced in, so an error leaves the book as it was.
func WriteSim(ctx context.Context, book string, entries []scenarios.Entry, log Log) error {
	tmp, err := os.MkdirTemp("", "meshbench-book-sim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := GenerateSim(ctx, tmp, entries, log); err != nil {
		return err
	}
	if err := os.MkdirAll(book, 0o755); err != nil {
		return err
	}
	return Sync(book, tmp)
}

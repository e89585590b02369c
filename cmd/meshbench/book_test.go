package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBookUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unknown part", []string{"book", "--out", dir, "--backend", "containers"}},
		{"duration on the simulator part", []string{"book", "--out", dir, "--duration", "20s"}},
		{"scenario on the simulator part", []string{"book", "--out", dir, "--scenario", "mtls-cost"}},
		{"check of the local part", []string{"book", "--out", dir, "--backend", "local", "--check"}},
		{"unknown scenario", []string{"book", "--out", dir, "--backend", "local", "--scenario", "no-such"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage || !strings.Contains(stderr, "meshbench:") {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
		})
	}
}

// book writes the simulator part, --check passes on it, and fails with
// the file named and the hint once a page is edited.
func TestBookCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the whole library three times")
	}
	dir := t.TempDir()
	ctx := context.Background()
	if code, _, stderr := cli(t, ctx, "book", "--out", dir); code != exitOK {
		t.Fatalf("book: exit %d: %s", code, stderr)
	}
	if code, out, stderr := cli(t, ctx, "book", "--out", dir, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Fatalf("check of a fresh book: exit %d: %s%s", code, out, stderr)
	}
	page := filepath.Join(dir, "retry-storm.md")
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(raw, "edited by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, ctx, "book", "--out", dir, "--check")
	if code != exitFailure || !strings.Contains(stderr, "changed  retry-storm.md") || !strings.Contains(stderr, "make book-sim") {
		t.Fatalf("check of an edited book: exit %d: %s", code, stderr)
	}
}

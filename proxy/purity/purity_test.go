package purity

import (
	"strings"
	"testing"
)

func TestCleanPasses(t *testing.T) {
	bad, err := Violations("testdata/clean", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("clean sources flagged:\n%s", strings.Join(bad, "\n"))
	}
}

func TestDirtyIsCaught(t *testing.T) {
	bad, err := Violations("testdata/dirty", Rules{ClockMethods: map[string]int{"Allow": 0}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(bad, "\n")
	for _, want := range []string{
		`imports "os": I/O`,
		"calls time.Now",
		"calls time.Sleep",
		"starts a goroutine",
		"uses a channel type",
		"sends on a channel",
		"receives from a channel",
		"calls package-level rand.IntN",
		"calls .Allow, which reads the wall clock",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missed %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "AllowN") {
		t.Errorf("AllowN(t, n) takes the time and must pass:\n%s", got)
	}
}

func TestNoSources(t *testing.T) {
	if _, err := Violations(t.TempDir(), Rules{}); err == nil {
		t.Error("an empty folder passed")
	}
}

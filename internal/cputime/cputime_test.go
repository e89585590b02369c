package cputime

import (
	"testing"
	"time"
)

// TestSelfGrows: spinning spends CPU, and Self sees it.
func TestSelfGrows(t *testing.T) {
	before := Self()
	if before <= 0 {
		t.Fatalf("Self() = %v, want > 0 in a running process", before)
	}
	x := 0
	for Self()-before < 5*time.Millisecond {
		for i := range 100000 {
			x += i
		}
	}
	if x == 0 {
		t.Fatal("unreachable")
	}
}

// TestParseStat reads the busy fields of /proc/stat's cpu line apart
// from steal, and leaves idle and iowait out.
func TestParseStat(t *testing.T) {
	stat := "cpu  100 20 30 5000 70 8 9 400 0 0\ncpu0 50 10 15 2500 35 4 4 200 0 0\n"
	got, ok := parseStat(stat)
	want := Stat{Busy: (100 + 20 + 30 + 8 + 9) * 10 * time.Millisecond, Steal: 400 * 10 * time.Millisecond}
	if !ok || got != want {
		t.Errorf("parseStat = %+v, %v, want %+v", got, ok, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3\n", "cpu 1 2 3 4 5 6 7\n", "cpu 1 2 x 4 5 6 7 8\n", "cpu 1 2 -3 4 5 6 7 8\n", "intr 1 2 3 4 5 6 7 8\n"} {
		if got, ok := parseStat(bad); ok || got != (Stat{}) {
			t.Errorf("parseStat(%q) = %+v, %v, want nothing", bad, got, ok)
		}
	}
}

// TestMachineGrows: on Linux the machine's busy time moves when this
// process spins.
func TestMachineGrows(t *testing.T) {
	before := Machine()
	if before <= 0 {
		t.Skip("no /proc/stat here")
	}
	x, self := 0, Self()
	for Machine()-before < 20*time.Millisecond {
		if Self()-self > 2*time.Second {
			t.Fatalf("the machine's busy time moved %v while this process spent 2s", Machine()-before)
		}
		for i := range 100000 {
			x += i
		}
	}
	if x == 0 {
		t.Fatal("unreachable")
	}
}

// TestClockOf: a clock that reads nothing is no clock, so a run reports no
// CPU instead of zero cores; one that reads is passed on as it is.
func TestClockOf(t *testing.T) {
	if clockOf(func() time.Duration { return 0 }) != nil {
		t.Fatal("a clock reading 0 was passed on")
	}
	c := clockOf(func() time.Duration { return 3 * time.Second })
	if c == nil || c() != 3*time.Second {
		t.Fatal("a clock that reads was not passed on")
	}
	if Machine() > 0 && MachineClock() == nil {
		t.Fatal("MachineClock is nil where /proc/stat reads")
	}
}

package load

import (
	"context"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/internal/cputime"
)

// TestCPUWindow: the clock is read when the window opens and when the run
// ends, and a run that ends before its window opens reports nothing.
func TestCPUWindow(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	reads := []time.Duration{5 * time.Second, 7 * time.Second}
	clock := func() time.Duration {
		v := reads[0]
		reads = reads[1:]
		cancel() // the run ends once the window has opened
		return v
	}
	done := make(chan struct{})
	from := time.Now()
	var got *bench.CPUSpent
	go func() {
		defer close(done)
		got = cpuWindow(ctx, from, clock)
	}()
	<-done
	if got == nil || got.Used != 2*time.Second || got.Span <= 0 {
		t.Fatalf("window %+v, want 2s of CPU over a positive span", got)
	}
	if _, ok := cputime.ReadStat(); ok && got.Beside == nil {
		t.Error("the machine's times can be read here, and the window has nothing beside it")
	}
	if len(reads) != 0 {
		t.Errorf("clock read %d times, want 2", 2-len(reads))
	}

	never := func() time.Duration { t.Error("clock read for a window that never opened"); return 0 }
	ended, stop := context.WithCancel(t.Context())
	stop()
	if w := cpuWindow(ended, time.Now().Add(time.Hour), never); w != nil {
		t.Errorf("a run ended before its window: %+v", w)
	}
}

// TestBeside: the rest of the machine is its busy time less the measured
// system's, never below 0 (the machine's ticks lag a process's clock),
// and its steal as it grew.
func TestBeside(t *testing.T) {
	s := time.Second
	got := beside(cputime.Stat{Busy: 10 * s, Steal: s}, cputime.Stat{Busy: 13 * s, Steal: 3 * s / 2}, 2*s)
	if got == nil || got.Other != s || got.Steal != s/2 {
		t.Errorf("beside = %+v, want 1s other and 0.5s steal", got)
	}
	got = beside(cputime.Stat{Busy: 10 * s}, cputime.Stat{Busy: 11 * s}, 1010*time.Millisecond)
	if got == nil || got.Other != 0 || got.Steal != 0 {
		t.Errorf("beside, the process ahead of the machine's ticks = %+v, want nothing", got)
	}
}

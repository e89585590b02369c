package load

import (
	"context"
	"testing"
	"time"
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
	var got *struct{ used, span time.Duration }
	go func() {
		defer close(done)
		if w := cpuWindow(ctx, from, clock); w != nil {
			got = &struct{ used, span time.Duration }{w.Used, w.Span}
		}
	}()
	<-done
	if got == nil || got.used != 2*time.Second || got.span <= 0 {
		t.Fatalf("window %+v, want 2s of CPU over a positive span", got)
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

package precise

import (
	"context"
	"testing"
	"time"
)

// TestUntil: the wait returns no earlier than its
// time, at once for a time already past, and false, without waiting out
// the time, when the context has ended. It asserts no precision: that is
// the machine's.
func TestUntil(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{-time.Millisecond, 0, 200 * time.Microsecond, 3 * time.Millisecond} {
		at := time.Now().Add(d)
		if !Until(ctx, at) {
			t.Fatalf("%v: returned false with a live context", d)
		}
		if now := time.Now(); now.Before(at) {
			t.Errorf("%v: returned %v before its time", d, at.Sub(now))
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if Until(done, time.Now().Add(time.Hour)) {
		t.Error("returned true with an ended context")
	}
}

// TestSleep: Sleep waits at least its duration, returns at once for none,
// and gives the context's error when it ended.
func TestSleep(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{0, 300 * time.Microsecond, 2 * time.Millisecond} {
		start := time.Now()
		if err := Sleep(ctx, d); err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		if got := time.Since(start); got < d {
			t.Errorf("slept %v, want at least %v", got, d)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := Sleep(done, time.Hour); err != context.Canceled {
		t.Errorf("an ended context: %v", err)
	}
}

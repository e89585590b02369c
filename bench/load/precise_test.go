package load

import (
	"context"
	"testing"
	"time"
)

// TestPreciseSleepUntil: the open loop's wait returns no earlier than its
// time, at once for a time already past, and false, without waiting out
// the time, when the context has ended. It asserts no precision: that is
// the machine's.
func TestPreciseSleepUntil(t *testing.T) {
	ctx := context.Background()
	for _, d := range []time.Duration{-time.Millisecond, 0, 200 * time.Microsecond, 3 * time.Millisecond} {
		at := time.Now().Add(d)
		if !preciseSleepUntil(ctx, at) {
			t.Fatalf("%v: returned false with a live context", d)
		}
		if now := time.Now(); now.Before(at) {
			t.Errorf("%v: returned %v before its time", d, at.Sub(now))
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if preciseSleepUntil(done, time.Now().Add(time.Hour)) {
		t.Error("returned true with an ended context")
	}
}

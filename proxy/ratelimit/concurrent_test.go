package ratelimit

import (
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse calls every limiter from several goroutines, as the
// proxy does; run with -race. Each goroutine keeps its own clock, so times
// interleave out of order across goroutines, which the limiters must
// tolerate.
func TestConcurrentUse(t *testing.T) {
	const workers, rounds = 4, 500
	tb := NewTokenBucket(1000, 10)
	sw := NewSlidingWindow(50, 10*ms)
	kd := mustKeyed(t, Config{Type: TypeTokenBucket, Rate: 100, Burst: 2, MaxKeys: 3})
	ac, err := NewAdaptiveConcurrency(Config{MinLimit: 2, MaxLimit: 8, MinRTTSamples: 5, SampleWindow: ms})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now := epoch
			keys := []string{"a", "b", "c", "d", "e"}
			for i := range rounds {
				now = now.Add(time.Duration(w+1) * 100 * time.Microsecond)
				tb.Allow(now)
				sw.Allow(now)
				kd.Allow(now, keys[(i+w)%len(keys)])
				if ac.Acquire(now) {
					mu.Lock()
					peak = max(peak, ac.InFlight())
					mu.Unlock()
					ac.Release(now.Add(ms), ms, i%7 != 0)
				}
			}
		}()
	}
	wg.Wait()
	if kd.Len() > 3 {
		t.Fatalf("keyed holds %d keys, MaxKeys 3", kd.Len())
	}
	if peak > 8 {
		t.Fatalf("adaptive peak in flight %d > MaxLimit 8", peak)
	}
	if ac.InFlight() != 0 {
		t.Fatalf("adaptive InFlight %d after all released", ac.InFlight())
	}
}

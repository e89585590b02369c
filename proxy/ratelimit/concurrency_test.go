package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestConcurrencyNeverExceedsLimit runs random Acquire/Release sequences
// against a counter model.
func TestConcurrencyNeverExceedsLimit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(0, 20).Draw(t, "limit")
		c := NewConcurrency(limit)
		held := 0
		now := epoch
		t.Repeat(map[string]func(*rapid.T){
			"acquire": func(t *rapid.T) {
				got := c.Acquire(now)
				if want := held < limit; got != want {
					t.Fatalf("Acquire with %d/%d held = %v, want %v", held, limit, got, want)
				}
				if got {
					held++
				}
			},
			"release": func(t *rapid.T) {
				if held == 0 {
					t.Skip("nothing held")
				}
				c.Release(now, time.Millisecond, rapid.Bool().Draw(t, "ok"))
				held--
			},
			"": func(t *rapid.T) {
				now = now.Add(time.Millisecond)
				if c.InFlight() != held || held > c.Limit() {
					t.Fatalf("InFlight %d, held %d, limit %d", c.InFlight(), held, c.Limit())
				}
			},
		})
	})
}

// TestConcurrencyParallel hammers one limiter from several goroutines and
// checks that the number of holders never exceeds the limit.
func TestConcurrencyParallel(t *testing.T) {
	const limit, workers, rounds = 3, 8, 2000
	c := NewConcurrency(limit)
	var holders, peak atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if !c.Acquire(epoch) {
					continue
				}
				h := holders.Add(1)
				for p := peak.Load(); h > p && !peak.CompareAndSwap(p, h); p = peak.Load() {
				}
				holders.Add(-1)
				c.Release(epoch, 0, true)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("peak holders %d > limit %d", p, limit)
	}
	if c.InFlight() != 0 {
		t.Fatalf("InFlight %d after all released", c.InFlight())
	}
}

func TestConcurrencyReleaseWithoutAcquirePanics(t *testing.T) {
	c := NewConcurrency(1)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
		if c.InFlight() != 0 {
			t.Fatalf("InFlight %d after the bad Release", c.InFlight())
		}
	}()
	c.Release(epoch, 0, true)
}

func BenchmarkConcurrency(b *testing.B) {
	b.Run("acquire-release", func(b *testing.B) {
		c := NewConcurrency(100)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for b.Loop() {
			if c.Acquire(epoch) {
				c.Release(epoch, time.Millisecond, true)
			}
		}
	})
	b.Run("deny", func(b *testing.B) {
		c := NewConcurrency(0)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for b.Loop() {
			if c.Acquire(epoch) {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := NewConcurrency(100)
		b.ReportAllocs()
		defer cpuMeter(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if c.Acquire(epoch) {
					c.Release(epoch, time.Millisecond, true)
				}
			}
		})
	})
}

package ratelimit

import (
	"math/big"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestSlidingWindowScripted(t *testing.T) {
	// limit 10 per 1s; windows start at the first call (epoch).
	type burst struct {
		at         time.Duration
		n          int           // size of each request
		tries      int           // requests at this instant
		allowed    int           // how many of them are admitted (the first ones)
		retryAfter time.Duration // of the first denied one, if any
	}
	tests := []struct {
		name   string
		limit  int
		window time.Duration
		bursts []burst
	}{
		{
			name: "previous window weighs in linearly", limit: 10, window: time.Second,
			bursts: []burst{
				// window 0: empty past, 10 fit; the 11th waits for the next
				// window plus 100ms, when 10·0.9 + 1 = 10.
				{0, 1, 11, 10, 1100 * ms},
				// window 1 at 0.5: estimate 10·0.5 = 5, so 5 more fit; the
				// 6th waits until 10·0.4 + 5 + 1 = 10 at 0.6.
				{1500 * ms, 1, 6, 5, 100 * ms},
				// window 2 at 0.25: estimate 5·0.75 = 3.75; cur+1 ≤ 6.25
				// admits 6; then 5·(1−x) + 6 + 1 ≤ 10 from x = 0.4.
				{2250 * ms, 1, 7, 6, 150 * ms},
				// more than two windows later nothing counts.
				{5 * time.Second, 1, 11, 10, 1100 * ms},
			},
		},
		{
			name: "retry in the next window", limit: 2, window: 100 * ms,
			bursts: []burst{
				{0, 1, 2, 2, 0},
				{100 * ms, 1, 1, 0, 50 * ms},  // 2·(1−x) + 1 ≤ 2 from x = 0.5
				{150 * ms, 1, 2, 1, 50 * ms},  // full now; at 200ms 1·1 + 0 + 1 ≤ 2
				{200 * ms, 1, 2, 1, 100 * ms}, // 1·1 + 1 = 2 full; at 300ms 1 + 1 ≤ 2
			},
		},
		{
			name: "a request of the whole limit waits two windows", limit: 2, window: 100 * ms,
			bursts: []burst{
				{0, 1, 1, 1, 0},
				{0, 2, 1, 0, 200 * ms}, // in window 1 the previous count still weighs
			},
		},
		{
			name: "bigger than the limit never fits", limit: 3, window: time.Second,
			bursts: []burst{{0, 4, 1, 0, InfDuration}, {0, 3, 1, 1, 0}},
		},
		{
			name: "zero limit denies forever", limit: 0, window: time.Second,
			bursts: []burst{{0, 1, 1, 0, InfDuration}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSlidingWindow(tt.limit, tt.window)
			for _, b := range tt.bursts {
				allowed := 0
				var first Decision
				denied := false
				for range b.tries {
					d := s.AllowN(at(b.at), b.n)
					if d.Allowed {
						if denied {
							t.Fatalf("at %v: admitted after a denial at the same instant", b.at)
						}
						allowed++
					} else if !denied {
						first, denied = d, true
					}
				}
				if allowed != b.allowed {
					t.Fatalf("at %v: %d of %d admitted, want %d", b.at, allowed, b.tries, b.allowed)
				}
				if denied && first.RetryAfter != b.retryAfter {
					t.Fatalf("at %v: RetryAfter %v, want %v", b.at, first.RetryAfter, b.retryAfter)
				}
			}
		})
	}
}

// ratWindow is an independent model of the sliding window counter in exact
// rationals, for checking SlidingWindow on random timelines.
type ratWindow struct {
	limit     int64
	window    int64
	start     int64
	started   bool
	prev, cur int64
}

func (m *ratWindow) allow(now int64, n int64) bool {
	if !m.started {
		m.start, m.started = now, true
	}
	e := max(now-m.start, 0)
	for e >= m.window {
		m.prev, m.cur = m.cur, 0
		m.start += m.window
		e -= m.window
	}
	est := new(big.Rat).SetFrac64(m.prev*(m.window-e), m.window)
	est.Add(est, big.NewRat(m.cur+n, 1))
	if est.Cmp(big.NewRat(m.limit, 1)) <= 0 {
		m.cur += n
		return true
	}
	return false
}

// TestSlidingWindowProperties checks random timelines against the rational
// model, the per-fixed-window cap, and that every RetryAfter is the first
// instant at which a replayed limiter admits the same request.
func TestSlidingWindowProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(0, 12).Draw(t, "limit")
		window := rapid.SampledFrom([]time.Duration{1, 7, 100 * ms, time.Second, time.Minute}).Draw(t, "window")
		s := NewSlidingWindow(limit, window)
		model := &ratWindow{limit: int64(limit), window: int64(window)}
		perWindow := map[int64]int{}
		var calls []event // all of them: the first one aligns the windows
		now := time.Duration(0)
		steps := rapid.IntRange(1, 80).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			now += rapid.SampledFrom([]time.Duration{0, 1, window / 10, window / 3, window / 2,
				window - 1, window, 2*window + 1, -window / 4}).Draw(t, "step")
			n := rapid.IntRange(1, 3).Draw(t, "n")
			replay := func() *SlidingWindow {
				r := NewSlidingWindow(limit, window)
				for _, ev := range calls {
					r.AllowN(at(ev.at), ev.n)
				}
				return r
			}
			got := s.AllowN(at(now), n)
			calls = append(calls, event{now, n})
			if want := model.allow(int64(now), int64(n)); got.Allowed != want {
				t.Fatalf("step %d at %v n=%d: allowed=%v, model says %v", i, now, n, got.Allowed, want)
			}
			if got.Allowed {
				// The model counted it in the fixed window starting at model.start.
				perWindow[model.start] += n
				if perWindow[model.start] > limit {
					t.Fatalf("step %d: fixed window at %v holds %d > limit %d", i, model.start, perWindow[model.start], limit)
				}
				continue
			}
			if n > limit {
				if got.RetryAfter != InfDuration {
					t.Fatalf("n=%d > limit=%d: RetryAfter %v", n, limit, got.RetryAfter)
				}
				continue
			}
			if got.RetryAfter <= 0 {
				t.Fatalf("step %d: denied with RetryAfter %v", i, got.RetryAfter)
			}
			if !replay().AllowN(at(now+got.RetryAfter), n).Allowed {
				t.Fatalf("step %d at %v n=%d: not admitted at now+RetryAfter (%v)", i, now, n, got.RetryAfter)
			}
			if replay().AllowN(at(now+got.RetryAfter-1), n).Allowed {
				t.Fatalf("step %d at %v n=%d: admitted 1ns before RetryAfter (%v)", i, now, n, got.RetryAfter)
			}
		}
	})
}

func TestNewSlidingWindowPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewSlidingWindow(1, 0)
}

func BenchmarkSlidingWindow(b *testing.B) {
	b.Run("allow", func(b *testing.B) {
		s := NewSlidingWindow(1<<30, time.Second)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			if !s.Allow(epoch.Add(time.Duration(i))).Allowed {
				b.Fatal("denied")
			}
		}
	})
	b.Run("deny", func(b *testing.B) {
		s := NewSlidingWindow(10, time.Second)
		for range 10 {
			s.Allow(epoch)
		}
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			if s.Allow(epoch.Add(time.Duration(i % 1000))).Allowed {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := NewSlidingWindow(1000, time.Millisecond)
		b.ReportAllocs()
		defer cpuMeter(b)()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				s.Allow(epoch.Add(time.Duration(i) * time.Microsecond))
			}
		})
	})
}

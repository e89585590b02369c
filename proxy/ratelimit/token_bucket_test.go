package ratelimit

import (
	"math"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"pgregory.net/rapid"
)

const ms = time.Millisecond

func TestTokenBucketMatchesRate(t *testing.T) {
	tests := []struct {
		name   string
		rate   float64
		burst  int
		events []event
		want   []bool // nil: only compare with rate.Limiter
	}{
		{
			name:  "burst then refill at 10/s",
			rate:  10,
			burst: 3,
			events: []event{{0, 1}, {0, 1}, {0, 1}, {0, 1}, // bucket of 3 drains
				{50 * ms, 1}, {100 * ms, 1}, {150 * ms, 1}, {200 * ms, 1}, {200 * ms, 1}},
			want: []bool{true, true, true, false, false, true, false, true, false},
		},
		{
			name:   "idle time refills only up to burst",
			rate:   10,
			burst:  2,
			events: []event{{0, 2}, {10 * time.Second, 1}, {10 * time.Second, 1}, {10 * time.Second, 1}},
			want:   []bool{true, true, true, false},
		},
		{
			name:   "n larger than burst never fits",
			rate:   100,
			burst:  5,
			events: []event{{0, 6}, {time.Hour, 6}, {time.Hour, 5}},
			want:   []bool{false, false, true},
		},
		{
			name:   "denied requests take nothing",
			rate:   1,
			burst:  1,
			events: []event{{0, 1}, {100 * ms, 1}, {500 * ms, 1}, {999 * ms, 1}, {time.Second, 1}},
			want:   []bool{true, false, false, false, true},
		},
		{
			name:   "a third of a token per second",
			rate:   1.0 / 3,
			burst:  1,
			events: []event{{0, 1}, {2 * time.Second, 1}, {3 * time.Second, 1}, {5 * time.Second, 1}, {6 * time.Second, 1}},
		},
		{
			name:   "clock steps back",
			rate:   10,
			burst:  2,
			events: []event{{time.Second, 2}, {900 * ms, 1}, {1100 * ms, 1}, {1050 * ms, 1}, {1200 * ms, 1}},
		},
		{
			name:   "mixed sizes",
			rate:   7,
			burst:  4,
			events: []event{{0, 3}, {10 * ms, 2}, {300 * ms, 2}, {301 * ms, 1}, {1 * time.Second, 4}, {1 * time.Second, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewTokenBucket(tt.rate, tt.burst)
			ref := rate.NewLimiter(rate.Limit(tt.rate), tt.burst)
			for i, ev := range tt.events {
				got := b.AllowN(at(ev.at), ev.n)
				want := ev.n <= 0 || ref.AllowN(at(ev.at), ev.n)
				if got.Allowed != want {
					t.Fatalf("event %d (%v, n=%d): allowed=%v, rate.Limiter says %v", i, ev.at, ev.n, got.Allowed, want)
				}
				if tt.want != nil && got.Allowed != tt.want[i] {
					t.Fatalf("event %d (%v, n=%d): allowed=%v, want %v", i, ev.at, ev.n, got.Allowed, tt.want[i])
				}
				if got.Allowed != (got.RetryAfter == 0) && got.RetryAfter != 0 {
					t.Fatalf("event %d: allowed with RetryAfter %v", i, got.RetryAfter)
				}
			}
		})
	}
}

func TestTokenBucketRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		drain []event // admitted first
		ask   event
		want  time.Duration
	}{
		{"one token at 10/s", 10, 1, []event{{0, 1}}, event{0, 1}, 100 * ms},
		{"half way refilled", 10, 1, []event{{0, 1}}, event{50 * ms, 1}, 50 * ms},
		{"several tokens", 10, 5, []event{{0, 5}}, event{0, 3}, 300 * ms},
		{"beyond burst", 10, 5, nil, event{0, 6}, InfDuration},
		{"a third of a second", 3, 1, []event{{0, 1}}, event{0, 1}, 333333333},
		{"zero burst", 10, 0, nil, event{0, 1}, InfDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewTokenBucket(tt.rate, tt.burst)
			for _, ev := range tt.drain {
				if !b.AllowN(at(ev.at), ev.n).Allowed {
					t.Fatalf("drain %v not admitted", ev)
				}
			}
			got := b.AllowN(at(tt.ask.at), tt.ask.n)
			if got.Allowed || got.RetryAfter != tt.want {
				t.Fatalf("got %+v, want denied with RetryAfter %v", got, tt.want)
			}
			if got.RetryAfter == InfDuration {
				return
			}
			if b.AllowN(at(tt.ask.at+got.RetryAfter-time.Microsecond), tt.ask.n).Allowed {
				t.Fatalf("admitted 1µs before RetryAfter")
			}
			if !b.AllowN(at(tt.ask.at+got.RetryAfter), tt.ask.n).Allowed {
				t.Fatalf("not admitted at RetryAfter")
			}
		})
	}
}

// TestTokenBucketProperties drives random timelines, with steps back in
// time, and checks every decision against rate.Limiter and every RetryAfter
// against rate.Limiter's ReserveN(now, n).DelayFrom(now) and a replayed
// bucket.
func TestTokenBucketProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.SampledFrom([]float64{0.5, 1, 3, 7, 10, 1000, 1e6}).Draw(t, "rate")
		burst := rapid.IntRange(0, 8).Draw(t, "burst")
		b := NewTokenBucket(r, burst)
		ref := rate.NewLimiter(rate.Limit(r), burst)
		var admitted []event
		now, latest, monotone := time.Duration(0), time.Duration(0), true
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			now += rapid.SampledFrom([]time.Duration{0, 1, ms, 33 * ms, 100 * ms, time.Second / 3, 2 * time.Second, -5 * ms}).Draw(t, "step")
			if now < latest {
				monotone = false // ReserveN is early when t is behind the last update
			}
			latest = max(latest, now)
			n := rapid.IntRange(1, 4).Draw(t, "n")
			got := b.AllowN(at(now), n)
			if want := ref.AllowN(at(now), n); got.Allowed != want {
				t.Fatalf("step %d at %v n=%d: allowed=%v, rate.Limiter says %v", i, now, n, got.Allowed, want)
			}
			if got.Allowed {
				admitted = append(admitted, event{now, n})
				continue
			}
			if n > burst {
				if got.RetryAfter != InfDuration {
					t.Fatalf("n=%d > burst=%d: RetryAfter %v, want InfDuration", n, burst, got.RetryAfter)
				}
				continue
			}
			replay := func() *TokenBucket {
				rb := NewTokenBucket(r, burst)
				for _, ev := range admitted {
					rb.AllowN(at(ev.at), ev.n)
				}
				return rb
			}
			probe := rate.NewLimiter(rate.Limit(r), burst)
			for _, ev := range admitted {
				probe.AllowN(at(ev.at), ev.n)
			}
			lib := probe.ReserveN(at(now), n).DelayFrom(at(now))
			// RetryAfter is ReserveN's delay, except a nanosecond or two later
			// when rounding makes AllowN still refuse at ReserveN's time.
			if monotone && got.RetryAfter != lib {
				if d := got.RetryAfter - lib; d < 0 || d > 2 || replay().AllowN(at(now+lib), n).Allowed {
					t.Fatalf("step %d: RetryAfter %v, ReserveN says %v", i, got.RetryAfter, lib)
				}
			}
			if !replay().AllowN(at(now+got.RetryAfter), n).Allowed {
				t.Fatalf("step %d: not admitted at now+RetryAfter (%v)", i, got.RetryAfter)
			}
			// rate.Limiter admits once less than a nanosecond's worth of
			// tokens is missing, so "earlier" is checked a little earlier.
			if early := got.RetryAfter - time.Microsecond; early > 0 && replay().AllowN(at(now+early), n).Allowed {
				t.Fatalf("step %d: admitted before RetryAfter (%v)", i, got.RetryAfter)
			}
		}
	})
}

func TestTokenBucketInf(t *testing.T) {
	b := NewTokenBucket(math.Inf(1), 0)
	for i := 0; i < 100; i++ {
		if !b.Allow(epoch).Allowed {
			t.Fatal("infinite rate denied a request")
		}
	}
	if !math.IsInf(b.Rate(), 1) {
		t.Fatalf("Rate() = %v, want +Inf", b.Rate())
	}
}

func TestNewTokenBucketPanicsOnNegative(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewTokenBucket(-1, 1)
}

func BenchmarkTokenBucket(b *testing.B) {
	// Baselines from the same run: building the timestamp alone, and the
	// library's own AllowN, which bounds what the allow path can cost.
	b.Run("baseline/timestamp", func(b *testing.B) {
		var sink time.Time
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			sink = epoch.Add(time.Duration(i))
		}
		_ = sink
	})
	b.Run("baseline/rate.Limiter.AllowN", func(b *testing.B) {
		l := rate.NewLimiter(1e9, 1000)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			l.AllowN(epoch.Add(time.Duration(i)), 1)
		}
	})
	b.Run("allow", func(b *testing.B) {
		tb := NewTokenBucket(1e9, 1000) // always has a token
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			if !tb.Allow(epoch.Add(time.Duration(i))).Allowed {
				b.Fatal("denied")
			}
		}
	})
	b.Run("deny", func(b *testing.B) {
		tb := NewTokenBucket(1, 1)
		tb.Allow(epoch)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			if tb.Allow(epoch.Add(time.Duration(i % 1000))).Allowed {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		tb := NewTokenBucket(1e6, 100)
		b.ReportAllocs()
		defer cpuMeter(b)()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				tb.Allow(epoch.Add(time.Duration(i) * time.Microsecond))
			}
		})
	})
}

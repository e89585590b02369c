package breaker

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBreakerAllowRecord measures the per-request cost on a closed breaker: one
// Allow and one Record, one failure in eight (below the trip ratio).
func BenchmarkBreakerAllowRecord(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		br, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		now := t0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			now = now.Add(time.Microsecond)
			if br.Allow(now) {
				br.Record(now, i&7 != 0)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		br, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		var clock atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				now := t0.Add(time.Duration(clock.Add(1000)))
				if br.Allow(now) {
					br.Record(now, i&7 != 0)
				}
			}
		})
	})
}

// BenchmarkAdmissionAcquireRelease measures one Acquire and one Release.
func BenchmarkAdmissionAcquireRelease(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		a := NewAdmission(Thresholds{})
		b.ReportAllocs()
		for b.Loop() {
			if a.Acquire(Requests) {
				a.Release(Requests)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		a := NewAdmission(Thresholds{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if a.Acquire(Requests) {
					a.Release(Requests)
				}
			}
		})
	})
}

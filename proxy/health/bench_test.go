package health

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func benchTracker(b *testing.B, n int) (*Tracker, []string) {
	tr := mustTracker(b, Config{Interval: 5 * time.Second, Jitter: 0.2, InitialJitter: 5 * time.Second})
	r := rand.New(rand.NewPCG(1, 1))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("payments[", i, "]")
		tr.Add(t0, ids[i], r)
	}
	return tr, ids
}

// BenchmarkTracker measures one probe cycle step for 1000 endpoints: claim the
// next due endpoint and report its result (which reschedules it).
func BenchmarkTracker(b *testing.B) {
	const n = 1000
	b.Run(fmt.Sprintf("DueReport/endpoints=%d", n), func(b *testing.B) {
		tr, _ := benchTracker(b, n)
		r := rand.New(rand.NewPCG(2, 2))
		ids := make([]string, 0, n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			now, _ := tr.NextDue()
			ids = tr.Due(now, ids[:0])
			for _, id := range ids {
				tr.Report(now, id, i%5 != 0, r)
			}
			i++
		}
	})
	b.Run(fmt.Sprintf("Report/endpoints=%d", n), func(b *testing.B) {
		tr, ids := benchTracker(b, n)
		r := rand.New(rand.NewPCG(2, 2))
		b.ReportAllocs()
		now, i := t0, 0
		for b.Loop() {
			now = now.Add(time.Millisecond)
			tr.Report(now, ids[i%n], i%5 != 0, r)
			i++
		}
	})
	b.Run(fmt.Sprintf("Report/endpoints=%d/parallel", n), func(b *testing.B) {
		tr, ids := benchTracker(b, n)
		b.ReportAllocs()
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 3))
			now, i := t0, 0
			for pb.Next() {
				now = now.Add(time.Millisecond)
				tr.Report(now, ids[i%n], i%5 != 0, r)
				i++
			}
		})
	})
	b.Run(fmt.Sprintf("Healthy/endpoints=%d/parallel", n), func(b *testing.B) {
		tr, ids := benchTracker(b, n)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				tr.Healthy(ids[i%n])
				i++
			}
		})
	})
}

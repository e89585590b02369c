package retry

import (
	"math/rand/v2"
	"testing"
	"time"
)

func BenchmarkBudget(b *testing.B) {
	newBudget := func(b *testing.B) *Budget { return mustBudget(b, DefaultBudgetConfig()) }
	b.Run("DepositTryWithdraw", func(b *testing.B) {
		bu := newBudget(b)
		b.ReportAllocs()
		now := t0
		for b.Loop() {
			now = now.Add(time.Millisecond) // crosses a slice every 1000 ops
			bu.Deposit(now)
			bu.TryWithdraw(now)
		}
	})
	b.Run("TryWithdraw", func(b *testing.B) {
		bu := newBudget(b)
		b.ReportAllocs()
		now := t0
		for b.Loop() {
			now = now.Add(time.Millisecond)
			bu.TryWithdraw(now)
		}
	})
	b.Run("DepositTryWithdraw/parallel", func(b *testing.B) {
		bu := newBudget(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			now := t0
			for pb.Next() {
				now = now.Add(time.Millisecond)
				bu.Deposit(now)
				bu.TryWithdraw(now)
			}
		})
	})
}

func BenchmarkHedger(b *testing.B) {
	newHedger := func(b *testing.B) *Hedger {
		h := mustHedger(b, HedgeConfig{Delay: 50 * time.Millisecond, Percentile: 95})
		r := rand.New(rand.NewPCG(1, 1))
		for i := range 10000 { // warm: enough samples for percentile mode
			h.Observe(t0.Add(time.Duration(i)*time.Microsecond), time.Duration(r.Int64N(int64(100*time.Millisecond))))
		}
		return h
	}
	lat := make([]time.Duration, 1024)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range lat {
		lat[i] = time.Duration(r.ExpFloat64() * float64(20*time.Millisecond))
	}
	b.Run("Observe", func(b *testing.B) {
		h := newHedger(b)
		b.ReportAllocs()
		now, i := t0, 0
		for b.Loop() {
			now = now.Add(time.Microsecond)
			h.Observe(now, lat[i&1023])
			i++
		}
	})
	b.Run("Delay", func(b *testing.B) {
		h := newHedger(b)
		b.ReportAllocs()
		for b.Loop() {
			h.Delay()
		}
	})
	b.Run("ObserveDelay", func(b *testing.B) { // worst case: every Delay recomputes
		h := newHedger(b)
		b.ReportAllocs()
		now, i := t0, 0
		for b.Loop() {
			now = now.Add(time.Microsecond)
			h.Observe(now, lat[i&1023])
			h.Delay()
			i++
		}
	})
	b.Run("ObserveDelay/parallel", func(b *testing.B) {
		h := newHedger(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			now, i := t0, 0
			for pb.Next() {
				now = now.Add(time.Microsecond)
				h.Observe(now, lat[i&1023])
				h.Delay()
				i++
			}
		})
	})
}

func BenchmarkPolicy(b *testing.B) {
	p := &Policy{Attempts: 3, RetryOn: []string{OnConnectFailure, OnRetriable4xx, OnRetriableStatusCodes, OnGatewayError}, RetriableStatusCodes: []int{429, 418}}
	outcomes := []Outcome{{Status: 200}, {Status: 503}, {Status: 429}, {Err: Reset}, {Status: 404}, {Err: ConnectFailure}, {Status: 500}, {Err: Timeout}}
	b.Run("Retryable", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p.Retryable(outcomes[i&7])
			i++
		}
	})
	b.Run("Retryable/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				p.Retryable(outcomes[i&7])
				i++
			}
		})
	})
	b.Run("BackoffFor", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 1))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p.BackoffFor(1+i&3, r)
			i++
		}
	})
}

package balancer

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// benchEndpoints returns n endpoints with weights 1, 2, 3, 1, 2, 3, … so
// that the weighted paths (alias table, smooth schedule) are exercised.
func benchEndpoints(n int) []Endpoint {
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i] = Endpoint{ID: fmt.Sprintf("payments[%d]", i), Addr: fmt.Sprintf("127.0.0.1:%d", 8000+i), Weight: 1 + i%3, Tag: i}
	}
	return eps
}

// benchBalancer returns a balancer of the given type over n endpoints and the
// time to start picking at. That time comes from time.Now, so that it carries
// a monotonic clock reading as the proxy's times do: time.Time.Sub is then a
// subtraction. The simulator's virtual times have none, and Sub takes its
// overflow-checked wall-clock path, which costs peak_ewma's Done about 20 ns
// more on the project machines. Picks do not depend on the base time.
func benchBalancer(b *testing.B, typ string, n int) (Balancer, time.Time) {
	b.Helper()
	bal, err := New(Config{Type: typ})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	bal.Update(start, benchEndpoints(n))
	return bal, start
}

var benchSizes = []int{10, 100, 1000}

// benchClock is a cycle of timestamps 1µs apart from start. The loops read
// their now from it rather than calling time.Time.Add, which costs about 8 ns
// on the project machines and is the caller's clock, not Pick+Done. Every
// 4096 picks time steps back 4 ms, which completions tolerate (a stamp never
// moves back; decay over a negative interval is none).
func benchClock(start time.Time) *[4096]time.Time {
	var c [4096]time.Time
	for i := range c {
		c[i] = start.Add(time.Duration(i) * time.Microsecond)
	}
	return &c
}

// benchLatency is the latency Done reports for pick i: 1.0 to 1.6 ms.
func benchLatency(i uint64) time.Duration {
	return time.Millisecond + time.Duration(i%7)*100*time.Microsecond
}

// BenchmarkPick measures one Pick plus its Done, from one goroutine.
//
//	go test -run='^$' -bench=Pick -benchmem ./proxy/balancer/
func BenchmarkPick(b *testing.B) {
	for _, typ := range Names() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("type=%s/endpoints=%d", typ, n), func(b *testing.B) {
				bal, start := benchBalancer(b, typ, n)
				clock := benchClock(start)
				r := rand.New(rand.NewPCG(1, 2))
				b.ReportAllocs()
				for i := uint64(0); b.Loop(); i++ {
					now := clock[i%uint64(len(clock))]
					p, err := bal.Pick(now, i, r)
					if err != nil {
						b.Fatal(err)
					}
					p.Done(now, benchLatency(i), nil)
				}
			})
		}
	}
}

// BenchmarkPickParallel measures Pick plus Done from GOMAXPROCS goroutines
// sharing one balancer, each with its own *rand.Rand.
func BenchmarkPickParallel(b *testing.B) {
	for _, typ := range Names() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("type=%s/endpoints=%d", typ, n), func(b *testing.B) {
				bal, start := benchBalancer(b, typ, n)
				clock := benchClock(start)
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer() // setup allocates; picks must not
				b.RunParallel(func(pb *testing.PB) {
					s := seed.Add(1)
					r := rand.New(rand.NewPCG(s, s))
					for i := s << 40; pb.Next(); i++ {
						now := clock[i%uint64(len(clock))]
						p, err := bal.Pick(now, i, r)
						if err != nil {
							b.Error(err)
							return
						}
						p.Done(now, benchLatency(i), nil)
					}
				})
			})
		}
	}
}

// BenchmarkSetAvailable measures the snapshot rebuild behind SetAvailable
// (and Update): one endpoint toggled per iteration. Maglev refills its
// 65537-slot table each time; the simulator's outlier ejections pay this.
func BenchmarkSetAvailable(b *testing.B) {
	for _, typ := range Names() {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("type=%s/endpoints=%d", typ, n), func(b *testing.B) {
				bal, now := benchBalancer(b, typ, n)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					bal.SetAvailable(now, "payments[0]", i%2 == 1)
				}
			})
		}
	}
}

package sim

import (
	"context"
	"github.com/meshbench/meshbench/scenarios"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/retry"
)

// countSink counts results, so a benchmark measures the simulator alone.
type countSink struct{ n, ok int64 }

func (c *countSink) Record(r bench.Result) {
	c.n++
	if r.OK() {
		c.ok++
	}
}

// gatewayRetriesSpec is the performance reference: a gateway in front of
// 1,000 single-worker replicas at half load, 1% of answers failing and
// retried once under a budget, a 200µs network, Poisson arrivals.
func gatewayRetriesSpec(rate float64, dur time.Duration) *spec {
	s := fleetSpec(1000, 1, 5*time.Millisecond, rate, dur, "least_request")
	s.services[0].errorRate = 0.01
	s.services[0].queue = 100
	s.network.latency = constDist(200 * time.Microsecond)
	s.policy.Timeouts.Request = 2 * time.Second
	s.policy.Retries = &scenarios.Retries{
		Attempts:      2,
		RetryOn:       []string{retry.On5xx},
		PerTryTimeout: 250 * time.Millisecond,
		Budget:        &scenarios.RetryBudget{Ratio: 0.2, MinPerSecond: 10},
	}
	return s
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScenario runs the gateway+retries reference scenario at 100,000
// requests/s of virtual time: 1,000,000 requests per iteration, and
// 10,000,000 to show that memory stays flat as a run grows (peak-heap-MB is
// the largest live heap seen while it ran).
func BenchmarkScenario(b *testing.B) {
	const rate = 100_000.0
	for _, c := range []struct {
		name string
		dur  time.Duration
	}{
		{"requests=1M", 10 * time.Second},
		{"requests=10M", 100 * time.Second},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var reqs, events int64
			var peak uint64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var sink countSink
				m, err := build(gatewayRetriesSpec(rate, c.dur), &sink)
				if err != nil {
					b.Fatal(err)
				}
				m.start()
				calls := 0
				progress := func(time.Duration) {
					if calls++; calls%64 == 0 {
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
				}
				if _, err := m.run(context.Background(), progress); err != nil {
					b.Fatal(err)
				}
				reqs += sink.n
				events += int64(m.eng.Processed())
			}
			cpu := cpuTime() - cpu0
			sec := b.Elapsed().Seconds()
			// CPU time per request is the figure to compare on a shared
			// machine: wall time includes waiting for the core.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(reqs), "cpu-ns/request")
			b.ReportMetric(float64(reqs)/sec, "requests/s")
			b.ReportMetric(float64(events)/sec, "events/s")
			b.ReportMetric(float64(events)/float64(reqs), "events/request")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(reqs), "ns/request")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

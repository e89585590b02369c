package outlier

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRecord measures one Record on a 10-host cluster, one error in eight
// (never enough in a row to eject).
func BenchmarkRecord(b *testing.B) {
	hosts := ids(10)
	outcome := func(i int) Outcome {
		if i&7 == 0 {
			return Error5xx
		}
		return Success
	}
	b.Run("serial", func(b *testing.B) {
		d := newDetector(b, Config{}, len(hosts))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			d.Record(t0, hosts[i%len(hosts)], outcome(i))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		d := newDetector(b, Config{}, len(hosts))
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			for ; pb.Next(); i++ {
				d.Record(t0, hosts[i%len(hosts)], outcome(i))
			}
		})
	})
}

// BenchmarkSweep measures one Sweep after an interval of 100 requests per host with
// 90-99% success, so success-rate detection runs over every host.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			d := newDetector(b, Config{}, n)
			now := t0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// Fill the interval's counts directly: recording 100 outcomes per
				// host would cost far more than the sweep being measured.
				for k, h := range d.hosts {
					h.ext = tally{success: uint64(90 + (i+k)%10), total: 100}
				}
				now = now.Add(10 * time.Second)
				d.Sweep(now)
			}
		})
	}
}

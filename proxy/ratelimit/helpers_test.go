package ratelimit

import (
	"syscall"
	"testing"
	"time"
)

// epoch is an arbitrary virtual start time for scripted timelines.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// at is the virtual time d after epoch.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// event is one request on a scripted timeline.
type event struct {
	at time.Duration // offset from epoch
	n  int           // tokens / events asked for
}

// cpuMeter reports the process CPU time per operation as "cpu-ns/op"
// beside the wall-clock ns/op. On a shared machine wall time also counts
// the time other processes held the CPU; CPU time does not (it still counts
// cache and hyperthread interference). Start it just before the timed loop
// and call the returned func after it.
func cpuMeter(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

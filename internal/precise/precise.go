// Package precise waits until a point in time within about a tenth of a
// millisecond, where a Go timer can be a whole millisecond late.
//
// The Go runtime parks idle threads in its network poller (epoll_wait)
// with a timeout in whole milliseconds, so a timer that comes due while
// every thread is parked fires up to a millisecond late: on the project's
// 2-core VM a 2–4ms timer fired 590µs late at the median and 1ms at p90,
// idle or beside other work. That lateness is not the system under test's:
// it lands in a load generator's schedule (a lightly loaded run's requests
// left 0.5ms late) and in a replica's service time (every try took 0.5ms
// more than the scenario says, more or less with the machine's load).
// Until waits on a Go timer until kernelPart before its time and then on
// a timerfd in the runtime's network poller, which the kernel's
// high-resolution timer wakes within the thread's timer slack (50µs by
// default): 93µs late at the median and 134µs at p90 idle, 69µs and
// 307µs beside two goroutines busy a quarter of the time, on the same
// machine. The wait parks its goroutine and holds no thread; the context
// is checked before the last kernelPart and after it, not during. The
// price is CPU: each deadline wakes the poller's thread on its own, where
// Go timers due in the same millisecond share a wake-up — about 50µs more
// CPU per wait than a Go timer on that VM.
package precise

import (
	"context"
	"time"
)

// kernelPart is how much of a wait is spent in the kernel: more than a Go
// timer's lateness, so that the timer always ends before the time.
const kernelPart = 1500 * time.Microsecond

// Until waits until t, and reports whether t came before ctx ended.
func Until(ctx context.Context, t time.Time) bool {
	if time.Until(t) > kernelPart {
		tm := time.NewTimer(time.Until(t.Add(-kernelPart)))
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return false
		}
	}
	if d := time.Until(t); d > 0 {
		kernelSleep(d)
	}
	return ctx.Err() == nil
}

// Sleep waits d, and returns ctx.Err() when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if !Until(ctx, time.Now().Add(d)) {
		return ctx.Err()
	}
	return nil
}

//go:build !linux

package proxybench

// setupPinning does not pin off Linux: CPU affinity by thread
// (sched_setaffinity) and taskset are Linux's. The bench still runs, with
// the note saying so in its report.
func setupPinning() (pinning, func(), string) {
	return pinning{}, func() {}, "not pinned: CPU pinning needs Linux (sched_setaffinity, taskset)"
}

// Package cputime reads the CPU time this process has spent, user and
// system together, from getrusage(2) (RUSAGE_SELF). The local backend runs
// its load generator, proxies and fleet in one process, so a difference of
// two readings is what the whole local stack spent between them:
// `meshbench calibrate` divides it by the requests of a phase, and the
// local backend reports it over a run's measured window (bench.CPU).
package cputime

import (
	"syscall"
	"time"
)

// Self is this process's user + system CPU time so far; 0 when getrusage
// fails (it does not on Linux for RUSAGE_SELF).
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

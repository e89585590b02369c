// Package cputime reads CPU time: this process's (Self), and the whole
// machine's (Machine).
//
// The local backend runs its load generator, proxies and fleet in one
// process, so a difference of two readings of Self is what the whole local
// stack spent between them: `meshbench calibrate` divides it by the
// requests of a phase, and the local backend reports it over a run's
// measured window (bench.CPU). The containers backend's stack spans
// processes — this one, every replica's, Docker's proxy of each published
// port — and the kernel's work on the bridge, so it reports Machine's.
package cputime

import (
	"os"
	"strconv"
	"strings"
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

// Machine is the CPU time every core of the machine has spent busy so far,
// whoever spent it: /proc/stat's first line, user, nice, system, irq and
// softirq (ticks of 10 ms, USER_HZ being 100 on Linux); idle, iowait and
// the hypervisor's steal are not work done here. 0 when /proc/stat cannot
// be read (not Linux).
func Machine() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return machineTicks(string(b))
}

// MachineClock is Machine as a clock to pass on (load.Drive.CPU), or nil
// where the machine's busy time cannot be read: a run then reports no CPU
// rather than a machine that spent none.
func MachineClock() func() time.Duration { return clockOf(Machine) }

// clockOf is read when its first reading is positive, else nil.
func clockOf(read func() time.Duration) func() time.Duration {
	if read() <= 0 {
		return nil
	}
	return read
}

// machineTicks is Machine's reading of a /proc/stat text; 0 when its first
// line is not the machine's cpu line.
func machineTicks(stat string) time.Duration {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system . . irq softirq
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

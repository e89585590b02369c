// Package cputime reads CPU time: this process's (Self), and the whole
// machine's (Machine; ReadStat adds the hypervisor's steal).
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
// whoever spent it: ReadStat's Busy. 0 when /proc/stat cannot be read (not
// Linux).
func Machine() time.Duration {
	st, _ := ReadStat()
	return st.Busy
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

// Stat is the machine's CPU time since boot, all cores together, by where
// it went (/proc/stat's first line, proc(5)).
type Stat struct {
	// Busy is work done on this machine, by whoever did it: user, nice,
	// system, irq and softirq.
	Busy time.Duration
	// Steal is time a core here wanted to run but the hypervisor ran
	// another guest: on a VM, a neighbour's load that no process here
	// shows, and that stretches every wall-clock figure measured
	// meanwhile. Idle and iowait are in neither.
	Steal time.Duration
}

// ReadStat reads /proc/stat; false when it cannot be read or parsed (not
// Linux).
func ReadStat() (Stat, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Stat{}, false
	}
	return parseStat(string(b))
}

// UserHZ is the unit of /proc/stat's and /proc/PID/stat's CPU times: a
// kernel constant that Linux sets to 100 on every architecture Go runs
// on (sysconf(_SC_CLK_TCK)).
const UserHZ = 100

// parseStat is ReadStat's reading of a /proc/stat text; false when its
// first line is not the machine's cpu line with the steal field (Linux
// 2.6.11 and later).
func parseStat(stat string) (Stat, bool) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return Stat{}, false
	}
	var t [9]int64
	for i := 1; i < 9; i++ {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || v < 0 {
			return Stat{}, false
		}
		t[i] = v
	}
	tick := time.Second / UserHZ
	// user nice system idle iowait irq softirq steal
	return Stat{
		Busy:  time.Duration(t[1]+t[2]+t[3]+t[6]+t[7]) * tick,
		Steal: time.Duration(t[8]) * tick,
	}, true
}

package proxybench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/internal/cputime"
)

// cpuTime is CPU time spent in user space and in the kernel.
type cpuTime struct{ user, sys time.Duration }

func (c cpuTime) total() time.Duration { return c.user + c.sys }

func (c cpuTime) sub(d cpuTime) cpuTime { return cpuTime{c.user - d.user, c.sys - d.sys} }

// processCPU returns the CPU time, user and system, that pid and every
// process descending from it have used so far, from /proc/PID/stat
// (proc(5): utime and stime, fields 14 and 15, in clock ticks). Children
// count because nginx serves from worker processes under its master.
func processCPU(pid int) (cpuTime, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return cpuTime{}, fmt.Errorf("read /proc: %w", err)
	}
	type stat struct {
		ppid      int
		user, sys int64
	}
	stats := map[int]stat{}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, user, sys, err := readStat(p)
		if err != nil {
			continue // the process ended meanwhile
		}
		stats[p] = stat{ppid, user, sys}
		children[ppid] = append(children[ppid], p)
	}
	if _, ok := stats[pid]; !ok {
		return cpuTime{}, fmt.Errorf("process %d: not running", pid)
	}
	var user, sys int64
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		user += stats[p].user
		sys += stats[p].sys
		queue = append(queue, children[p]...)
	}
	tick := time.Second / cputime.UserHZ
	return cpuTime{time.Duration(user) * tick, time.Duration(sys) * tick}, nil
}

// readStat reads a process's parent, utime and stime (in ticks).
func readStat(pid int) (ppid int, user, sys int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	return parseStat(b)
}

// parseStat parses a /proc/PID/stat line. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (ppid int, user, sys int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return 0, 0, 0, fmt.Errorf("malformed stat %q", b)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, 0, fmt.Errorf("malformed stat %q", b)
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, fmt.Errorf("malformed stat %q", b)
	}
	return ppid, ut, st, nil
}

// systemBusy returns the CPU time all cores have spent on anything but
// idling since boot, the hypervisor's steal included: on a VM a
// neighbour's load is noise as much as another process's.
func systemBusy() (time.Duration, error) {
	st, ok := cputime.ReadStat()
	if !ok {
		return 0, errors.New("/proc/stat: unreadable")
	}
	return st.Busy + st.Steal, nil
}

// noise measures the CPU that processes other than this one and its
// children use while it runs: on a shared machine, the part of the
// numbers that is not ours.
type noise struct {
	start time.Time
	busy  time.Duration
	mine  cpuTime
}

func startNoise() noise {
	n := noise{start: time.Now()}
	n.busy, _ = systemBusy()
	n.mine, _ = processCPU(os.Getpid())
	return n
}

// cores returns the other processes' mean CPU use since start, in cores.
func (n noise) cores() float64 {
	busy, err1 := systemBusy()
	mine, err2 := processCPU(os.Getpid())
	el := time.Since(n.start).Seconds()
	if err1 != nil || err2 != nil || el <= 0 {
		return 0
	}
	return max(0, (busy-n.busy-mine.sub(n.mine).total()).Seconds()/el)
}

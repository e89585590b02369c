package proxybench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// setupPinning pins this process (every thread) to loadCore with
// GOMAXPROCS 1 and returns how to pin proxies and how to undo it, or a note
// saying why it does not pin.
func setupPinning() (pinning, func(), string) {
	none := func() {}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return pinning{}, none, "not pinned: taskset not found (apt-get install util-linux)"
	}
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return pinning{}, none, "not pinned: " + err.Error()
	}
	if !old.IsSet(loadCore) || !old.IsSet(proxyCore) {
		return pinning{}, none, fmt.Sprintf("not pinned: cores %d and %d are not both available", loadCore, proxyCore)
	}
	var set unix.CPUSet
	set.Set(loadCore)
	if err := setAllThreads(&set); err != nil {
		_ = setAllThreads(&old)
		return pinning{}, none, "not pinned: " + err.Error()
	}
	procs := runtime.GOMAXPROCS(1)
	restore := func() {
		runtime.GOMAXPROCS(procs)
		_ = setAllThreads(&old)
	}
	return pinning{taskset: ts}, restore, fmt.Sprintf("pinned: proxy on core %d (taskset), load generator and upstream on core %d (GOMAXPROCS 1)", proxyCore, loadCore)
}

// setAllThreads sets the affinity of every thread of this process; threads
// created later inherit it from their creator.
func setAllThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	return nil
}

package load

import (
	"time"

	"golang.org/x/sys/unix"
)

// kernelSleep blocks the calling thread in the kernel for d: the kernel's
// timers wake it within its timer slack (50µs by default), where the Go
// runtime's, with every thread idle, wait in its network poller for whole
// milliseconds.
func kernelSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

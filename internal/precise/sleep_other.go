//go:build !linux

package precise

import "time"

// kernelSleep is time.Sleep where no timerfd is wired in.
func kernelSleep(d time.Duration) { time.Sleep(d) }

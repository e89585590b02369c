//go:build !linux

package load

import "time"

// kernelSleep is time.Sleep where no precise kernel sleep is wired in.
func kernelSleep(d time.Duration) { time.Sleep(d) }

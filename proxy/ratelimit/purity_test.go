package ratelimit

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/purity"
)

// TestPurity keeps the package a pure state machine that is told the time:
// no clock reads, sleeps, goroutines, channels, I/O or global randomness.
func TestPurity(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		// Methods of rate.Limiter and rate.Reservation that read the clock
		// themselves; the bucket uses only AllowN(t, n) and TokensAt(t).
		ClockMethods: map[string]int{"Allow": 0, "Reserve": 0, "Tokens": 0, "Delay": 0, "Cancel": 0,
			"Wait": -1, "WaitN": -1, "SetLimit": -1, "SetBurst": -1},
	})
}

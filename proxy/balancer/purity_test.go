package balancer

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/purity"
)

// TestPurity keeps the package a pure state machine that is told the time:
// no clock reads, sleeps, goroutines, channels, I/O or global randomness.
func TestPurity(t *testing.T) {
	purity.Check(t, ".", purity.Rules{})
}

package lifecycle

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/purity"
)

// TestPurity keeps the lifecycle a pure state machine that is told the
// time, as the policies it composes: no clock reads, sleeps, goroutines,
// channels, I/O or global randomness.
func TestPurity(t *testing.T) {
	purity.Check(t, ".", purity.Rules{})
}

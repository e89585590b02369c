package quota

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/purity"
)

// TestPurity keeps the package a pure state machine that is told the time.
func TestPurity(t *testing.T) {
	purity.Check(t, ".", purity.Rules{})
}

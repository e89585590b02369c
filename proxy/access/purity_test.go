package access

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/purity"
)

// TestPurity keeps the package a pure policy: no clock, I/O or goroutines.
func TestPurity(t *testing.T) {
	purity.Check(t, ".", purity.Rules{})
}

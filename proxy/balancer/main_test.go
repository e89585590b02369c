package balancer

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines; the concurrency test does, and must
// leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package k8senv

import (
	"testing"

	"go.uber.org/goleak"
)

// Each control-plane process is reaped by one goroutine, and client-go
// keeps connections and watches; none may outlive Stop and the test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

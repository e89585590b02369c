package reports

import (
	"testing"

	"go.uber.org/goleak"
)

// Plots render on several goroutines; none may outlive a render.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

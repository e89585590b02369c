package docker

import (
	"fmt"
	"path"
	"strings"
	"testing"
)

// TestDockerfileAgreesWithConstants keeps the Dockerfile and the constants
// the backend relies on in step.
func TestDockerfileAgreesWithConstants(t *testing.T) {
	df := string(Dockerfile)
	for _, c := range []struct {
		name, want string
	}{
		{"starts from scratch", "\nFROM scratch\n"},
		{"exposes Port", fmt.Sprintf("\nEXPOSE %d\n", Port)},
		{"listens on Port", fmt.Sprintf("PAYMENTSVC_LISTEN=0.0.0.0:%d", Port)},
		{"keeps the ledger at LedgerPath", "PAYMENTSVC_LEDGER_PATH=" + LedgerPath},
		{"creates the ledger's directory", " " + path.Dir(LedgerPath) + "\n"},
		{"runs the static binary", `ENTRYPOINT ["/paymentsvc"]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(df, c.want) {
				t.Errorf("Dockerfile lacks %q", c.want)
			}
		})
	}
}

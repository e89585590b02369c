package proxybench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/secure"
)

// childEnv makes the test binary act as `meshbench proxy --config FILE`,
// so that Run's subprocess path is tested without building meshbench.
const childEnv = "PROXYBENCH_TEST_PROXY_CONFIG"

func TestMain(m *testing.M) {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(runChildProxy(file))
	}
	goleak.VerifyTestMain(m)
}

func runChildProxy(file string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := secure.NewFromFile(file, proxy.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childCommand runs this test binary as the meshbench proxy.
func childCommand(configFile string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{"env", childEnv + "=" + configFile, exe}, nil
}

package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// ErrNoDocker is returned (wrapped) when no Docker daemon answers. Callers
// test for it with errors.Is: the CLI turns it into exit status 2, the
// tests into a skip.
var ErrNoDocker = errors.New("no Docker daemon is reachable")

// Environment variables that testcontainers-go reads once, at its first
// use. meshbench's machines need both (see docs/architecture.md): the reaper image
// cannot be pulled, so containers are removed by meshbench itself, and
// testcontainers must not dial the default gateway when it detects that it
// runs inside a container.
const (
	envRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"
	envHostOverride = "TESTCONTAINERS_HOST_OVERRIDE"
)

var configureOnce sync.Once

// configure sets the testcontainers-go environment that meshbench needs,
// leaving any value the user has set alone, and silences the library's
// logger. Every entry point of the package calls it before any
// testcontainers-go call, because the library reads its configuration once.
func configure() {
	configureOnce.Do(func() {
		for k, v := range map[string]string{envRyukDisabled: "true", envHostOverride: "127.0.0.1"} {
			if _, set := os.LookupEnv(k); !set {
				_ = os.Setenv(k, v)
			}
		}
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// pingTimeout bounds the check that a daemon answers.
const pingTimeout = 5 * time.Second

// dial connects to the Docker daemon the way testcontainers-go does
// (DOCKER_HOST, the Docker context, or the default socket) and checks that
// it answers. The caller closes the client.
func dial(ctx context.Context) (*testcontainers.DockerClient, error) {
	configure()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return cli, nil
}

// Available reports whether a Docker daemon answers; the error says why
// not, and wraps ErrNoDocker.
func Available(ctx context.Context) error {
	cli, err := dial(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}

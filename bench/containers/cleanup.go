package containers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Removed counts what a cleanup removed.
type Removed struct {
	Containers int
	Networks   int
}

// RemoveRun removes every container and network labelled with run id
// (LabelRun), running or not; with id "", those of every meshbench run.
// It is how `meshbench fleet down` and the tests clean up, and how a run
// cleans up after itself. Errors from an unreachable daemon wrap
// ErrNoDocker.
func RemoveRun(ctx context.Context, id string) (Removed, error) {
	cli, err := dial(ctx)
	if err != nil {
		return Removed{}, err
	}
	defer cli.Close()
	return removeRun(ctx, cli, id)
}

// runFilter selects the objects of run id, or of every run when id is "".
func runFilter(id string) client.Filters {
	if id == "" {
		return make(client.Filters).Add("label", LabelRun)
	}
	return make(client.Filters).Add("label", LabelRun+"="+id)
}

func removeRun(ctx context.Context, cli client.APIClient, id string) (Removed, error) {
	var rm Removed
	var errs []error
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(id)})
	if err != nil {
		return rm, fmt.Errorf("list containers of run %q: %w", id, err)
	}
	// Concurrently: the daemon takes a while over each, mostly waiting.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, c := range list.Items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				rm.Containers++
			case cerrdefs.IsNotFound(err): // removed meanwhile
			default:
				errs = append(errs, fmt.Errorf("remove container %.12s: %w", c.ID, err))
			}
		})
	}
	wg.Wait()
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter(id)})
	if err != nil {
		return rm, errors.Join(append(errs, fmt.Errorf("list networks of run %q: %w", id, err))...)
	}
	for _, n := range nets.Items {
		_, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		switch {
		case err == nil:
			rm.Networks++
		case cerrdefs.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("remove network %s: %w%s", n.Name, err, staleEndpoint(ctx, cli, n.ID)))
		}
	}
	return rm, errors.Join(errs...)
}

// staleEndpoint explains a network that the daemon will not remove although
// no container is attached to it (and the run's containers are gone): a
// stale endpoint in the daemon's network store, which only a restart of
// the daemon clears (seen once in some sixty runs of an evening, Docker 28.2); ""
// when containers are attached or the network cannot be inspected.
func staleEndpoint(ctx context.Context, cli client.APIClient, id string) string {
	insp, err := cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	if err != nil || len(insp.Network.Containers) > 0 {
		return ""
	}
	return "; no container is attached to it: the daemon holds a stale endpoint, which restarting dockerd clears (then `meshbench fleet down` removes the network); the run's containers are gone"
}

package containers

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/meshbench/meshbench/bench/fleet"
)

// Status is one meshbench container as Docker and its /readyz see it.
type Status struct {
	// RunID, Name, Service and Replica come from the container's labels.
	RunID   string
	Name    string
	Service string
	Replica int
	// ContainerID is Docker's id.
	ContainerID string
	// State is Docker's: running, paused, exited, ...
	State string
	// URL is the replica's base URL on 127.0.0.1.
	URL string
	// Ready is true when GET /readyz answered 200 within probeTimeout.
	Ready bool
}

// Health is a short word for a container's health: ready, not-ready
// (running but not answering /readyz), or its Docker state.
func (s Status) Health() string {
	switch {
	case s.Ready:
		return "ready"
	case s.State == string(container.StateRunning):
		return "not-ready"
	default:
		return s.State
	}
}

// probeTimeout bounds one readiness probe of List.
const probeTimeout = time.Second

// List returns the containers of run id (every meshbench run when id is
// ""), sorted by run, service (in the order of the payment flow) and
// replica, with running ones probed on
// GET /readyz. Paused containers are not probed: they would not answer.
// Errors from an unreachable daemon wrap ErrNoDocker.
func List(ctx context.Context, id string) ([]Status, error) {
	cli, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter(id)})
	if err != nil {
		return nil, fmt.Errorf("list containers of run %q: %w", id, err)
	}
	out := make([]Status, len(list.Items))
	for i, c := range list.Items {
		s := Status{
			RunID:       c.Labels[LabelRun],
			Name:        c.Labels[LabelName],
			Service:     c.Labels[LabelService],
			ContainerID: c.ID,
			State:       string(c.State),
		}
		s.Replica, _ = strconv.Atoi(c.Labels[LabelReplica])
		if p := c.Labels[LabelPort]; p != "" {
			s.URL = "http://127.0.0.1:" + p
		}
		out[i] = s
	}
	probeAll(ctx, out)
	slices.SortFunc(out, func(a, b Status) int {
		if a.RunID != b.RunID {
			return cmp.Compare(a.RunID, b.RunID)
		}
		if a.Service != b.Service {
			return cmp.Or(cmp.Compare(roleOrder(a.Service), roleOrder(b.Service)), cmp.Compare(a.Service, b.Service))
		}
		return a.Replica - b.Replica
	})
	return out, nil
}

// roleOrder ranks a service by its role's place in the payment flow.
func roleOrder(service string) int {
	for i, r := range fleet.Roles() {
		if string(r) == service {
			return i
		}
	}
	return len(fleet.Roles())
}

// probeAll sets Ready on every running container that answers /readyz.
func probeAll(ctx context.Context, out []Status) {
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: probeTimeout}
	var wg sync.WaitGroup
	for i := range out {
		if out[i].State != string(container.StateRunning) || out[i].URL == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Ready = ready(ctx, hc, out[i].URL) == nil
		}()
	}
	wg.Wait()
}

// ready asks a replica's /readyz once.
func ready(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz answered %d", base, resp.StatusCode)
	}
	return nil
}

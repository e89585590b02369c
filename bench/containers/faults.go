package containers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// The faults of a running fleet. Process-level faults go through the
// Docker API, as an operator (or a chaos tool such as Pumba) would inject
// them; behaviour faults (slow, errors, latency) go through the replica's
// own /admin/fault, because only the process can change its service time.

// stopGrace is how long Stop and Restart let paymentsvc drain after
// SIGTERM before Docker sends SIGKILL.
const stopGrace = 2 * time.Second

// Kill sends SIGKILL to the replica's process: it dies at once, open
// connections are reset, and the published port refuses new ones. The
// container and its volume (the ledger's file) stay until Start.
func (f *Fleet) Kill(ctx context.Context, r *Replica) error {
	_, err := f.cli.ContainerKill(ctx, r.ContainerID, client.ContainerKillOptions{Signal: "KILL"})
	return opErr("kill", r, err)
}

// Stop stops the replica gracefully: SIGTERM, then SIGKILL after stopGrace.
func (f *Fleet) Stop(ctx context.Context, r *Replica) error {
	secs := int(stopGrace / time.Second)
	_, err := f.cli.ContainerStop(ctx, r.ContainerID, client.ContainerStopOptions{Timeout: &secs})
	return opErr("stop", r, err)
}

// Start starts a stopped or killed replica again, on the same published
// port, with its ledger file as it was. It does not wait for readiness;
// see WaitReady.
func (f *Fleet) Start(ctx context.Context, r *Replica) error {
	_, err := f.cli.ContainerStart(ctx, r.ContainerID, client.ContainerStartOptions{})
	return opErr("start", r, err)
}

// Restart stops the replica gracefully and starts it again.
func (f *Fleet) Restart(ctx context.Context, r *Replica) error {
	secs := int(stopGrace / time.Second)
	_, err := f.cli.ContainerRestart(ctx, r.ContainerID, client.ContainerRestartOptions{Timeout: &secs})
	return opErr("restart", r, err)
}

// Pause freezes the replica's processes (the cgroup freezer): connections
// stay open, requests are accepted by the kernel and not answered.
func (f *Fleet) Pause(ctx context.Context, r *Replica) error {
	_, err := f.cli.ContainerPause(ctx, r.ContainerID, client.ContainerPauseOptions{})
	return opErr("pause", r, err)
}

// Unpause thaws a paused replica; the requests it held proceed.
func (f *Fleet) Unpause(ctx context.Context, r *Replica) error {
	_, err := f.cli.ContainerUnpause(ctx, r.ContainerID, client.ContainerUnpauseOptions{})
	return opErr("unpause", r, err)
}

// State returns Docker's state of the replica's container: running,
// paused, exited, ...
func (f *Fleet) State(ctx context.Context, r *Replica) (string, error) {
	res, err := f.cli.ContainerInspect(ctx, r.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return "", opErr("inspect", r, err)
	}
	if res.Container.State == nil {
		return "", fmt.Errorf("inspect %s: no state", r.Name())
	}
	return string(res.Container.State.Status), nil
}

// SetFault merges a fault into the replica's current one through POST
// /admin/fault (see fleet.Fault for the keys; null clears a key).
func (f *Fleet) SetFault(ctx context.Context, r *Replica, patch []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/admin/fault", bytes.NewReader(patch))
	if err != nil {
		return opErr("set fault", r, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.admin.Do(req)
	if err != nil {
		return opErr("set fault", r, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("set fault %s on %s: %d %s", patch, r.Name(), resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// WaitReady polls the replica's /readyz until it answers 200 or ctx ends.
func (f *Fleet) WaitReady(ctx context.Context, r *Replica) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := ready(pctx, f.admin, r.URL)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last probe: %v)", r.Name(), ctx.Err(), err)
		case <-t.C:
		}
	}
}

func opErr(op string, r *Replica, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s (container %.12s): %w", op, r.Name(), r.ContainerID, err)
}

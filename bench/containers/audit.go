package containers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/moby/moby/api/types/container"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// Heal undoes every fault left on the fleet: paused replicas are
// unpaused, stopped or killed ones started, behaviour faults cleared; then
// it waits until every replica is ready. A run heals before its audit, so
// that a ledger replica killed to the end still shows what it recorded
// (its file is in the container's volume).
func (f *Fleet) Heal(ctx context.Context) error {
	errs := make([]error, len(f.Replicas))
	var wg sync.WaitGroup
	for i, r := range f.Replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.heal(ctx, r)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (f *Fleet) heal(ctx context.Context, r *Replica) error {
	state, err := f.State(ctx, r)
	if err != nil {
		return err
	}
	switch container.ContainerState(state) {
	case container.StatePaused:
		err = f.Unpause(ctx, r)
	case container.StateExited, container.StateCreated, container.StateDead:
		err = f.Start(ctx, r)
	}
	if err != nil {
		return err
	}
	if err := f.WaitReady(ctx, r); err != nil {
		return err
	}
	return f.SetFault(ctx, r, []byte(`{"latency":null,"slow":null,"errorRate":null,"errorStatus":null,"hang":null}`))
}

// Audit reads every ledger replica's records and checks their union
// against the payments clients saw acknowledged (fleet.Listing.Audit):
// with several ledger replicas, a payment recorded by two of them is a
// duplicate, as it would be in money. Every ledger replica must be
// running; Heal first.
func (f *Fleet) Audit(ctx context.Context, acks []fleet.Ack) (bench.Audit, error) {
	ledgers := f.Service(string(fleet.RoleLedger))
	if len(ledgers) == 0 {
		return bench.Audit{}, fmt.Errorf("audit: the fleet has no ledger")
	}
	var all fleet.Listing
	for _, r := range ledgers {
		l, err := fleet.FetchLedger(ctx, f.admin, r.URL)
		if err != nil {
			return bench.Audit{}, fmt.Errorf("audit %s: %w", r.Name(), err)
		}
		all.Entries = append(all.Entries, l.Entries...)
		all.DuplicatesRefused += l.DuplicatesRefused
	}
	all.Count = len(all.Entries)
	return all.Audit(acks), nil
}

package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// audit checks the ledger against the payments the clients saw
// acknowledged (fleet.Listing.Audit). The ledger's replicas each hold the
// keys hashed to them, so their listings are read and audited as one; a
// ledger replica that is down at the end is started again on its file to
// be read. It returns errNoLedger when the topology has no ledger role.
func (e *env) audit(ctx context.Context, acks []fleet.Ack) (*bench.Audit, error) {
	s := e.byName[string(fleet.RoleLedger)]
	if s == nil || s.generic || s.role != fleet.RoleLedger {
		return nil, errNoLedger
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, scheme, err := e.auditClient()
	if err != nil {
		return nil, err
	}
	var all fleet.Listing
	var errs []error
	for _, r := range s.reps {
		if !r.up() {
			if err := r.start(); err != nil {
				errs = append(errs, fmt.Errorf("audit: %w", err))
				continue
			}
		}
		l, err := fleet.FetchLedger(ctx, client, scheme+r.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("audit %s: %w", r.name, err))
			continue
		}
		all.Entries = append(all.Entries, l.Entries...)
		all.DuplicatesRefused += l.DuplicatesRefused
	}
	all.Count = len(all.Entries)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := all.Audit(acks)
	return &a, nil
}

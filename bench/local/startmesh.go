package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// Mesh is the data plane of a variant of a plan, as the local backend runs
// it: the gateway (the scenario's routes under the variant's policy,
// counting each request's tries), a sidecar per replica that calls others,
// and the network's hops when the plan asks for latency. It is what
// StartMesh returns; the local backend runs its own fleet behind the very
// same mapping.
type Mesh struct {
	e *env
}

// Downstream are the base URLs through which a payments replica calls
// risk, fraud and ledger: its sidecar, routing by the path's first
// segment (http://ADDR/risk).
type Downstream struct {
	Risk, Fraud, Ledger string
	// GRPC are the callees with protocol grpc, called over gRPC at their
	// URL (the sidecar, without a path; the call's :authority names the
	// callee).
	GRPC []fleet.Role
}

// StartMesh starts the data plane of variant of plan in front of replicas
// that run elsewhere: endpoints lists, by service, every replica of the
// topology, named by instance ("payments[0]") with the address the data
// plane dials. Each replica that calls other services gets a sidecar on
// listen(replica); the gateway listens on 127.0.0.1. Only mesh: sidecar is
// supported (a proxyless proxy lives inside the replica). On error,
// everything started is stopped.
func StartMesh(ctx context.Context, plan *scenarios.Plan, variant int, seed uint64,
	endpoints map[string][]discovery.Endpoint, listen func(replica string) (net.Listener, error)) (_ *Mesh, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if endpoints == nil || listen == nil {
		return nil, errors.New("local: StartMesh needs endpoints and listen")
	}
	// omitKeys configures in-process replicas only; these run elsewhere.
	e, err := newEnv(plan, variant, seed, false)
	if err != nil {
		return nil, fmt.Errorf("local: mesh: %w", err)
	}
	e.listen = listen
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if err := e.buildServices(endpoints); err != nil {
		return nil, fmt.Errorf("local: mesh: %w", err)
	}
	if err := e.startDataPlane(); err != nil {
		return nil, fmt.Errorf("local: mesh: %w", err)
	}
	return &Mesh{e: e}, nil
}

// GatewayURL is the gateway's base URL, on 127.0.0.1.
func (m *Mesh) GatewayURL() string { return "http://" + m.e.gwAddr }

// Attempts reports and forgets the gateway's retries and hedges of the
// request with this X-Request-Id (load.Attempts).
func (m *Mesh) Attempts(requestID string) (retries, hedges int) { return m.e.tries.take(requestID) }

// Timeout is the longest time the gateway may take over a request: the
// longest route timeout, 0 when some route has none.
func (m *Mesh) Timeout() time.Duration { return m.e.timeout() }

// Downstream is where replica's sidecar listens; zero for a replica
// without one.
func (m *Mesh) Downstream(replica string) Downstream { return m.e.downstream[replica] }

// Partition returns what cuts and what restores the hops of the plan's
// fault number fault, a partition, as the local backend's timeline does:
// every hop between the fault's target and its peer (or everything else),
// both ways, held open by toxiproxy's timeout toxic. The mesh has its
// network whenever the plan has a partition.
func (m *Mesh) Partition(fault int) (cut, restore func() error, err error) {
	if fault < 0 || fault >= len(m.e.plan.Faults) || m.e.plan.Faults[fault].Action != scenarios.ActionPartition {
		return nil, nil, fmt.Errorf("fault %d is not a partition", fault)
	}
	return m.e.partition(fault, m.e.plan.Faults[fault])
}

// Close stops the gateway, the sidecars and the network, and every
// in-process replica.
func (m *Mesh) Close() error {
	m.e.close()
	return nil
}

package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/internal/cputime"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// Backend is the containers backend: one variant of a plan with the
// payment fleet in Docker (see the package documentation), the real proxy
// in front of it on the host, the faults injected through Docker and the
// replicas' admin endpoints, and vegeta offering the load (bench/load).
// Runs share the machine and the daemon, so they run one at a time
// (Backend is not Parallel). Register it with bench.Register(containers.Backend{}).
type Backend struct {
	// Mesh builds the data plane in front of the fleet. Nil: DefaultMesh.
	Mesh MeshBuilder
	// Image says where the fleet image's binary comes from.
	Image ImageOptions

	runID string // the run's label (tests); empty: a fresh NewRunID
	image string // the image's tag (tests); empty: built from Image
}

// DataPlane is the real proxy in front of a containerised fleet, running
// in this process: the gateway the load is offered to, and the sidecars
// through which payments calls risk, fraud and ledger.
type DataPlane interface {
	// GatewayURL is the gateway's base URL on 127.0.0.1.
	GatewayURL() string
	// Attempts reports and forgets the gateway's retries and hedges of the
	// request with this X-Request-Id (load.Attempts).
	Attempts(requestID string) (retries, hedges int)
	// Timeout is the longest time the gateway may take over a request; 0
	// when a route has no timeout.
	Timeout() time.Duration
	// Downstream is where a payments replica calls risk, fraud and ledger:
	// its sidecar, on a listener opened with the MeshBuilder's listen.
	Downstream(replica string) DownstreamURLs
	// Close stops the gateway and the sidecars. Run calls it after the
	// fleet is removed.
	Close() error
}

// MeshBuilder starts the data plane of plan's variant in front of the
// replicas at endpoints (by service, each endpoint's ID the replica's name
// and its Address a published port on 127.0.0.1). A replica that calls
// others gets a sidecar listening on listen(replica): an address on the
// run's Docker network, so that the container reaches it. Everything the
// data plane dials is on 127.0.0.1.
type MeshBuilder func(plan *scenarios.Plan, variant int, seed uint64, endpoints map[string][]discovery.Endpoint, listen func(replica string) (net.Listener, error)) (DataPlane, error)

// DefaultMesh is the data plane of a Backend without one of its own: the
// local backend's plan-to-proxy mapping (local.StartMesh), so the same
// gateway, sidecars and policies stand in front of containers as in front
// of in-process replicas. Nil makes a run fail with errNoMesh.
var DefaultMesh MeshBuilder = localMesh

// localMesh adapts local.StartMesh to MeshBuilder.
func localMesh(plan *scenarios.Plan, variant int, seed uint64, endpoints map[string][]discovery.Endpoint, listen func(string) (net.Listener, error)) (DataPlane, error) {
	m, err := local.StartMesh(context.Background(), plan, variant, seed, endpoints, listen)
	if err != nil {
		return nil, err
	}
	return localPlane{m}, nil
}

// localPlane is a local.Mesh as a DataPlane.
type localPlane struct{ *local.Mesh }

func (p localPlane) Downstream(replica string) DownstreamURLs {
	d := p.Mesh.Downstream(replica)
	return DownstreamURLs{Risk: d.Risk, Fraud: d.Fraud, Ledger: d.Ledger, GRPC: d.GRPC}
}

// errNoMesh is returned by a run without a data plane.
var errNoMesh = errors.New("no data plane: the containers backend runs the gateway and sidecars of bench/local (local.StartMesh) in front of the fleet, and none was given")

// Name is "containers", as scenarios and --backend spell it.
func (Backend) Name() string { return scenarios.BackendContainers }

// healTimeout bounds bringing the fleet back and reading the ledgers after
// the load.
const healTimeout = 90 * time.Second

// Run builds (or reuses) the fleet image, starts job's fleet in Docker and
// the data plane in front of it, offers the plan's load while the fault
// timeline runs, heals the fleet and audits the ledgers, and removes every
// container and the network it started, on success, on error and when ctx
// is cancelled alike. Results go to sink, and vegeta's own records to
// job.Raw as "containers/VARIANT/REPEAT".
func (b Backend) Run(ctx context.Context, job bench.Job, sink bench.Sink) (out bench.Outcome, err error) {
	plan := job.Plan
	if plan == nil {
		return out, errors.New("containers: job has no plan")
	}
	if job.Variant < 0 || job.Variant >= len(plan.Variants) {
		return out, fmt.Errorf("containers: variant %d out of range", job.Variant)
	}
	mesh := b.Mesh
	if mesh == nil {
		mesh = DefaultMesh
	}
	if mesh == nil {
		return out, fmt.Errorf("containers: %w", errNoMesh)
	}
	variant := plan.Variants[job.Variant]
	spec, err := SpecFromPlan(plan, job.Seed)
	if err != nil {
		return out, fmt.Errorf("containers: %w", err)
	}
	if load.OmitsIdempotencyKeys(plan) {
		for _, r := range spec.Replicas {
			r.Env["PAYMENTSVC_REQUIRE_IDEMPOTENCY_KEY"] = "false"
		}
	}
	spec.ImageOptions = b.Image
	spec.RunID, spec.Image = b.runID, b.image

	f, err := Prepare(ctx, spec)
	if err != nil {
		return out, fmt.Errorf("containers: %w", err)
	}
	var dp DataPlane
	defer func() {
		// The fleet goes first: its payments containers hold connections
		// to the sidecars, which a graceful shutdown would wait for.
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("containers: cleanup: %w", cerr))
		}
		if dp == nil {
			return
		}
		if cerr := dp.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("containers: data plane: %w", cerr))
		}
	}()
	dp, err = mesh(plan, job.Variant, job.Seed, f.Endpoints(), func(string) (net.Listener, error) {
		return net.Listen("tcp", net.JoinHostPort(f.HostAddr.String(), "0"))
	})
	if err != nil {
		dp = nil // a failed builder cleans up after itself
		return out, fmt.Errorf("containers: data plane: %w", err)
	}
	if p, ok := dp.(Partitioner); ok {
		f.Partitions = p
	}
	steps, err := Timeline(plan, f)
	if err != nil {
		return out, fmt.Errorf("containers: %w", err)
	}
	f.Downstream = func(r ReplicaSpec) DownstreamURLs { return dp.Downstream(r.Name()) }
	if err := f.Launch(ctx); err != nil {
		return out, fmt.Errorf("containers: %w", err)
	}

	run := load.Drive{
		Load: load.Config{
			Target:   dp.GatewayURL(),
			Plan:     plan,
			Seed:     job.Seed,
			Attack:   fmt.Sprintf("%s/%s/%d", scenarios.BackendContainers, variant.Name, job.Repeat),
			Timeout:  load.ClientTimeout(dp.Timeout()),
			Attempts: dp.Attempts,
			Sink:     sink,
			Raw:      job.Raw,
		},
		Timeline: func(ctx context.Context, epoch time.Time) error {
			if c, ok := dp.(interface{ StartClock(time.Time) }); ok {
				c.StartClock(epoch) // the gateway's quota calendar
			}
			return f.RunTimeline(ctx, epoch, steps)
		},
		Progress: job.Progress,
		// The run's stack spans processes (this one's data plane and load
		// generator, every replica, Docker's proxy of each published port)
		// and the kernel's bridge: the whole machine's CPU is what it
		// spent, with whatever else the machine ran meanwhile (none
		// where that cannot be read).
		CPU: cputime.MachineClock(),
	}.Run(ctx)
	rep, loadErr, faultErr := run.Report, run.LoadErr, run.FaultErr
	out.End, out.CPU = run.End, run.CPU
	hctx, stop := context.WithTimeout(context.WithoutCancel(ctx), healTimeout)
	defer stop()
	audit, auditErr := f.healAndAudit(hctx, rep.Acks)
	out.Audit = audit
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if err := errors.Join(loadErr, faultErr, auditErr); err != nil {
		return out, fmt.Errorf("containers: %w", err)
	}
	return out, nil
}

// healAndAudit brings the fleet back and audits its ledgers; nil when the
// topology has no ledger.
func (f *Fleet) healAndAudit(ctx context.Context, acks []fleet.Ack) (*bench.Audit, error) {
	if err := f.Heal(ctx); err != nil {
		return nil, fmt.Errorf("heal before the audit: %w", err)
	}
	if len(f.Service(string(fleet.RoleLedger))) == 0 {
		return nil, nil
	}
	a, err := f.Audit(ctx, acks)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

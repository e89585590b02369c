package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/internal/cputime"
	"github.com/meshbench/meshbench/scenarios"
)

// Backend is the local backend: one variant of a plan run for real on
// this machine, on loopback — the payment fleet in process, the real
// gateway and mesh in front of it, the faults injected for real, and
// vegeta offering the load. Runs share the machine, so they run one at a
// time (Backend is not Parallel). Register it with
// bench.Register(local.Backend{}).
type Backend struct{}

// Name is "local", as scenarios and --backend spell it.
func (Backend) Name() string { return scenarios.BackendLocal }

// Run starts the fleet of job's variant, offers the plan's load for the
// plan's duration while the fault timeline runs, audits the ledger, and
// stops everything it started, on success, on error and when ctx is
// cancelled alike. job.Plan is the variant's plan: its load is what this
// variant is offered, and when a payment workload of it sends no
// Idempotency-Key, payments accepts requests without one. Results go to
// sink, and, when job.Raw is set, vegeta's own records to the run's
// results file as "local/VARIANT/REPEAT".
func (Backend) Run(ctx context.Context, job bench.Job, sink bench.Sink) (bench.Outcome, error) {
	plan := job.Plan
	if plan == nil {
		return bench.Outcome{}, errors.New("local: job has no plan")
	}
	if job.Variant < 0 || job.Variant >= len(plan.Variants) {
		return bench.Outcome{}, fmt.Errorf("local: variant %d out of range", job.Variant)
	}
	variant := plan.Variants[job.Variant]
	if err := ctx.Err(); err != nil {
		return bench.Outcome{}, err
	}
	e, err := start(plan, job.Variant, job.Seed, load.OmitsIdempotencyKeys(plan))
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("local: %w", err)
	}
	mesh := &Mesh{e: e}
	defer mesh.Close()
	steps, err := e.timeline()
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("local: %w", err)
	}

	run := load.Drive{
		Load: load.Config{
			Target:   mesh.GatewayURL(),
			Plan:     plan,
			Seed:     job.Seed,
			Attack:   fmt.Sprintf("%s/%s/%d", scenarios.BackendLocal, variant.Name, job.Repeat),
			Timeout:  load.ClientTimeout(mesh.Timeout()),
			Attempts: mesh.Attempts,
			Sink:     sink,
			Raw:      job.Raw,
		},
		Timeline: func(ctx context.Context, epoch time.Time) error {
			mesh.StartClock(epoch)
			return runTimeline(ctx, epoch, steps)
		},
		Progress: job.Progress,
		CPU:      cputime.Self, // everything the run starts runs in this process
	}.Run(ctx)
	rep, loadErr, faultErr := run.Report, run.LoadErr, run.FaultErr
	out := bench.Outcome{End: run.End, CPU: run.CPU}
	auditCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	audit, auditErr := e.audit(auditCtx, rep.Acks)
	if errors.Is(auditErr, errNoLedger) {
		auditErr = nil
	}
	out.Audit = audit
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if err := errors.Join(loadErr, faultErr, auditErr); err != nil {
		return out, fmt.Errorf("local: %w", err)
	}
	return out, nil
}

package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/load"
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

// progressEvery is how often Run reports its progress.
const progressEvery = 250 * time.Millisecond

// clientMargin is how much longer than the gateway's longest timeout the
// load generator waits for an answer, so that the gateway answers first.
const clientMargin = 5 * time.Second

// Run starts the fleet of job's variant, offers the plan's load for the
// plan's duration while the fault timeline runs, audits the ledger, and
// stops everything it started, on success, on error and when ctx is
// cancelled alike. Results go to sink, and, when job.Raw is set, vegeta's
// own records to the run's results file as "local/VARIANT/REPEAT".
func (Backend) Run(ctx context.Context, job bench.Job, sink bench.Sink) (bench.Outcome, error) {
	plan := job.Plan
	if plan == nil {
		return bench.Outcome{}, errors.New("local: job has no plan")
	}
	if job.Variant < 0 || job.Variant >= len(plan.Variants) {
		return bench.Outcome{}, fmt.Errorf("local: variant %d out of range", job.Variant)
	}
	variant := plan.Variants[job.Variant]
	omit := OmitsIdempotencyKeys(variant)
	if err := ctx.Err(); err != nil {
		return bench.Outcome{}, err
	}
	e, err := start(plan, job.Variant, job.Seed, omit)
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("local: %w", err)
	}
	mesh := &Mesh{e: e}
	defer mesh.Close()
	steps, err := e.timeline()
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("local: %w", err)
	}

	timeout := load.DefaultTimeout
	if t := mesh.Timeout(); t > 0 {
		timeout = t + clientMargin
	}
	epoch := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		bg       sync.WaitGroup
		faultErr error
	)
	bg.Go(func() { faultErr = runTimeline(runCtx, epoch, steps) })
	if job.Progress != nil {
		bg.Go(func() { reportProgress(runCtx, epoch, plan.Duration, job.Progress) })
	}
	rep, loadErr := load.Run(ctx, load.Config{
		Target:              mesh.GatewayURL(),
		Plan:                plan,
		Seed:                job.Seed,
		Attack:              fmt.Sprintf("%s/%s/%d", scenarios.BackendLocal, variant.Name, job.Repeat),
		Epoch:               epoch,
		OmitIdempotencyKeys: omit,
		Timeout:             timeout,
		Attempts:            mesh.Attempts,
		Sink:                sink,
		Raw:                 job.Raw,
	})
	// The timeline ends at the plan's duration even when the load ends
	// sooner, so that every fault step is applied.
	waitUntil(ctx, epoch.Add(plan.Duration))
	cancel()
	bg.Wait()

	out := bench.Outcome{End: plan.Duration}
	if ctx.Err() != nil {
		out.End = min(time.Since(epoch), plan.Duration)
	}
	if job.Progress != nil {
		job.Progress(out.End)
	}
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

// OmitsIdempotencyKeys reports whether a variant's clients send payments
// without Idempotency-Key: variants whose name contains
// "no-idempotency-keys". The scenario format has no field for the clients'
// behaviour yet; this naming convention stands in for one. Payments then
// accepts requests without a key and gives each a fresh one, so retries
// charge again, and the audit shows it.
func OmitsIdempotencyKeys(v scenarios.Variant) bool {
	return strings.Contains(v.Name, "no-idempotency-keys")
}

// reportProgress calls progress every progressEvery until ctx ends.
func reportProgress(ctx context.Context, epoch time.Time, d time.Duration, progress func(time.Duration)) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			progress(min(time.Since(epoch), d))
		}
	}
}

// waitUntil waits until t or until ctx ends.
func waitUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

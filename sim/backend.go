package sim

import (
	"context"
	"fmt"

	"github.com/meshbench/meshbench/bench"
)

// Backend is the simulator as a bench.Backend: it runs one variant of a plan
// in virtual time and emits one bench.Result per client request. Runs are
// independent and deterministic, so it reports Parallel. Register it with
// bench.Register(sim.Backend{}).
type Backend struct{}

// Name is "sim", as scenarios and --backend spell it.
func (Backend) Name() string { return "sim" }

// Parallel reports true: each run is a self-contained computation on one
// goroutine.
func (Backend) Parallel() bool { return true }

// Run simulates job and records every request's Result in sink. It returns
// when the timeline ends (Outcome.End is the plan's duration; requests in
// flight at the end are answered or time out before Run returns, see the
// package comment), or early with ctx.Err() when ctx is cancelled.
func (Backend) Run(ctx context.Context, job bench.Job, sink bench.Sink) (bench.Outcome, error) {
	if job.Plan == nil {
		return bench.Outcome{}, fmt.Errorf("sim: job has no plan")
	}
	s, err := specFromPlan(job.Plan, job.Variant, job.Seed)
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("sim: %w", err)
	}
	s.calib = newCalib(job.Plan, job.Seed, &s.policy)
	m, err := build(s, sink)
	if err != nil {
		return bench.Outcome{}, fmt.Errorf("sim: %w", err)
	}
	m.markWindow(job.Plan.Warmup)
	m.start()
	end, err := m.run(ctx, job.Progress)
	return bench.Outcome{End: end, CPU: m.host.spent()}, err
}

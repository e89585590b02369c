package load

import (
	"context"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/internal/cputime"
)

// ClientMargin is how much longer than the data plane's longest timeout the
// load waits for an answer, so that the gateway, not the client, times out.
const ClientMargin = 5 * time.Second

// progressEvery is how often Drive reports progress.
const progressEvery = 250 * time.Millisecond

// ClientTimeout is the load's timeout for a data plane whose longest request
// timeout is gateway: that plus ClientMargin, or DefaultTimeout when the
// gateway has none.
func ClientTimeout(gateway time.Duration) time.Duration {
	if gateway > 0 {
		return gateway + ClientMargin
	}
	return DefaultTimeout
}

// Drive is one run of a real backend: the load and the fault timeline side
// by side, from one epoch.
type Drive struct {
	// Load is the load to offer; its Epoch is set by Drive.
	Load Config
	// Timeline applies the plan's faults, from epoch, until its ctx ends.
	Timeline func(ctx context.Context, epoch time.Time) error
	// Progress, when not nil, is told how far through the timeline the run is.
	Progress func(elapsed time.Duration)
	// CPU, when not nil, is a clock of the CPU time the measured system
	// has spent (cputime.Self for a backend that runs in this process):
	// Drive reads it at the end of the warm-up and at the end of the load,
	// and reports the difference as Outcome.CPU.
	CPU func() time.Duration
}

// Outcome is what Drive measured besides the results it sent to the sink.
type Outcome struct {
	Report Report
	// End is how far the timeline got: the plan's duration unless ctx ended.
	End time.Duration
	// LoadErr and FaultErr are the load's and the timeline's own errors.
	LoadErr, FaultErr error
	// CPU is what Drive.CPU's clock advanced by from the end of the
	// warm-up to the end of the load (or to where ctx ended the run); nil
	// without a clock, or when the run ended inside its warm-up.
	CPU *bench.CPUSpent
}

// Run offers d.Load while d.Timeline runs from the same epoch. The timeline
// runs to the plan's end even when the load ends sooner, so that every fault
// step is applied; ctx ending stops both.
func (d Drive) Run(ctx context.Context) Outcome {
	plan := d.Load.Plan
	epoch := time.Now()
	d.Load.Epoch = epoch
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		bg  sync.WaitGroup
		out Outcome
	)
	if d.Timeline != nil {
		bg.Go(func() { out.FaultErr = d.Timeline(runCtx, epoch) })
	}
	if d.Progress != nil {
		bg.Go(func() { reportProgress(runCtx, epoch, plan.Duration, d.Progress) })
	}
	if d.CPU != nil {
		bg.Go(func() { out.CPU = cpuWindow(runCtx, epoch.Add(plan.Warmup), d.CPU) })
	}
	out.Report, out.LoadErr = Run(ctx, d.Load)
	waitUntil(ctx, epoch.Add(plan.Duration))
	cancel()
	bg.Wait()

	out.End = plan.Duration
	if ctx.Err() != nil {
		out.End = min(time.Since(epoch), plan.Duration)
	}
	if d.Progress != nil {
		d.Progress(out.End)
	}
	return out
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

// cpuWindow reads clock at from and again when ctx ends (Run ends it at
// the end of the load): the CPU spent over the measured window, and what
// the rest of the machine spent beside it.
func cpuWindow(ctx context.Context, from time.Time, clock func() time.Duration) *bench.CPUSpent {
	waitUntil(ctx, from)
	if ctx.Err() != nil {
		return nil
	}
	start := clock()
	st0, ok0 := cputime.ReadStat()
	<-ctx.Done()
	out := &bench.CPUSpent{Used: clock() - start, Span: time.Since(from)}
	if st1, ok1 := cputime.ReadStat(); ok0 && ok1 {
		out.Beside = beside(st0, st1, out.Used)
	}
	return out
}

// beside is what the rest of the machine spent between two readings of
// its times while the measured system spent used. The machine's 10 ms
// ticks are coarser than a process's clock, so neither goes below 0.
func beside(st0, st1 cputime.Stat, used time.Duration) *bench.Beside {
	return &bench.Beside{Other: max(0, st1.Busy-st0.Busy-used), Steal: max(0, st1.Steal-st0.Steal)}
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

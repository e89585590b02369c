package bench

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/meshbench/meshbench/internal/suggest"
	"github.com/meshbench/meshbench/scenarios"
)

// RunOptions says what of a plan to run and how.
type RunOptions struct {
	// Backends to run, in order; empty means the plan's own list.
	Backends []string
	// Variants to run by name; empty means all of them.
	Variants []string
	// Repeat runs each backend × variant this many times with different
	// seeds (repeat 0 uses the plan's seed); 0 means 1.
	Repeat int
	// Workers bounds how many runs of a Parallel backend execute at once;
	// 0 means GOMAXPROCS.
	Workers int
	// BucketWidth is the width of each run's time buckets (default 1s).
	BucketWidth time.Duration
	// MaxScheduleLag bounds a run's p99 schedule lag: a run whose load
	// generator sent its open-loop requests later than this at the 99th
	// percentile is marked untrustworthy (0: DefaultMaxScheduleLag).
	MaxScheduleLag time.Duration
	// Progress, when not nil, is told how far job number i (in Jobs order)
	// has got through its timeline. It may be called from several goroutines.
	Progress func(i int, elapsed time.Duration)
	// Observe, when not nil, watches each job's time buckets as the run
	// goes and each job's summary when it ends (see Observer). Without
	// it the recording path is the aggregator alone.
	Observe Observer
	// Dir is the run folder. When set, every job is told it (Job.Dir), and
	// the backends' raw records go to Dir/results.bin (Job.Raw), a file
	// created on the first record only.
	Dir string
	// Results makes every backend write its records to Dir/results.bin:
	// the real backends always do (RawRecorder); with Results the runner
	// also writes a vegeta record (VegetaResult, on VirtualEpoch) of each
	// Result of the others (the simulator), job after job in Jobs order.
	Results bool
}

// Jobs lists the runs that opts selects from plan, in the order their
// summaries appear in summary.json: backend, then variant, then repeat.
// Each job's plan is its variant's (scenarios.Plan.ForVariant): the load
// with the variant's overrides in place, so that every backend offers
// each variant its own load by running the plan it is given.
func Jobs(plan *scenarios.Plan, opts RunOptions) ([]Job, []string, error) {
	backends := opts.Backends
	if len(backends) == 0 {
		backends = plan.Backends
	}
	variants, err := selectVariants(plan, opts.Variants)
	if err != nil {
		return nil, nil, err
	}
	repeat := max(opts.Repeat, 1)
	var jobs []Job
	var names []string
	for _, b := range backends {
		for _, v := range variants {
			for r := 0; r < repeat; r++ {
				jobs = append(jobs, Job{Plan: plan.ForVariant(v), Variant: v, Repeat: r, Seed: RepeatSeed(plan.Seed, r)})
				names = append(names, b)
			}
		}
	}
	return jobs, names, nil
}

func selectVariants(plan *scenarios.Plan, want []string) ([]int, error) {
	if len(want) == 0 {
		idx := make([]int, len(plan.Variants))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var idx []int
	for _, name := range want {
		found := -1
		for i, v := range plan.Variants {
			if v.Name == name {
				found = i
			}
		}
		if found < 0 {
			names := make([]string, len(plan.Variants))
			for i, v := range plan.Variants {
				names[i] = v.Name
			}
			return nil, fmt.Errorf("scenario %q has no variant %q%s", plan.Name, name, suggest.HintOrList(name, names))
		}
		idx = append(idx, found)
	}
	return idx, nil
}

// RepeatSeed derives the seed of repeat r from the plan's seed: repeat 0 is
// the plan's seed itself, later ones are spread by a SplitMix64 step so that
// neighbouring repeats draw unrelated streams.
func RepeatSeed(seed uint64, r int) uint64 {
	if r == 0 {
		return seed
	}
	z := seed + uint64(r)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Run executes the selected runs of plan and returns their summary with SLOs
// evaluated. Runs of a Parallel backend execute concurrently; others one at a
// time. When ctx is cancelled, runs in progress stop, runs not started are
// skipped, and the summary is marked partial: nothing measured is lost. A
// backend that fails leaves its error in its RunSummary and Run goes on with
// the others; the returned error then says which failed.
func Run(ctx context.Context, plan *scenarios.Plan, opts RunOptions) (*Summary, error) {
	jobs, backendNames, err := Jobs(plan, opts)
	if err != nil {
		return nil, err
	}
	backends := make([]Backend, len(jobs))
	for i, name := range backendNames {
		b, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		backends[i] = b
	}
	sum := &Summary{
		Schema:   SummarySchema,
		Scenario: plan.Name,
		Question: plan.Question(),
		Seed:     plan.Seed,
	}
	runs := make([]RunSummary, len(jobs))
	done := make([]bool, len(jobs))
	errs := make([]error, len(jobs))
	var raw *rawFile
	if opts.Dir != "" {
		raw = &rawFile{path: filepath.Join(opts.Dir, ResultsFile)}
	}
	spools := make([]*spool, len(jobs))
	defer func() {
		for _, sp := range spools {
			if sp != nil {
				sp.discard()
			}
		}
	}()

	runOne := func(i int) {
		if ctx.Err() != nil {
			return
		}
		job := jobs[i]
		job.Dir = opts.Dir
		if raw != nil {
			job.Raw = raw
		}
		if opts.Progress != nil {
			job.Progress = func(elapsed time.Duration) { opts.Progress(i, elapsed) }
		}
		var wrap func(Sink) Sink
		if raw != nil && opts.Results && !recordsRaw(backends[i]) {
			attack := fmt.Sprintf("%s/%s/%d", backends[i].Name(), job.Plan.Variants[job.Variant].Name, job.Repeat)
			wrap = func(agg Sink) Sink {
				sp, err := newSpool(opts.Dir, attack, agg)
				if err != nil {
					errs[i] = err
					return agg
				}
				spools[i] = sp
				return sp
			}
		}
		var err error
		runs[i], err = runJob(ctx, i, backends[i], job, opts, wrap)
		errs[i] = errors.Join(errs[i], err)
		done[i] = true
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range jobs {
		if p, ok := backends[i].(Parallel); ok && p.Parallel() && workers > 1 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				runOne(i)
			}()
			continue
		}
		wg.Wait() // a serial backend runs alone
		runOne(i)
	}
	wg.Wait()

	var failed []error
	for i := range jobs {
		if !done[i] {
			sum.Partial = true
			continue
		}
		if runs[i].Partial {
			sum.Partial = true
		}
		if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
			failed = append(failed, fmt.Errorf("%s/%s repeat %d: %w", runs[i].Backend, runs[i].Variant, runs[i].Repeat, errs[i]))
		}
		sum.Runs = append(sum.Runs, runs[i])
	}
	sum.SLOPass = EvaluateSLOs(plan, sum)
	EvaluateKnees(plan, sum)
	if sum.Predictions, err = Predict(sum, plan.Prediction); err != nil {
		failed = append(failed, err)
	}
	for i, sp := range spools {
		if sp == nil {
			continue
		}
		spools[i] = nil
		if done[i] {
			if err := sp.copyTo(raw); err != nil {
				failed = append(failed, err)
			}
		} else {
			sp.discard()
		}
	}
	if err := raw.close(); err != nil {
		failed = append(failed, err)
	}
	return sum, errors.Join(failed...)
}

// rawFile is a run's results file: one gob stream shared by every job, so
// that decoders (vegeta report) read it whole. It is created on the first
// record, so a run of the simulator alone leaves no empty file.
type rawFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	enc  *gob.Encoder
	err  error
}

// Encode appends one record to the file.
func (w *rawFile) Encode(record any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		f, err := os.Create(w.path)
		if err != nil {
			w.err = fmt.Errorf("results file: %w", err)
			return w.err
		}
		w.f, w.enc = f, gob.NewEncoder(f)
	}
	if err := w.enc.Encode(record); err != nil {
		w.err = fmt.Errorf("results file %s: %w", w.path, err)
	}
	return w.err
}

// close closes the file if it was created; nil is a no-op.
func (w *rawFile) close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("results file: %w", err)
	}
	return nil
}

// runJob runs job number i through an aggregator, and through
// opts.Observe when set. A cancelled or failed run still yields the summary
// of what it measured. wrap, when not nil, puts a sink of its own in front
// (the results file's spool).
func runJob(ctx context.Context, i int, b Backend, job Job, opts RunOptions, wrap func(Sink) Sink) (RunSummary, error) {
	plan := job.Plan
	agg := NewAggregator(plan.Warmup, opts.BucketWidth)
	agg.SetMaxScheduleLag(opts.MaxScheduleLag)
	var sink Sink = agg
	if opts.Observe != nil {
		meta := RunSummary{Backend: b.Name(), Variant: plan.Variants[job.Variant].Name, Repeat: job.Repeat, Seed: job.Seed}
		sink = &observedSink{agg: agg, obs: opts.Observe, job: i, plan: plan, meta: meta, next: 2 * agg.bucketWidth}
	}
	if wrap != nil {
		sink = wrap(sink)
	}
	out, err := b.Run(ctx, job, sink)
	end := min(out.End, plan.Duration)
	if end <= 0 && err == nil {
		end = plan.Duration
	}
	rs, serr := agg.Summarize(end)
	if serr != nil && err == nil {
		err = serr
	}
	rs.Backend = b.Name()
	rs.Variant = plan.Variants[job.Variant].Name
	rs.Repeat = job.Repeat
	rs.Seed = job.Seed
	rs.Audit = out.Audit
	rs.CPU = cpuOf(out.CPU, rs.Requests)
	if out.End < plan.Duration || err != nil {
		rs.Partial = true
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		rs.Error = err.Error()
	}
	if opts.Observe != nil {
		judged := rs
		judgeRun(plan, &judged)
		opts.Observe.Done(i, judged)
	}
	return rs, err
}

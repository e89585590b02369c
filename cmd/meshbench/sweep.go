package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/meshbench/meshbench/bench/sweep"
	"github.com/meshbench/meshbench/reports"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
	"github.com/spf13/cobra"
)

func init() { register(newSweepCmd) }

// sweepFlags are the flags sweep and tune share.
type sweepFlags struct {
	params    []string
	zip       bool
	repeat    int
	maxPoints int
	out       string
	jobs      int
	resume    string
	variant   string
	duration  time.Duration
	confirm   string
	confirmK  int
}

func (f *sweepFlags) add(cmd *cobra.Command, tune bool) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.params, "param", nil, "sweep `PATH=VALUES` (repeatable; replaces the scenario's sweep params): policy.balancer.choices=2,3,4 or 'load.checkout.rate={from: 200/s, to: 2000/s, steps: 10}'")
	fl.IntVar(&f.repeat, "repeat", 0, "run each point `N` times, repeat r of every point with the same seed (default: the sweep's repeat, else 1)")
	fl.StringVar(&f.out, "out", "", "sweep folder (`DIR`; default runs/<scenario>-"+cmd.Name()+"-<UTC timestamp>)")
	fl.IntVar(&f.jobs, "jobs", 0, "simulator runs at once (`N`; default GOMAXPROCS)")
	fl.StringVar(&f.variant, "variant", "", "base variant the points change (`NAME`; default: the sweep's, else the first)")
	fl.DurationVar(&f.duration, "duration", 0, "rescale the scenario's whole timeline to this `duration` (as run's --duration)")
	fl.StringVar(&f.confirm, "confirm", "", "re-run the best settings and the base variant on a real `BACKEND` (local) and set prediction beside measurement")
	fl.IntVar(&f.confirmK, "confirm-best", 3, "how many of the best settings --confirm re-runs (`K`)")
	if !tune {
		fl.BoolVar(&f.zip, "zip", false, "combine the i-th values of every parameter instead of every combination")
		fl.IntVar(&f.maxPoints, "max-points", 0, "refuse a sweep of more than `N` points before it starts (default: the sweep's maxPoints, else 1000)")
		fl.StringVar(&f.resume, "resume", "", "complete the interrupted sweep in `DIR`, skipping the rows it holds")
	} else {
		fl.StringVar(&f.resume, "resume", "", "go on with the interrupted tune in `DIR`: the search retraces its path on the rows the folder holds, then runs on")
	}
}

func newSweepCmd() *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep SCENARIO",
		Short: "Run a scenario over a grid of settings on the simulator",
		Long: `sweep runs the scenario's base variant once per point of a grid of settings
on the simulator, on every core, and writes a sweep folder: rows.csv and
rows.json (one row per point and repeat), sweep.json (the definition and
the points) and summary.md (the best and the SLO-feasible points).

The grid comes from the scenario's sweep section or from --param flags,
which name settings by key path: policy.… (the base variant's policy),
load.WORKLOAD.… (its load) and topology.services.SERVICE.… (the fleet).
Every point of repeat r runs with the same seed (common random numbers).

Ctrl-C keeps the finished rows and marks the sweep partial; --resume DIR
completes it. See docs/sweep.md.`,
		Example: `  meshbench sweep scenarios/sweeps/retry-budget.yaml
  meshbench sweep balancer-brownout --variant least_request --param policy.balancer.choices=2,3,4,6 --repeat 3
  meshbench sweep retry-storm --param 'load.checkout.rate={from: 200/s, to: 800/s, steps: 4}' --zip=false
  meshbench sweep scenarios/sweeps/retry-budget.yaml --resume runs/retry-budget-sweep-20260101T000000Z`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeScenario,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSweep(cmd, args[0], f)
		},
	}
	f.add(cmd, false)
	return cmd
}

// sweepPlan loads the scenario and the sweep the flags and its section
// describe.
func sweepPlan(cmd *cobra.Command, arg string, f sweepFlags) (*scenarios.Plan, *sweep.Definition, error) {
	plan, _, err := loadScenario(arg)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	return definePlan(cmd, plan, f, false)
}

// tunePlan is sweepPlan for tune: ranges need only their ends.
func tunePlan(cmd *cobra.Command, plan *scenarios.Plan, f sweepFlags) (*scenarios.Plan, *sweep.Definition, error) {
	return definePlan(cmd, plan, f, true)
}

// tuneParams are the parameters a tune searches: the --param flags, else
// the sweep section's (definePlan has checked them).
func tuneParams(plan *scenarios.Plan, f sweepFlags) scenarios.SweepParams {
	params, _ := sweepParams(plan, f)
	return params
}

func sweepParams(plan *scenarios.Plan, f sweepFlags) (scenarios.SweepParams, error) {
	var params scenarios.SweepParams
	if plan.Sweep != nil {
		params = plan.Sweep.Params
	}
	if len(f.params) > 0 {
		params = nil
		for _, p := range f.params {
			sp, err := scenarios.ParseSweepParam(p)
			if err != nil {
				return nil, err
			}
			params = append(params, sp)
		}
	}
	return params, nil
}

func definePlan(cmd *cobra.Command, plan *scenarios.Plan, f sweepFlags, forTune bool) (*scenarios.Plan, *sweep.Definition, error) {
	if f.duration < 0 {
		return nil, nil, usageErr(fmt.Errorf("--duration must be positive, got %s", f.duration))
	}
	if f.duration > 0 {
		plan = plan.WithDuration(f.duration)
	}
	if err := applyCalibration(plan, "", false, []string{scenarios.BackendSim}); err != nil {
		return nil, nil, usageErr(err)
	}
	sw := plan.Sweep
	if sw == nil {
		sw = &scenarios.Sweep{Mode: scenarios.SweepCross, Repeat: 1, MaxPoints: scenarios.DefaultMaxPoints}
	}
	params, err := sweepParams(plan, f)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	opts := sweep.DefineOptions{Variant: sw.Variant, Zip: sw.Mode == scenarios.SweepZip, Repeat: sw.Repeat, MaxPoints: sw.MaxPoints, Tune: forTune}
	if f.variant != "" {
		opts.Variant = f.variant
	}
	if !forTune && cmd.Flags().Changed("zip") {
		opts.Zip = f.zip
	}
	if cmd.Flags().Changed("repeat") {
		if f.repeat < 1 {
			return nil, nil, usageErr(fmt.Errorf("--repeat must be at least 1, got %d", f.repeat))
		}
		opts.Repeat = f.repeat
	}
	if !forTune && cmd.Flags().Changed("max-points") {
		if f.maxPoints < 1 {
			return nil, nil, usageErr(fmt.Errorf("--max-points must be at least 1, got %d", f.maxPoints))
		}
		opts.MaxPoints = f.maxPoints
	}
	if f.confirm != "" && f.confirm != scenarios.BackendLocal {
		return nil, nil, usageErr(fmt.Errorf("--confirm %q: the confirming backend is local", f.confirm))
	}
	def, err := sweep.NewDefinition(plan, params, opts)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	return plan, def, nil
}

func runSweep(cmd *cobra.Command, arg string, f sweepFlags) error {
	plan, def, err := sweepPlan(cmd, arg, f)
	if err != nil {
		return err
	}
	dir := f.out
	var done []sweep.Row
	if f.resume != "" {
		if f.out != "" && f.out != f.resume {
			return usageErr(fmt.Errorf("--resume writes into the folder it resumes: drop --out"))
		}
		dir = f.resume
		if done, err = sweep.ReadFolder(dir, def); err != nil {
			return usageErr(err)
		}
	}
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-sweep-%s", plan.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	journal, err := sweep.OpenJournal(dir, def, nil)
	if err != nil {
		return fmt.Errorf("sweep folder: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "sweep %s: %d point(s) × %d repeat(s) on %s; %s\n", plan.Name, def.Points(), def.Repeat, dir, "common random numbers (repeat r: the same seed at every point)")
	res, runErr := sweep.Run(cmd.Context(), plan, def, sweep.Options{
		Backend:  sim.Backend{},
		Workers:  f.jobs,
		Done:     done,
		OnRow:    journal.Add,
		Progress: sweepProgress(stderr),
	})
	fmt.Fprintln(stderr)
	if cerr := journal.Close(); runErr == nil {
		runErr = cerr
	}
	if res == nil {
		return runErr
	}
	if err := sweep.WriteFolder(dir, res, plan.Question()); err != nil {
		return fmt.Errorf("write sweep folder: %w", err)
	}
	if err := writePlots(dir, def, res.Rows, "", nil); err != nil {
		return err
	}
	if f.confirm != "" && !res.Partial {
		if err := confirmBest(cmd, plan, def, res.Rows, f.confirmK, f.confirm, dir); err != nil {
			return err
		}
	}
	if len(res.Rows) > 0 {
		fmt.Fprint(cmd.OutOrStdout(), sweep.BestMarkdown(res, sweep.MetricP99, 5))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sweep folder: %s\n", dir)
	if res.Partial {
		fmt.Fprintf(stderr, "meshbench: the sweep was interrupted: %d of %d runs kept, marked partial; complete it with --resume %s\n", len(res.Rows), def.Points()*def.Repeat, dir)
	}
	if runErr == nil && cmd.Context().Err() != nil {
		return errors.New("interrupted")
	}
	return runErr
}

// sweepProgress prints points and runs done and the time left on one
// line of w, at most five times a second.
func sweepProgress(w io.Writer) func(sweep.Progress) {
	last := time.Time{}
	return func(p sweep.Progress) {
		if now := time.Now(); p.Runs < p.TotalRuns && now.Sub(last) < 200*time.Millisecond {
			return
		} else {
			last = now
		}
		points := fmt.Sprintf("%d/%d points", p.Points, p.TotalPoints)
		if p.TotalPoints == 0 { // a tune: the points are found as it goes
			points = fmt.Sprintf("%d points", p.Points)
		}
		fmt.Fprintf(w, "\r%s, %d/%d runs, ETA %s   ", points, p.Runs, p.TotalRuns, p.ETA.Round(time.Second))
	}
}

// writePlots writes the sweep's plots into dir with reports.WriteSweepPlots:
// the response curves (or heat maps) of p99 and availability over the
// swept key paths, a tune's objective first when it is another metric,
// and the Pareto front of objectives (p99 against the extra load of
// retries and hedges for a sweep; a tune's objective against its first
// constraint's metric). objective is "" for a sweep.
func writePlots(dir string, def *sweep.Definition, rows []sweep.Row, objective string, constraints []scenarios.Constraint) error {
	spec := reports.SweepPlotSpec{
		Metrics:    []string{sweep.MetricP99, sweep.MetricAvailability},
		Objectives: [2]string{sweep.MetricP99, sweep.MetricExtraLoad},
	}
	for _, p := range def.Params {
		spec.Params = append(spec.Params, p.Path)
	}
	if objective != "" {
		if objective != sweep.MetricP99 && objective != sweep.MetricAvailability {
			spec.Metrics = append([]string{objective}, spec.Metrics...)
		}
		spec.Objectives[0] = objective
		if len(constraints) > 0 && constraints[0].Metric != objective {
			spec.Objectives[1] = constraints[0].Metric
		} else if objective == sweep.MetricP99 {
			spec.Objectives[1] = sweep.MetricExtraLoad
		} else {
			spec.Objectives[1] = sweep.MetricP99
		}
	}
	files, err := reports.WriteSweepPlots(dir, rows, spec)
	if err != nil {
		return fmt.Errorf("sweep plots: %w", err)
	}
	return sweep.AppendPlots(dir, files)
}

// confirmBest re-runs the base variant and the k best points on the
// --confirm backend and appends prediction beside measurement to
// summary.md.
func confirmBest(cmd *cobra.Command, plan *scenarios.Plan, def *sweep.Definition, rows []sweep.Row, k int, backend, dir string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "confirming the base variant and the %d best point(s) on %s\n", k, backend)
	cs, err := sweep.Confirm(cmd.Context(), plan, def, rows, k, backend, dir)
	if len(cs) > 0 {
		f, ferr := os.OpenFile(filepath.Join(dir, sweep.SummaryMD), os.O_APPEND|os.O_WRONLY, 0o644)
		if ferr != nil {
			return ferr
		}
		fmt.Fprintf(f, "## Confirmed on %s\n\n%s\n", backend, sweep.ConfirmMarkdown(cs))
		if ferr := f.Close(); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/meshbench/meshbench/bench/sweep"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
	"github.com/spf13/cobra"
)

func init() { register(newTuneCmd) }

type tuneFlags struct {
	sweepFlags
	minimize   string
	maximize   string
	subjectTo  []string
	budgetRuns int
	budgetTime time.Duration
}

func newTuneCmd() *cobra.Command {
	var f tuneFlags
	cmd := &cobra.Command{
		Use:   "tune SCENARIO",
		Short: "Search the sweep's settings for the best one under SLO constraints, on the simulator",
		Long: `tune searches the box the sweep's parameters make — ranges as continuous,
integer or log-scaled dimensions (from and to are enough), value lists as
categories — for the setting that minimises (or maximises) a metric subject
to constraints, on the simulator. The search (bench/tune) samples the box
with a Latin hypercube, then refines the best point by a compass search
that accepts a move only when the paired 95% interval over common random
numbers says it is better; it stops when the budget of runs or time is
spent, or when the steps are below resolution.

The objective and constraints come from the flags or the sweep section's
tune block; metrics are a sweep row's (docs/sweep.md). The folder is a
sweep folder (rows.csv, rows.json, sweep.json, summary.md) plus tune.json
with the best setting and its intervals.

Ctrl-C keeps the finished runs and marks the folder partial; --resume DIR
goes on with it: the search is deterministic given the scenario's seed and
its outcomes, so it retraces its path on the rows the folder holds, without
running them again, and continues from where it stopped. --resume refuses a
folder of another scenario, parameters or search (objective, constraints,
repeats); the budgets may change (the run budget counts every run of the
tune, --budget-time this invocation's time). See docs/sweep.md.`,
		Example: `  meshbench tune scenarios/sweeps/outlier-ejection.yaml
  meshbench tune balancer-brownout --variant least_request --param 'policy.balancer.choices={from: 2, to: 6}' --minimize p99_ms --subject-to 'availability>=0.999' --budget-runs 60
  meshbench tune scenarios/sweeps/outlier-ejection.yaml --resume runs/outlier-ejection-tune-20260101T000000Z`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeScenario,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTune(cmd, args[0], f)
		},
	}
	f.add(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&f.minimize, "minimize", "", "the row metric to minimise (`METRIC`, e.g. p99_ms)")
	fl.StringVar(&f.maximize, "maximize", "", "the row metric to maximise (`METRIC`, e.g. throughput_rps)")
	fl.StringArrayVar(&f.subjectTo, "subject-to", nil, "a constraint `METRIC>=VALUE` or METRIC<=VALUE (repeatable; replaces the tune block's)")
	fl.IntVar(&f.budgetRuns, "budget-runs", 0, "stop after `N` simulator runs (default: the tune block's, else 200)")
	fl.DurationVar(&f.budgetTime, "budget-time", 0, "stop after this wall `duration` (default: the tune block's, else none)")
	return cmd
}

func runTune(cmd *cobra.Command, arg string, f tuneFlags) error {
	plan, _, err := loadScenario(arg)
	if err != nil {
		return usageErr(err)
	}
	tb := &scenarios.SweepTune{}
	if plan.Sweep != nil && plan.Sweep.Tune != nil {
		tb = plan.Sweep.Tune
	}
	spec := sweep.TuneSpec{Metric: tb.Minimize, BudgetRuns: tb.BudgetRuns, BudgetTime: tb.BudgetTime}
	if tb.Maximize != "" {
		spec.Metric, spec.Maximize = tb.Maximize, true
	}
	switch {
	case f.minimize != "" && f.maximize != "":
		return usageErr(fmt.Errorf("give --minimize or --maximize, not both"))
	case f.minimize != "":
		spec.Metric, spec.Maximize = f.minimize, false
	case f.maximize != "":
		spec.Metric, spec.Maximize = f.maximize, true
	}
	if spec.Metric == "" {
		return usageErr(fmt.Errorf("nothing to optimise: give --minimize METRIC or --maximize METRIC, or a tune block in the sweep section"))
	}
	if !slices.Contains(sweep.MetricNames, spec.Metric) {
		return usageErr(fmt.Errorf("unknown metric %q (metrics: %v)", spec.Metric, sweep.MetricNames))
	}
	cons := tb.SubjectTo
	if len(f.subjectTo) > 0 {
		cons = f.subjectTo
	}
	for _, c := range cons {
		k, err := scenarios.ParseConstraint(c)
		if err != nil {
			return usageErr(fmt.Errorf("--subject-to: %w", err))
		}
		spec.Constraints = append(spec.Constraints, k)
	}
	if cmd.Flags().Changed("budget-runs") {
		spec.BudgetRuns = f.budgetRuns
	}
	if cmd.Flags().Changed("budget-time") {
		spec.BudgetTime = f.budgetTime
	}
	if spec.BudgetRuns < 0 || spec.BudgetTime < 0 {
		return usageErr(fmt.Errorf("budgets must be positive"))
	}
	if cmd.Flags().Changed("repeat") {
		spec.Repeats = f.repeat
	}
	plan, def, err := tunePlan(cmd, plan, f.sweepFlags)
	if err != nil {
		return err
	}
	spec = spec.Resolved(def)
	dir := f.out
	var done []sweep.Row
	if f.resume != "" {
		if f.out != "" && f.out != f.resume {
			return usageErr(fmt.Errorf("--resume writes into the folder it resumes: drop --out"))
		}
		dir = f.resume
		if done, err = sweep.ReadTuneFolder(dir, def, spec); err != nil {
			return usageErr(err)
		}
	}
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-tune-%s", plan.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	journal, err := sweep.OpenJournal(dir, def, &spec)
	if err != nil {
		return fmt.Errorf("tune folder: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "tune %s: %s over %d parameter(s), budget %s, into %s\n", plan.Name, spec.Metric, len(def.Params), budgetText(spec), dir)
	if f.resume != "" {
		fmt.Fprintf(stderr, "resuming: %d run(s) of the folder are retraced, not run again\n", len(done))
	}
	tr, err := sweep.Tune(cmd.Context(), plan, def, tuneParams(plan, f.sweepFlags), spec, sweep.Options{
		Backend: sim.Backend{}, Workers: f.jobs, Done: done, OnRow: journal.Add, Progress: sweepProgress(stderr),
	})
	fmt.Fprintln(stderr)
	if cerr := journal.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := sweep.WriteTune(dir, def, tr, plan.Question()); err != nil {
		return fmt.Errorf("write tune folder: %w", err)
	}
	if err := writePlots(dir, def, tr.Rows, spec.Metric, spec.Constraints); err != nil {
		return err
	}
	if f.confirm != "" && !tr.Partial {
		if err := confirmBest(cmd, plan, def, tr.Rows, f.confirmK, f.confirm, dir); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprint(out, sweep.TuneMarkdown(tr))
	fmt.Fprintf(out, "tune folder: %s\n", dir)
	if tr.Partial {
		fmt.Fprintf(stderr, "meshbench: the tune was interrupted: %d run(s) kept, marked partial; go on with --resume %s\n", len(tr.Rows), dir)
	}
	if cmd.Context().Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

func budgetText(spec sweep.TuneSpec) string {
	runs := spec.BudgetRuns
	if runs <= 0 {
		runs = sweep.DefaultTuneBudget
	}
	if spec.BudgetTime > 0 {
		return fmt.Sprintf("%d runs or %s", runs, spec.BudgetTime)
	}
	return fmt.Sprintf("%d runs", runs)
}

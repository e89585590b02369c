package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newRunCmd) }

type runFlags struct {
	backends  []string
	variants  []string
	out       string
	seed      uint64
	duration  time.Duration
	repeat    int
	failOnSLO bool
	maxLag    time.Duration
	failPred  bool // --fail-on-prediction
	hostCores int
	calib     string
	anyCalib  bool
	results   bool // --results: every backend writes results.bin
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Run a scenario on its backends and write a run folder",
		Long: `run loads SCENARIO (a file, or the name of a shipped scenario), runs every
variant on each backend, and writes a run folder: the scenario as read,
the resolved plan, summary.json, environment.json and the report
(summary.md, slo.xml, index.html, plots/).

Open-loop requests are timed from their intended send times. A run whose
load generator sent them later than --max-schedule-lag at the 99th
percentile (the schedule lag) did not offer the scenario's load: the
summary and the report mark it untrustworthy.

A run with the simulator and a real backend sets the simulator's
prediction beside the measurement of each variant (summary.json's
predictions, summary.md, index.html): relative errors of p50, p99 and p99.9,
availability in percentage points, and a verdict against the scenario's
prediction tolerance; with --repeat N, each backend's spread over repeats.

Ctrl-C stops the run early; what was measured is written, marked partial.`,
		Example: `  meshbench run scenarios/library/balancer-brownout.yaml
  meshbench run balancer-brownout --backend sim --duration 10s --out runs/quick
  meshbench run retry-storm --variant with-budget --repeat 5`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeScenarioNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.backends, "backend", nil, "backends to run (`NAME`,...; default: the scenario's backends)")
	fl.StringSliceVar(&f.variants, "variant", nil, "variants to run (`NAME`,...; default: all)")
	fl.StringVar(&f.out, "out", "", "run folder (`DIR`; default runs/<scenario>-<UTC timestamp>)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for every random stream (default: the scenario's seed)")
	fl.DurationVar(&f.duration, "duration", 0, "rescale the scenario's whole timeline (load, faults, warm-up) to this `duration`")
	fl.IntVar(&f.repeat, "repeat", 1, "run each backend × variant `N` times with different seeds")
	fl.BoolVar(&f.failOnSLO, "fail-on-slo", false, "exit 1 when any SLO verdict fails")
	fl.BoolVar(&f.failPred, "fail-on-prediction", false, "exit 1 when the simulator's prediction of a real backend is outside the scenario's prediction tolerance")
	fl.IntVar(&f.hostCores, "host-cores", 0, "the simulator's host model has `N` cores (overrides the scenario's host.cores; needs a host block)")
	fl.StringVar(&f.calib, "calibration", "", "calibration profile (`FILE`, from `meshbench calibrate`) whose hop costs the simulator charges; replaces the scenario's calibration key")
	fl.BoolVar(&f.anyCalib, "calibration-any-machine", false, "apply a calibration profile measured on another machine")
	fl.DurationVar(&f.maxLag, "max-schedule-lag", bench.DefaultMaxScheduleLag, "mark a run untrustworthy when its load generator's p99 schedule lag exceeds this `duration`")
	fl.BoolVar(&f.results, "results", false, "write every backend's per-request records to results.bin in vegeta's format (the simulator's on a fixed epoch; real backends always write it), for vegeta report")
	return cmd
}

// loadScenario reads path, or a shipped scenario of that name when no such
// file exists. It returns the plan and the exact bytes read.
func loadScenario(arg string) (*scenarios.Plan, []byte, error) {
	if _, err := os.Stat(arg); err != nil && !strings.ContainsAny(arg, `/\.`) {
		if e, lerr := scenarios.Shipped(arg); lerr == nil {
			plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			return plan, e.Source, err
		}
	}
	src, err := os.ReadFile(arg)
	if err != nil {
		return nil, nil, fmt.Errorf("read scenario: %w", err)
	}
	plan, err := scenarios.LoadBytes(arg, src)
	return plan, src, err
}

func runScenario(cmd *cobra.Command, arg string, f runFlags) error {
	plan, src, err := loadScenario(arg)
	if err != nil {
		return usageErr(err)
	}
	if f.repeat < 1 {
		return usageErr(fmt.Errorf("--repeat must be at least 1, got %d", f.repeat))
	}
	if f.duration < 0 {
		return usageErr(fmt.Errorf("--duration must be positive, got %s", f.duration))
	}
	if cmd.Flags().Changed("seed") {
		plan = plan.WithSeed(f.seed)
	}
	if f.duration > 0 {
		plan = plan.WithDuration(f.duration)
	}
	if cmd.Flags().Changed("host-cores") {
		if plan, err = plan.WithHostCores(f.hostCores); err != nil {
			return usageErr(fmt.Errorf("--host-cores: %w", err))
		}
	}
	if f.maxLag <= 0 {
		return usageErr(fmt.Errorf("--max-schedule-lag must be positive, got %s", f.maxLag))
	}
	calBackends := f.backends
	if len(calBackends) == 0 {
		calBackends = plan.Backends
	}
	if err := applyCalibration(plan, f.calib, f.anyCalib, calBackends); err != nil {
		return usageErr(err)
	}
	opts := bench.RunOptions{Backends: f.backends, Variants: f.variants, Repeat: f.repeat, MaxScheduleLag: f.maxLag, Results: f.results}
	jobs, _, err := bench.Jobs(plan, opts)
	if err != nil {
		return usageErr(err)
	}
	backends := opts.Backends
	if len(backends) == 0 {
		backends = plan.Backends
	}
	for _, b := range backends {
		if _, err := bench.Lookup(b); err != nil {
			return usageErr(fmt.Errorf("%w; choose others with --backend", err))
		}
	}

	started := time.Now()
	dir := f.out
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s", plan.Name, started.UTC().Format("20060102T150405Z")))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.yaml"), src, 0o644); err != nil {
		return fmt.Errorf("write run folder: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "plan.json"), plan); err != nil {
		return err
	}
	if err := writeCalibration(dir, plan); err != nil {
		return err
	}
	env := bench.CurrentEnvironment(started, os.Args)

	stderr := cmd.ErrOrStderr()
	bar := newProgress(stderr, jobs)
	opts.Progress = bar.update
	opts.Dir = dir // real backends write vegeta's results.bin here
	sum, runErr := bench.Run(cmd.Context(), plan, opts)
	bar.finish()
	if sum == nil {
		return runErr
	}
	raw, err := sum.Marshal()
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), raw, 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	env.Finished = time.Now().UTC()
	if err := writeJSON(filepath.Join(dir, "environment.json"), env); err != nil {
		return err
	}
	renderErr := reports.Render(dir, reports.Options{})

	printRunTable(cmd.OutOrStdout(), sum)
	fmt.Fprintf(cmd.OutOrStdout(), "\nrun folder: %s\n", dir)
	if sum.Partial {
		fmt.Fprintln(stderr, "meshbench: the run was interrupted; the summary is partial")
	}
	switch {
	case runErr != nil:
		return runErr
	case renderErr != nil:
		return fmt.Errorf("render report: %w", renderErr)
	case cmd.Context().Err() != nil:
		return errors.New("interrupted")
	case f.failOnSLO && !sum.SLOPass:
		return failErr(errors.New("SLO verdicts failed (see summary.md)"))
	case f.failPred && len(reports.PredictionFailures(sum.Predictions)) > 0:
		return failErr(fmt.Errorf("predictions outside their tolerance: %s", strings.Join(reports.PredictionFailures(sum.Predictions), "; ")))
	}
	return nil
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// printRunTable prints one line per run: the figures an engineer looks at
// first.
func printRunTable(w io.Writer, s *bench.Summary) {
	tw := newTable(w)
	fmt.Fprintln(tw, "backend\tvariant\trepeat\trequests\tavailability\tp50 ms\tp99 ms\tp99.9 ms\tthroughput/s\tretries\tSLO\t")
	for _, r := range s.Runs {
		slo := "pass"
		for _, v := range r.SLO {
			if !v.Pass {
				slo = "FAIL"
			}
		}
		if len(r.SLO) == 0 {
			slo = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.4f%%\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t%s\t\n",
			r.Backend, r.Variant, r.Repeat, r.Requests, r.Availability*100,
			r.LatencyMS.P50, r.LatencyMS.P99, r.LatencyMS.P999, r.ThroughputRPS, r.Retries, slo)
	}
	tw.Flush()
}

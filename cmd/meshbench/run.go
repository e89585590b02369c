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
	output    string      // -o
	serve     *serveFlags // --serve and its options (serve.go)
	results   bool        // --results: every backend writes results.bin
	kube      *kubeFlags  // the kubernetes backend's options (kubernetes.go)
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
  meshbench run retry-storm --variant with-budget --repeat 5
  meshbench run balancer-brownout --backend kubernetes --dry-run -o yaml
  meshbench run balancer-brownout --backend kubernetes --kubeconfig ~/.kube/config --agents 4`,
		Annotations:       map[string]string{argsAnnotation: "a scenario file, or the name of a shipped scenario: see meshbench scenarios list"},
		Args:              exactArgs(1),
		ValidArgsFunction: completeScenario,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.serve.wait(cmd, runScenario(cmd, args[0], f))
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
	fl.IntVar(&f.hostCores, "host-cores", 0, "the simulator's host model has `N` cores (overrides the scenario's host.cores; without a host block, needs --calibration, whose CPU figures it takes)")
	fl.StringVar(&f.calib, "calibration", "", "calibration profile (`FILE`, from `meshbench calibrate`) whose hop costs the simulator charges; replaces the scenario's calibration key")
	fl.BoolVar(&f.anyCalib, "calibration-any-machine", false, "apply a calibration profile measured on another machine")
	f.serve = addServeFlags(fl)
	fl.DurationVar(&f.maxLag, "max-schedule-lag", bench.DefaultMaxScheduleLag, "mark a run untrustworthy when its load generator's p99 schedule lag exceeds this `duration`")
	_ = cmd.RegisterFlagCompletionFunc("backend", completeBackends)
	_ = cmd.RegisterFlagCompletionFunc("variant", completeVariants)
	addOutputFlag(cmd, &f.output, outputTable)
	f.kube = addKubeFlags(fl)
	fl.BoolVar(&f.results, "results", false, "write every backend's per-request records to results.bin in vegeta's format (the simulator's on a fixed epoch; real backends always write it), for vegeta report")
	return cmd
}

// loadScenario reads a scenario file, or the shipped scenario of that name
// when no such file exists (scenarios.Open). It returns the plan and the
// exact bytes read.
func loadScenario(arg string) (*scenarios.Plan, []byte, error) {
	file, src, err := scenarios.Open(arg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w; see meshbench scenarios list", err)
	}
	plan, err := scenarios.LoadBytes(file, src)
	printImportNotes(os.Stderr, plan) // variants imported with from: (importcmd.go)
	return plan, src, err
}

func runScenario(cmd *cobra.Command, arg string, f runFlags) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	plan, src, err := loadScenario(arg)
	if err != nil {
		return usageErr(err)
	}
	if f.repeat < 1 {
		return usageErr(fmt.Errorf("--repeat must be at least 1, got %d", f.repeat))
	}
	if cmd.Flags().Changed("duration") && f.duration <= 0 {
		return usageErr(fmt.Errorf("--duration must be positive, got %s: it rescales the scenario's whole timeline (%s); leave it out to run the scenario as written", f.duration, plan.Duration))
	}
	if cmd.Flags().Changed("seed") {
		plan = plan.WithSeed(f.seed)
	}
	if f.duration > 0 {
		plan = plan.WithDuration(f.duration)
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
	warnDisturbed(cmd.ErrOrStderr(), plan)
	if cmd.Flags().Changed("host-cores") {
		// After the profile: a scenario without a host block takes the
		// profile's CPU figures.
		if plan, err = plan.WithHostCores(f.hostCores); err != nil {
			return usageErr(fmt.Errorf("--host-cores: %w", err))
		}
	}
	opts := bench.RunOptions{Backends: f.backends, Variants: f.variants, Repeat: f.repeat, MaxScheduleLag: f.maxLag, Results: f.results}
	jobs, jobBackends, err := bench.Jobs(plan, opts)
	if err != nil {
		return usageErr(err)
	}
	backends := opts.Backends
	if len(backends) == 0 {
		backends = plan.Backends
	}
	for _, b := range backends {
		if _, err := bench.Lookup(b); err != nil {
			return usageErr(fmt.Errorf("--backend: %w", err))
		}
	}
	// The backends check the plan again when they start; check it here,
	// as run will change it and for backends the scenario does not list,
	// so that a plan a backend refuses fails now, at the key at fault;
	// only the variants the run takes (--variant) count.
	if err := plan.CheckBackends(backends, f.variants...); err != nil {
		return usageErr(fmt.Errorf("the scenario cannot run as asked:\n%w", err))
	}
	if err := f.kube.check(cmd, backends, f.results); err != nil {
		return err
	}
	if f.kube.dryRun {
		return f.kube.print(cmd.OutOrStdout(), plan, f.variants, f.output)
	}

	if opts.Observe, err = f.serve.start(cmd, plan, jobs, jobBackends); err != nil {
		return err
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
	bar := newProgress(stderr, jobs, jobBackends)
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
	f.serve.finish(cmd, sum, dir, errors.Join(runErr, renderErr))

	if err := printResult(cmd.OutOrStdout(), f.output, runResultOf(sum, dir), func(w io.Writer) error {
		printRunTable(w, sum)
		_, err := fmt.Fprintf(w, "\nrun folder: %s\n", dir)
		return err
	}); err != nil {
		return err
	}
	warnBusyRuns(stderr, sum)
	interrupted := cmd.Context().Err() != nil
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "meshbench: the run was interrupted; the summary is partial")
	case runErr != nil:
		fmt.Fprintln(stderr, "meshbench: runs failed; the summary holds what they measured before")
	}
	switch {
	case runErr != nil:
		return fmt.Errorf("run failed: %w", runErr)
	case renderErr != nil:
		return fmt.Errorf("render report: %w", renderErr)
	case interrupted:
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
// first. Hedges get a column when a run hedged.
func printRunTable(w io.Writer, s *bench.Summary) {
	hedged := false
	for _, r := range s.Runs {
		hedged = hedged || r.Hedges > 0
	}
	tw := newTable(w)
	head := "backend\tvariant\trepeat\trequests\tavailability\tp50 ms\tp99 ms\tp99.9 ms\tthroughput/s\tretries\t"
	if hedged {
		head += "hedges\t"
	}
	fmt.Fprintln(tw, head+"SLOs met\t")
	for _, r := range s.Runs {
		met := 0
		for _, v := range r.SLO {
			if v.Pass {
				met++
			}
		}
		slo := fmt.Sprintf("%d of %d", met, len(r.SLO))
		if len(r.SLO) == 0 {
			slo = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.4f%%\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t",
			r.Backend, r.Variant, r.Repeat, r.Requests, r.Availability*100,
			r.LatencyMS.P50, r.LatencyMS.P99, r.LatencyMS.P999, r.ThroughputRPS, r.Retries)
		if hedged {
			fmt.Fprintf(tw, "%d\t", r.Hedges)
		}
		fmt.Fprintf(tw, "%s\t\n", slo)
	}
	tw.Flush()
}

// runResult is what run prints with -o json|yaml: the run folder and each
// run's headline figures (summary.json holds everything).
type runResult struct {
	Dir     string        `json:"dir"`
	SLOPass bool          `json:"slo_pass"`
	Partial bool          `json:"partial,omitempty"`
	Runs    []runHeadline `json:"runs"`
}

type runHeadline struct {
	Backend       string  `json:"backend"`
	Variant       string  `json:"variant"`
	Repeat        int     `json:"repeat"`
	Requests      int64   `json:"requests"`
	Availability  float64 `json:"availability"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	P999MS        float64 `json:"p999_ms"`
	ThroughputRPS float64 `json:"throughput_rps"`
	Retries       int64   `json:"retries"`
	Hedges        int64   `json:"hedges"`
	SLOMet        int     `json:"slo_met"`
	SLOTotal      int     `json:"slo_total"`
	Error         string  `json:"error,omitempty"`
}

func runResultOf(s *bench.Summary, dir string) runResult {
	out := runResult{Dir: dir, SLOPass: s.SLOPass, Partial: s.Partial, Runs: []runHeadline{}}
	for _, r := range s.Runs {
		h := runHeadline{
			Backend: r.Backend, Variant: r.Variant, Repeat: r.Repeat, Requests: r.Requests,
			Availability: r.Availability, P50MS: r.LatencyMS.P50, P99MS: r.LatencyMS.P99, P999MS: r.LatencyMS.P999,
			ThroughputRPS: r.ThroughputRPS, Retries: r.Retries, Hedges: r.Hedges, SLOTotal: len(r.SLO), Error: r.Error,
		}
		for _, v := range r.SLO {
			if v.Pass {
				h.SLOMet++
			}
		}
		out.Runs = append(out.Runs, h)
	}
	return out
}

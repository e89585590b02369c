package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
	"github.com/spf13/cobra"
)

func init() { register(newGateCmd) }

type gateFlags struct {
	baseline      string
	maxRegression string
	alpha         float64
	junit         string
	markdown      string
	jsonFile      string
	output        string
	prediction    bool
}

func newGateCmd() *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate --baseline BASELINE CURRENT",
		Short: "Fail when CURRENT is significantly and materially worse than BASELINE",
		Long: `gate compares a current run with a baseline run (run folders, or
summary.json files), for every backend and variant present in both, metric by
metric: p50, p90, p99, p999 and mean latency, throughput, availability and
error_rate. The samples are the runs' repeats (meshbench run --repeat N).

A metric fails when it is both significantly worse — a two-sided
Mann–Whitney U test (golang.org/x/perf/benchmath), its p-value Holm-adjusted
over all checks, rejects "same distribution" at --alpha — and worse by more
than its allowed regression. With too few repeats for the test to reach
--alpha (one backend × variant: fewer than 6 a side), the allowed regression
alone decides, and the table says so.

--max-regression sets allowed regressions as METRIC=AMOUNT pairs: a
percentage of the baseline (p99=10%), or for availability and error_rate
percentage points (availability=0.1pp). Defaults: latencies 10%, throughput
5%, availability and error_rate 0.1pp.

A metric of one gateway route or one workload is checked too when named
as NAME.METRIC (checkout.p99=10%), from the run's per-route and
per-workload statistics; write route:NAME.METRIC or workload:NAME.METRIC
when a route and a workload share the name. An unknown name is a usage
error.

--fail-on-prediction also fails the gate when CURRENT ran the simulator
beside a real backend and a prediction's verdict failed: an error of p50,
p99, p99.9 or availability outside the scenario's prediction tolerance and
outside the real backend's run-to-run spread (a summary written before
predictions were stored is judged with the default tolerance).

Exit status: 0 pass, 1 regression (or failed prediction), 2 usage error (bad flags, missing or
unreadable runs, nothing in common).

--junit, --markdown and --json also write the verdict to files, for CI:
JUnit XML (one test case per check), Markdown for a job summary, and JSON
(the same record -o json prints: every check with its medians, change,
allowed regression, adjusted p-value and verdict).`,
		Example: `  meshbench gate --baseline runs/baseline runs/current
  meshbench gate --baseline baseline/summary.json runs/current --max-regression p99=10%,throughput=5% --junit gate.xml --json gate.json
  meshbench gate --baseline runs/baseline runs/current --max-regression checkout.p99=10%,lookup.availability=0.1pp`,
		Annotations: map[string]string{argsAnnotation: "the current run: a run folder or its summary.json; --baseline names the run to compare it with"},
		Args:        exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.baseline, "baseline", "", "baseline run folder or summary.json (`PATH`, required)")
	fl.StringVar(&f.maxRegression, "max-regression", "", "allowed regressions, `METRIC=AMOUNT,...` (e.g. p99=10%,throughput=5%,availability=0.1pp; a route's or workload's: checkout.p99=10%)")
	fl.Float64Var(&f.alpha, "alpha", bench.DefaultGateAlpha, "significance level of the Mann–Whitney U test")
	fl.StringVar(&f.junit, "junit", "", "also write the checks as JUnit XML to `FILE`")
	fl.BoolVar(&f.prediction, "fail-on-prediction", false, "also fail when a prediction of CURRENT (sim beside a real backend) is outside its tolerance")
	fl.StringVar(&f.markdown, "markdown", "", "also append the verdict as Markdown to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
	fl.StringVar(&f.jsonFile, "json", "", "also write the verdict as JSON to `FILE`")
	addOutputFlag(cmd, &f.output, outputTable)
	return cmd
}

func runGate(cmd *cobra.Command, current string, f gateFlags) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if f.baseline == "" {
		return usageErr(errors.New("gate: --baseline is required"))
	}
	if !(f.alpha > 0 && f.alpha < 1) {
		return usageErr(fmt.Errorf("gate: --alpha %v: want a number between 0 and 1", f.alpha))
	}
	tols, scoped, err := bench.ParseRegressions(f.maxRegression)
	if err != nil {
		return usageErr(fmt.Errorf("gate: --max-regression: %w", err))
	}
	base, err := reports.ReadSummary(f.baseline)
	if err != nil {
		return usageErr(fmt.Errorf("gate: baseline: %w", err))
	}
	cur, err := reports.ReadSummary(current)
	if err != nil {
		return usageErr(fmt.Errorf("gate: current: %w", err))
	}
	res, err := bench.Gate(base, cur, bench.GateOptions{Alpha: f.alpha, Tolerances: tols, Scoped: scoped})
	if err != nil {
		return usageErr(fmt.Errorf("gate: %w", err))
	}
	labels := reports.GateLabels{Baseline: f.baseline, Current: current}
	var failedPreds []string
	if f.prediction {
		preds, err := bench.PredictionsOf(cur)
		if err != nil {
			return usageErr(fmt.Errorf("gate: current: %w", err))
		}
		failedPreds = reports.PredictionFailures(preds)
	}
	verdict := reports.NewGateVerdict(res, labels)
	verdict.PredictionFailures = failedPreds
	verdict.Pass = verdict.Pass && len(failedPreds) == 0
	if err := printResult(cmd.OutOrStdout(), f.output, verdict, func(w io.Writer) error {
		if err := reports.WriteGateTable(w, res, labels); err != nil {
			return err
		}
		for _, line := range failedPreds {
			fmt.Fprintf(w, "prediction FAIL: %s\n", line)
		}
		return nil
	}); err != nil {
		return err
	}
	if f.junit != "" {
		var b bytes.Buffer
		if err := reports.WriteGateJUnit(&b, "meshbench gate "+cur.Scenario, res); err != nil {
			return err
		}
		if err := os.WriteFile(f.junit, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("gate: write --junit: %w", err)
		}
	}
	if f.markdown != "" {
		var b bytes.Buffer
		if err := reports.WriteGateMarkdown(&b, res, labels); err != nil {
			return err
		}
		if err := appendFile(f.markdown, b.Bytes()); err != nil {
			return fmt.Errorf("gate: write --markdown: %w", err)
		}
	}
	if f.jsonFile != "" {
		var b bytes.Buffer
		if err := reports.WriteGateJSON(&b, verdict); err != nil {
			return err
		}
		if err := os.WriteFile(f.jsonFile, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("gate: write --json: %w", err)
		}
	}
	switch {
	case !res.Pass:
		return failErr(fmt.Errorf("gate: %d of %d checks regressed", len(res.Failed()), len(res.Checks)))
	case len(failedPreds) > 0:
		return failErr(fmt.Errorf("gate: %d predictions outside their tolerance", len(failedPreds)))
	}
	return nil
}

// appendFile appends data to path, creating it: a CI job summary file may
// already hold what earlier commands of the step wrote.
func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

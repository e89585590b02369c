package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
)

// counting wraps the simulator, counting runs and cancelling a context
// after a number of them.
type counting struct {
	sim.Backend
	runs   atomic.Int64
	cancel context.CancelFunc
	after  int64
}

func (c *counting) Run(ctx context.Context, job bench.Job, sink bench.Sink) (bench.Outcome, error) {
	if n := c.runs.Add(1); c.cancel != nil && n > c.after {
		c.cancel()
		return bench.Outcome{}, ctx.Err()
	}
	return c.Backend.Run(ctx, job, sink)
}

func smallDef(t *testing.T, repeat int, flags ...string) (*scenarios.Plan, *Definition) {
	t.Helper()
	plan, err := scenarios.LoadBytes("mm1.yaml", []byte(strings.Replace(mm1Scenario, "duration: 40s", "duration: 8s", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var params scenarios.SweepParams
	for _, f := range flags {
		sp, err := scenarios.ParseSweepParam(f)
		if err != nil {
			t.Fatal(err)
		}
		params = append(params, sp)
	}
	def, err := NewDefinition(plan, params, DefineOptions{Repeat: repeat})
	if err != nil {
		t.Fatal(err)
	}
	return plan, def
}

func TestMetricNamesMatchScenarios(t *testing.T) {
	if !slices.Equal(MetricNames, scenarios.SweepMetrics) {
		t.Errorf("sweep.MetricNames %v\nscenarios.SweepMetrics %v", MetricNames, scenarios.SweepMetrics)
	}
}

func TestPointsCrossAndZip(t *testing.T) {
	plan, def := smallDef(t, 1, "topology.services.worker.replicas=4,5", "load.jobs.rate={from: 100/s, to: 300/s, step: 100/s}")
	if def.Points() != 6 {
		t.Fatalf("points %d, want 6", def.Points())
	}
	want := []string{"4 100/s", "4 200/s", "4 300/s", "5 100/s", "5 200/s", "5 300/s"}
	for i, w := range want {
		set := def.Point(i)
		if got := set[0].Value + " " + set[1].Value; got != w {
			t.Errorf("point %d: %s, want %s", i, got, w)
		}
	}
	sp1, _ := scenarios.ParseSweepParam("topology.services.worker.replicas=4,5,6")
	sp2, _ := scenarios.ParseSweepParam("load.jobs.rate=100/s,200/s,300/s")
	zdef, err := NewDefinition(plan, scenarios.SweepParams{sp1, sp2}, DefineOptions{Zip: true})
	if err != nil {
		t.Fatal(err)
	}
	if zdef.Points() != 3 || zdef.Point(2)[0].Value != "6" || zdef.Point(2)[1].Value != "300/s" {
		t.Errorf("zip: %d points, last %v", zdef.Points(), zdef.Point(2))
	}
	_, err = NewDefinition(plan, scenarios.SweepParams{sp1, sp2}, DefineOptions{MaxPoints: 8})
	if err == nil || !strings.Contains(err.Error(), "9 points (3 × 3), more than the maximum of 8") {
		t.Errorf("over max points: %v", err)
	}
}

func TestRunIsDeterministicWithCommonSeeds(t *testing.T) {
	plan, def := smallDef(t, 2, "topology.services.worker.replicas=5,6,7")
	run := func(workers int) []Row {
		res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}, Workers: workers})
		if err != nil || res.Partial {
			t.Fatalf("run: %v, partial %v", err, res.Partial)
		}
		return res.Rows
	}
	a, b := run(1), run(3)
	if !reflect.DeepEqual(a, b) {
		t.Error("rows differ between 1 and 3 workers")
	}
	if len(a) != 6 {
		t.Fatalf("%d rows, want 6", len(a))
	}
	for _, r := range a {
		if r.Seed != bench.RepeatSeed(plan.Seed, r.Repeat) {
			t.Errorf("point %d repeat %d: seed %d", r.Point, r.Repeat, r.Seed)
		}
		if r.Error != "" || r.Metrics[MetricRequests] == 0 || r.Metrics[MetricAvailability] != 1 {
			t.Errorf("row %+v", r)
		}
	}
	// Common random numbers: the same repeat offers the same requests at every point.
	if a[0].Metrics[MetricRequests] != a[2].Metrics[MetricRequests] || a[0].Metrics[MetricRequests] == a[1].Metrics[MetricRequests] {
		t.Errorf("requests by (point, repeat): %v %v %v", a[0].Metrics[MetricRequests], a[1].Metrics[MetricRequests], a[2].Metrics[MetricRequests])
	}
}

func TestCancelKeepsRowsAndResumeCompletes(t *testing.T) {
	plan, def := smallDef(t, 1, "topology.services.worker.replicas=4,5,6,7,8")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &counting{cancel: cancel, after: 2}
	j, err := OpenJournal(dir, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, plan, def, Options{Backend: b, Workers: 1, OnRow: j.Add})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if !res.Partial || len(res.Rows) != 2 {
		t.Fatalf("partial %v with %d rows, want 2 rows kept", res.Partial, len(res.Rows))
	}
	// The journal alone (a killed sweep) resumes.
	done, err := ReadFolder(dir, def)
	if err != nil || len(done) != 2 {
		t.Fatalf("journal: %d rows, %v", len(done), err)
	}
	if err := WriteFolder(dir, res, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, JournalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
	done, err = ReadFolder(dir, def)
	if err != nil || len(done) != 2 {
		t.Fatalf("folder: %d rows, %v", len(done), err)
	}
	b2 := &counting{}
	res2, err := Run(context.Background(), plan, def, Options{Backend: b2, Done: done})
	if err != nil || res2.Partial || len(res2.Rows) != 5 {
		t.Fatalf("resumed: %d rows, partial %v, %v", len(res2.Rows), res2.Partial, err)
	}
	if b2.runs.Load() != 3 {
		t.Errorf("resume ran %d runs, want the 3 missing", b2.runs.Load())
	}
	full, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full.Rows, res2.Rows) {
		t.Error("a resumed sweep differs from an uninterrupted one")
	}
	// Another sweep is refused.
	_, other := smallDef(t, 1, "topology.services.worker.replicas=4,5,6")
	if _, err := ReadFolder(dir, other); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("another sweep's folder: %v", err)
	}
	if _, err := ReadFolder(t.TempDir(), def); err == nil || !strings.Contains(err.Error(), "not a sweep folder") {
		t.Errorf("empty folder: %v", err)
	}
	for _, name := range []string{RowsCSV, RowsJSON, SweepJSON, SummaryMD} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, SummaryMD))
	if !strings.Contains(string(md), "**partial**") || !strings.Contains(string(md), "Common random numbers") {
		t.Errorf("summary.md:\n%s", md)
	}
}

func TestFaultMetricsAndInvalidPoints(t *testing.T) {
	src := strings.Replace(mm1Scenario, "duration: 40s", "duration: 10s", 1) +
		"faults:\n  - {at: 4s, for: 2s, action: slow, target: 'worker[0]', factor: 20}\n"
	plan, err := scenarios.LoadBytes("mm1.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := scenarios.ParseSweepParam("topology.services.worker.replicas=4,5")
	def, err := NewDefinition(plan, scenarios.SweepParams{a}, DefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A point the scenario refuses (a combination, or a value changed
	// after the checks) becomes a row with the error.
	def.Params[0].Values[1] = "0"
	res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	var errs int
	for _, r := range res.Rows {
		if r.Error != "" {
			errs++
			continue
		}
		fp, ok := r.Metrics[MetricFaultP99]
		if !ok || fp <= r.Metrics[MetricP50] {
			t.Errorf("point %d: fault p99 %v (ok %v), p50 %v", r.Point, fp, ok, r.Metrics[MetricP50])
		}
	}
	if errs != 1 || !strings.Contains(res.Rows[1].Error, "must be at least 1") {
		t.Errorf("%d error rows; second row %+v", errs, res.Rows[1])
	}
}

func TestConfirmMarkdown(t *testing.T) {
	cs := []Confirmation{
		{Label: "baseline", Point: -1, Runs: []bench.RunSummary{{Backend: "local", Untrustworthy: "behind"}},
			Predictions: []bench.Prediction{{Backend: "local", Verdict: "fail", Metrics: []bench.PredictionMetric{
				{Metric: "p99", Unit: "ms", Sim: 10, Real: 12, Error: -0.17, ErrorUnit: "relative", Tolerance: 0.15},
				{Metric: "availability", Unit: "ratio", Sim: 0.999, Real: 0.9991, Error: -0.01, ErrorUnit: "pp", Tolerance: 0.5, WithinTolerance: true},
			}}}},
		{Label: "point 3", Point: 3, Params: map[string]string{"policy.balancer.choices": "3"}, Error: "no local"},
	}
	md := ConfirmMarkdown(cs)
	for _, want := range []string{"| baseline |  | p99 | 10 ms | 12 ms | -0.17 relative | 0.15 | outside tolerance (the real run is untrustworthy",
		"| baseline |  | availability | 0.999 ratio | 0.9991 ratio | -0.01 pp | 0.5 | within tolerance (the real run is untrustworthy", "| point 3 | policy.balancer.choices=3 | – |", "error: no local"} {
		if !strings.Contains(md, want) {
			t.Errorf("missing %q in\n%s", want, md)
		}
	}
}

func TestTuneStopsOnTimeBudget(t *testing.T) {
	plan, _ := smallDef(t, 1, "topology.services.worker.replicas=4")
	sp, _ := scenarios.ParseSweepParam("topology.services.worker.replicas={from: 4, to: 12}")
	params := scenarios.SweepParams{sp}
	def, err := NewDefinition(plan, params, DefineOptions{Tune: true})
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	clock := func() time.Time { now = now.Add(time.Second); return now } // a second per look
	var seen []Progress
	tr, err := Tune(context.Background(), plan, def, params,
		TuneSpec{Metric: MetricP99, BudgetRuns: 100, BudgetTime: 5 * time.Second, Repeats: 2},
		Options{Backend: sim.Backend{}, Clock: clock, Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Search.StoppedBy != "stopped" || tr.Search.Runs >= 100 || len(tr.Rows) != tr.Search.Runs {
		t.Errorf("stopped by %q after %d runs (%d rows)", tr.Search.StoppedBy, tr.Search.Runs, len(tr.Rows))
	}
	if len(seen) == 0 || seen[len(seen)-1].Runs != tr.Search.Runs || seen[len(seen)-1].ETA > 5*time.Second {
		t.Errorf("progress %+v", seen)
	}
	if tr.Best == nil || tr.Best.Repeats < 2 {
		t.Errorf("best %+v", tr.Best)
	}
	dir := t.TempDir()
	if err := WriteTune(dir, def, tr, "q?"); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, SummaryMD))
	if !strings.Contains(string(md), "## Tuning") || !strings.Contains(string(md), "stopped by stopped") {
		t.Errorf("summary.md:\n%s", md)
	}
}

// TestTuneResume: a tune interrupted mid-batch keeps its finished runs;
// resumed from the journal alone or from the written folder, it retraces
// its path without running them again and ends as an uninterrupted tune
// does. Another scenario or search is refused; another budget is not.
func TestTuneResume(t *testing.T) {
	plan, _ := smallDef(t, 1, "topology.services.worker.replicas=4")
	sp, _ := scenarios.ParseSweepParam("topology.services.worker.replicas={from: 3, to: 12}")
	rate, _ := scenarios.ParseSweepParam("load.jobs.rate={from: 200/s, to: 350/s}")
	params := scenarios.SweepParams{sp, rate}
	def, err := NewDefinition(plan, params, DefineOptions{Tune: true})
	if err != nil {
		t.Fatal(err)
	}
	// Two dimensions: 10 points × 2 repeats explore, for any budget from 40 runs.
	spec := TuneSpec{Metric: MetricP99, BudgetRuns: 40, Repeats: 2,
		Constraints: []scenarios.Constraint{{Metric: MetricAvailability, Min: true, Value: 0.99}}}.Resolved(def)
	full, err := Tune(context.Background(), plan, def, params, spec, Options{Backend: sim.Backend{}, Workers: 2})
	if err != nil || full.Partial || full.Search == nil || full.Search.StoppedBy != "budget" {
		t.Fatalf("uninterrupted tune: %v (%+v)", err, full.Search)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j, err := OpenJournal(dir, def, &spec)
	if err != nil {
		t.Fatal(err)
	}
	b := &counting{cancel: cancel, after: 7} // inside the first batch
	cut, err := Tune(ctx, plan, def, params, spec, Options{Backend: b, Workers: 1, OnRow: j.Add})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if !cut.Partial || len(cut.Rows) != 7 || cut.Search != nil {
		t.Fatalf("interrupted: partial %v, %d rows, want the 7 finished", cut.Partial, len(cut.Rows))
	}
	resume := func(done []Row, spec TuneSpec) (*TuneResult, int64) {
		t.Helper()
		b := &counting{}
		tr, err := Tune(context.Background(), plan, def, params, spec, Options{Backend: b, Workers: 2, Done: done})
		if err != nil {
			t.Fatal(err)
		}
		return tr, b.runs.Load()
	}
	same := func(what string, tr *TuneResult) {
		t.Helper()
		if tr.Partial || !reflect.DeepEqual(tr.Rows, full.Rows) || !reflect.DeepEqual(tr.Search, full.Search) ||
			!reflect.DeepEqual(tr.Best, full.Best) || !reflect.DeepEqual(tr.Points, full.Points) {
			t.Errorf("%s: the resumed tune differs from an uninterrupted one", what)
		}
	}
	// The journal alone (a tune killed outright).
	done, err := ReadTuneFolder(dir, def, spec)
	if err != nil || len(done) != 7 {
		t.Fatalf("journal: %d rows, %v", len(done), err)
	}
	tr, runs := resume(done, spec)
	same("from the journal", tr)
	if want := int64(full.Search.Runs - 7); runs != want {
		t.Errorf("from the journal: ran %d runs, want %d", runs, want)
	}
	// The folder written at Ctrl-C.
	if err := WriteTune(dir, def, cut, ""); err != nil {
		t.Fatal(err)
	}
	if done, err = ReadTuneFolder(dir, def, spec); err != nil || len(done) != 7 {
		t.Fatalf("folder: %d rows, %v", len(done), err)
	}
	tr, runs = resume(done, spec)
	same("from the folder", tr)
	if want := int64(full.Search.Runs - 7); runs != want {
		t.Errorf("from the folder: ran %d runs, want %d", runs, want)
	}
	// A larger budget goes on from the whole tune.
	if err := WriteTune(dir, def, tr, ""); err != nil {
		t.Fatal(err)
	}
	more := spec
	more.BudgetRuns = 60
	if done, err = ReadTuneFolder(dir, def, more); err != nil || len(done) != full.Search.Runs {
		t.Fatalf("another budget: %d rows, %v", len(done), err)
	}
	tr, runs = resume(done, more)
	if runs == 0 || runs != int64(tr.Search.Runs-full.Search.Runs) || len(tr.Rows) != tr.Search.Runs {
		t.Errorf("larger budget: ran %d, search %d runs, %d rows, resumed %d", runs, tr.Search.Runs, len(tr.Rows), full.Search.Runs)
	}

	// Refusals.
	other := spec
	other.Maximize, other.Metric = true, MetricThroughput
	if _, err := ReadTuneFolder(dir, def, other); err == nil || !strings.Contains(err.Error(), "holds another search (minimise p99_ms subject to availability>=0.99, 2 repeats at first; this one: maximise throughput_rps") {
		t.Errorf("another search: %v", err)
	}
	sp2, _ := scenarios.ParseSweepParam("topology.services.worker.replicas={from: 3, to: 10}")
	def2, err := NewDefinition(plan, scenarios.SweepParams{sp2, rate}, DefineOptions{Tune: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTuneFolder(dir, def2, spec); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("another box: %v", err)
	}
	// A journal alone of another box is refused too.
	jdir := t.TempDir()
	j2, err := OpenJournal(jdir, def2, &spec)
	if err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if _, err := ReadTuneFolder(jdir, def, spec); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("another box's journal: %v", err)
	}
	// A sweep's folder is not a tune's.
	_, sdef := smallDef(t, 1, "topology.services.worker.replicas=4,5")
	sdir := t.TempDir()
	if err := WriteFolder(sdir, &Result{Definition: sdef}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTuneFolder(sdir, def, spec); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("a sweep's folder: %v", err)
	}
	if _, err := ReadTuneFolder(sdir, sdef, spec); err == nil || !strings.Contains(err.Error(), "not a tune folder") {
		t.Errorf("a sweep's folder, same hash: %v", err)
	}
}

// TestKneeMetric: on a load that rises in steps under a latency SLO (the
// library's capacity-knee, shortened), each row has the run's knee, the
// same figure `meshbench run` reports for the same run (its per-second
// buckets through bench.KneeOf); more replicas move it up. A load that does
// not rise in steps has none.
func TestKneeMetric(t *testing.T) {
	plan, err := scenarios.Load("../../scenarios/library/capacity-knee.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan = plan.WithDuration(plan.Duration / 2)
	a, _ := scenarios.ParseSweepParam("topology.services.payments.replicas=4,8")
	def, err := NewDefinition(plan, scenarios.SweepParams{a}, DefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	var knees []float64
	for _, r := range res.Rows {
		k, ok := r.Metrics[MetricKnee]
		if !ok || r.Error != "" {
			t.Fatalf("point %d: no knee (%q): %v", r.Point, r.Error, r.Metrics)
		}
		knees = append(knees, k)
		p, rs := runOfRow(t, plan, def, r)
		want := bench.KneeOf(p, 0, scenarios.BackendSim, rs.Buckets)
		if want == nil || want.Bound == bench.KneeBelow || want.RateRPS != k {
			t.Errorf("point %d: knee %v in the row, %+v from the run's buckets", r.Point, k, want)
		}
	}
	if knees[1] <= knees[0] {
		t.Errorf("knees %v: eight replicas must hold more load than four", knees)
	}
	src := strings.Replace(mm1Scenario, "duration: 40s", "duration: 8s", 1)
	flat, err := scenarios.LoadBytes("mm1.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := scenarios.ParseSweepParam("topology.services.worker.replicas=4")
	fdef, err := NewDefinition(flat, scenarios.SweepParams{b}, DefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fres, err := Run(context.Background(), flat, fdef, Options{Backend: sim.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fres.Rows[0].Metrics[MetricKnee]; ok {
		t.Errorf("a constant load got a knee: %v", fres.Rows[0].Metrics)
	}
}

// runOfRow runs a sweep row's point again through a run's aggregation, as
// `meshbench run` would: the point's plan and the run's summary.
func runOfRow(t *testing.T, plan *scenarios.Plan, def *Definition, r Row) (*scenarios.Plan, bench.RunSummary) {
	t.Helper()
	p, err := plan.Point(def.Variant, def.Point(r.Point), nil)
	if err != nil {
		t.Fatal(err)
	}
	agg := bench.NewAggregator(p.Warmup, 0)
	if _, err := (sim.Backend{}).Run(context.Background(), bench.Job{Plan: p, Variant: 0, Seed: r.Seed}, agg); err != nil {
		t.Fatal(err)
	}
	rs, err := agg.Summarize(p.Duration)
	if err != nil {
		t.Fatal(err)
	}
	return p, rs
}

// TestWorkloadSLOFeasibility: a sweep row's feasibility judges an SLO on
// one workload as `meshbench run` judges it, on that workload's requests
// alone (the same run through a run's aggregation and bench.EvaluateSLOs),
// and the points differ in it: two replicas cannot keep the small
// workload's p99 down, eight can.
func TestWorkloadSLOFeasibility(t *testing.T) {
	src := strings.Replace(mm1Scenario, "duration: 40s", "duration: 10s", 1)
	src = strings.Replace(src, `load:
  - name: jobs
    target: {method: GET, path: /work}
    arrival: poisson
    rate: 300/s`, `load:
  - name: jobs
    target: {method: GET, path: /work}
    arrival: poisson
    rate: 250/s
  - name: probes
    target: {method: GET, path: /work}
    arrival: poisson
    rate: 20/s`, 1)
	src = strings.Replace(src, "  - {metric: p99, max: 100ms}", "  - {metric: p99, max: 100ms, workload: probes}\n  - {metric: availability, min: \"99%\", workload: probes}", 1)
	plan, err := scenarios.LoadBytes("mm1-probes.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := scenarios.ParseSweepParam("topology.services.worker.replicas=2,8")
	def, err := NewDefinition(plan, scenarios.SweepParams{a}, DefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	var feasible []bool
	for _, r := range res.Rows {
		if r.Error != "" {
			t.Fatalf("point %d: %s", r.Point, r.Error)
		}
		p, rs := runOfRow(t, plan, def, r)
		sum := bench.Summary{Runs: []bench.RunSummary{rs}}
		if want := bench.EvaluateSLOs(p, &sum); r.Feasible != want {
			t.Errorf("point %d: feasible %v in the row, %v by the run's verdicts %+v", r.Point, r.Feasible, want, sum.Runs[0].SLO)
		}
		feasible = append(feasible, r.Feasible)
	}
	if !reflect.DeepEqual(feasible, []bool{false, true}) {
		t.Errorf("feasible %v, want [false true]: two replicas are overloaded, eight are not", feasible)
	}
}

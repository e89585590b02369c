package book

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
	"github.com/meshbench/meshbench/scenarios"
)

// LocalDir is the local part's folder inside the book; everything else in
// the book is the simulator's part.
const LocalDir = "local"

// plotDPI is the book's PNG resolution: an 8-inch-wide chart at 80 dpi
// is readable on a page and keeps the checked-in images small.
const plotDPI = 80

// Machine is where a local part's runs happened.
type Machine struct {
	CPUModel  string `json:"cpu_model"`
	CPUs      int    `json:"cpus"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
	Commit    string `json:"commit"`
	// Date is the UTC day the run finished (YYYY-MM-DD).
	Date string `json:"date"`
	// Rescaled is true when the timeline was rescaled with --duration.
	Rescaled bool `json:"rescaled"`
	// Calibration names the calibration profile the simulator charged
	// (its file and when it was measured); empty: none.
	Calibration string `json:"calibration,omitempty"`
	// HostCores is the simulator's host model's cores; 0: no host model
	// beyond the scenario's own.
	HostCores int `json:"host_cores,omitempty"`
}

// CurrentMachine describes this machine now.
func CurrentMachine(now time.Time) *Machine {
	env := bench.CurrentEnvironment(now, nil)
	kernel := ""
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(raw))
	}
	return &Machine{
		CPUModel: env.CPUModel, CPUs: env.CPUs, Kernel: kernel,
		OS: env.Build.OS, Arch: env.Build.Arch, GoVersion: env.Build.GoVersion,
		Commit: env.Build.Commit, Date: now.UTC().Format("2006-01-02"),
	}
}

// Log, when not nil, is told what the generator is doing.
type Log func(format string, args ...any)

func (l Log) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// entryPlan loads a library entry.
func entryPlan(e scenarios.Entry) (*scenarios.Plan, error) {
	return scenarios.LoadBytes(e.Name+".yaml", e.Source)
}

// GenerateSim writes the simulator's part of the book into dir, which it
// creates: README.md, <name>.md and <name>/ (results.json, PNG plots) for
// every entry. Each scenario that lists the simulator runs on it at full
// length with its own seed, so the output depends on the library and the
// code only: byte-identical wherever it is generated.
func GenerateSim(ctx context.Context, dir string, entries []scenarios.Entry, log Log) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "meshbench-book-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var index []indexRow
	for _, e := range entries {
		plan, err := entryPlan(e)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		row := indexRow{Name: e.Name, Question: plan.Question(), Sim: contains(plan.Backends, "sim"), Local: contains(plan.Backends, "local")}
		var res *Results
		var plots []plotRef
		if row.Sim {
			start := time.Now()
			res, plots, err = runAndRender(ctx, plan, []string{"sim"}, 1, filepath.Join(work, e.Name), filepath.Join(dir, e.Name), simPlots, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Name, err)
			}
			row.Winner = res.Winner["sim"]
			row.Passed, row.SLOs = sloCount(res, "sim")
			row.Variants = variantCount(res, "sim")
			log.printf("book: sim %-20s %s", e.Name, time.Since(start).Round(time.Millisecond))
		}
		var page bytes.Buffer
		writeSimPage(&page, e.Path, plan, res, plots)
		if err := os.WriteFile(filepath.Join(dir, e.Name+".md"), page.Bytes(), 0o644); err != nil {
			return err
		}
		index = append(index, row)
	}
	var readme bytes.Buffer
	writeIndex(&readme, index)
	return os.WriteFile(filepath.Join(dir, "README.md"), readme.Bytes(), 0o644)
}

// LocalOptions configures GenerateLocal.
type LocalOptions struct {
	// Duration, when positive, rescales every scenario's timeline (load,
	// faults, warm-up) to this length; 0 runs them at full length.
	Duration time.Duration
	// Repeat, when above one, runs each backend × variant this many times
	// (as run --repeat), so that a page's figures are medians over runs
	// with their spreads beside them: the local backend's p99 moves from
	// run to run, and one run cannot tell the simulator's error from that.
	Repeat int
	// Now stamps the machine facts (time.Now when zero).
	Now func() time.Time
	Log Log
	// Prepare, when set, adjusts each plan before it runs (the command
	// line applies a calibration profile and a host model with it).
	Prepare func(*scenarios.Plan) (*scenarios.Plan, error)
	// Calibration and HostCores are written in the machine facts: what
	// Prepare applied.
	Calibration string
	HostCores   int
	// Index are the scenarios local/README.md lists, each when its
	// results are present; nil: the entries run. The command line passes
	// the whole library, so that running a few scenarios again keeps the
	// others' rows.
	Index []scenarios.Entry
}

// GenerateLocal runs each entry that lists the local backend on the
// simulator and on the local backend, at the same (possibly rescaled)
// duration, and writes local/<name>.md and local/<name>/ (results.json
// with the machine facts, PNG plots) under dir, then local/README.md from
// every local result present (so scenarios can be run a few at a time).
func GenerateLocal(ctx context.Context, dir string, entries []scenarios.Entry, opts LocalOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ldir := filepath.Join(dir, LocalDir)
	if err := os.MkdirAll(ldir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "meshbench-book-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, e := range entries {
		plan, err := entryPlan(e)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if !contains(plan.Backends, "local") {
			opts.Log.printf("book: local %-20s skipped: the scenario does not list the local backend", e.Name)
			continue
		}
		if opts.Duration > 0 {
			plan = plan.WithDuration(opts.Duration)
		}
		if opts.Prepare != nil {
			if plan, err = opts.Prepare(plan); err != nil {
				return fmt.Errorf("%s: %w", e.Name, err)
			}
		}
		start := time.Now()
		machine := CurrentMachine(opts.Now())
		machine.Rescaled = opts.Duration > 0
		machine.Calibration, machine.HostCores = opts.Calibration, opts.HostCores
		// The simulator runs beside the machine at the same duration,
		// unless the scenario leaves it out (a question only a real
		// backend answers, such as a ledger's double charges).
		backends := []string{"local"}
		if contains(plan.Backends, "sim") {
			backends = []string{"sim", "local"}
		}
		res, plots, err := runAndRender(ctx, plan, backends, opts.Repeat, filepath.Join(work, e.Name), filepath.Join(ldir, e.Name), localPlots, machine)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		var page bytes.Buffer
		writeLocalPage(&page, e.Path, plan, res, plots)
		if err := os.WriteFile(filepath.Join(ldir, e.Name+".md"), page.Bytes(), 0o644); err != nil {
			return err
		}
		opts.Log.printf("book: local %-20s %s", e.Name, time.Since(start).Round(time.Second))
	}
	if opts.Index != nil {
		entries = opts.Index
	}
	return writeLocalIndex(ldir, entries)
}

// plotChoice picks which of the report's plots a page shows.
type plotChoice func(name string, res *Results) bool

// simPlots: the variants side by side (when there are several), latency
// and availability over time, the gateway's retries and hedges over time
// (when it made any), the spectrum, and the per-route and
// per-workload spectra the report draws when there are several.
func simPlots(name string, res *Results) bool {
	switch name {
	case "variants":
		return variantCount(res, "sim") > 1
	case "latency-over-time", "latency-spectrum", "latency-spectrum-routes", "latency-spectrum-workloads":
		return true
	case "availability-over-time":
		for _, r := range res.Runs {
			if r.Availability < 1 {
				return true
			}
		}
	case "retries-over-time":
		for _, r := range res.Runs {
			if r.Retries+r.Hedges > 0 {
				return true
			}
		}
	}
	return false
}

// localPlots: the prediction beside the measurement first, then the
// variants and latency over time on both backends.
func localPlots(name string, _ *Results) bool {
	switch name {
	case "prediction", "variants", "latency-over-time":
		return true
	}
	return false
}

type plotRef struct {
	File, Title, Caption string
}

// runAndRender runs plan on backends, repeat times each (at least once),
// with a run folder in work, renders
// the report's PNG plots there, and copies results.json and the chosen
// plots into out (replaced whole).
func runAndRender(ctx context.Context, plan *scenarios.Plan, backends []string, repeat int, work, out string, choose plotChoice, machine *Machine) (*Results, []plotRef, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, nil, err
	}
	opts := bench.RunOptions{Backends: backends, Repeat: max(1, repeat)}
	if machine != nil {
		opts.Dir = work // a real backend's raw records
	}
	sum, err := bench.Run(ctx, plan, opts)
	if err != nil {
		return nil, nil, err
	}
	if sum.Partial {
		return nil, nil, errors.New("the run was interrupted")
	}
	raw, err := sum.Marshal()
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(work, reports.SummaryFile), raw, 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(work, reports.ScenarioFile), plan.Source, 0o644); err != nil {
		return nil, nil, err
	}
	run, err := reports.LoadRun(work)
	if err != nil {
		return nil, nil, err
	}
	tl := run.Timeline
	if plan.Duration > 0 && tl.Duration > 0 && tl.Duration != plan.Duration {
		// The scenario text is the full-length one; a rescaled plan's
		// windows are scaled with it.
		tl = scaleTimeline(tl, plan.Duration)
	}
	files, err := reports.RenderPlots(work, sum, tl, reports.PlotOptions{Formats: []string{reports.FormatPNG}, DPI: plotDPI})
	if err != nil {
		return nil, nil, err
	}
	res := NewResults(sum, plan.Duration.Seconds(), plan.Warmup.Seconds())
	res.Machine = machine
	if contains(backends, "local") && contains(backends, "sim") {
		res.Agreement = Agreement(sum, "local")
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, err
	}
	js, err := res.Marshal()
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), js, 0o644); err != nil {
		return nil, nil, err
	}
	var refs []plotRef
	for _, f := range files {
		png := f.File(reports.FormatPNG)
		if png == "" || !choose(f.Name, res) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(work, png))
		if err != nil {
			return nil, nil, err
		}
		base := f.Name + ".png"
		if err := os.WriteFile(filepath.Join(out, base), data, 0o644); err != nil {
			return nil, nil, err
		}
		refs = append(refs, plotRef{File: filepath.Base(out) + "/" + base, Title: f.Title, Caption: f.Caption})
	}
	// The prediction beside the measurement is the local page's point:
	// it goes first.
	sort.SliceStable(refs, func(i, j int) bool {
		return strings.HasSuffix(refs[i].File, "/prediction.png") && !strings.HasSuffix(refs[j].File, "/prediction.png")
	})
	return res, refs, nil
}

// scaleTimeline rescales a full-length scenario's windows to duration d,
// as Plan.WithDuration rescales the plan.
func scaleTimeline(tl reports.Timeline, d time.Duration) reports.Timeline {
	f := float64(d) / float64(tl.Duration)
	sc := func(x time.Duration) time.Duration { return time.Duration(float64(x) * f) }
	out := reports.Timeline{Warmup: sc(tl.Warmup), Duration: d}
	for _, w := range tl.Faults {
		w.Start, w.End = sc(w.Start), sc(w.End)
		out.Faults = append(out.Faults, w)
	}
	return out
}

func sloCount(res *Results, backend string) (passed, total int) {
	for _, r := range res.Runs {
		if r.Backend != backend {
			continue
		}
		for _, v := range r.SLO {
			total++
			if v.Pass {
				passed++
			}
		}
	}
	return passed, total
}

func variantCount(res *Results, backend string) int {
	n := 0
	for _, r := range res.Runs {
		if r.Backend == backend {
			n++
		}
	}
	return n
}

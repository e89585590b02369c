package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/tune"
	"github.com/meshbench/meshbench/scenarios"
)

// TuneFile is the tuner's file in a sweep folder.
const TuneFile = "tune.json"

// DefaultTuneBudget is the runs a tune makes without a budget.
const DefaultTuneBudget = 200

// TuneSpec is what a tune optimises: one metric, minimised unless
// Maximize, subject to constraints, within a budget of runs and time.
type TuneSpec struct {
	Metric      string                 `json:"metric"`
	Maximize    bool                   `json:"maximize"`
	Constraints []scenarios.Constraint `json:"constraints"`
	BudgetRuns  int                    `json:"budget_runs"`
	BudgetTime  time.Duration          `json:"-"`
	// Repeats per point at first (the tuner adds more when comparing).
	Repeats int `json:"repeats"`
}

// Resolved is s with the defaults a tune of def applies: DefaultTuneBudget
// runs, and max(def.Repeat, 3) repeats per point at first.
func (s TuneSpec) Resolved(def *Definition) TuneSpec {
	if s.BudgetRuns <= 0 {
		s.BudgetRuns = DefaultTuneBudget
	}
	if s.Repeats <= 0 {
		s.Repeats = max(def.Repeat, 3)
	}
	return s
}

// search writes what decides a tune's path besides its definition: the
// objective, the constraints and the repeats per point at first (not the
// budgets, which a resumed tune may change).
func (s TuneSpec) search() string {
	dir := "minimise"
	if s.Maximize {
		dir = "maximise"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", dir, s.Metric)
	for i, c := range s.Constraints {
		if i == 0 {
			b.WriteString(" subject to ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	fmt.Fprintf(&b, ", %d repeats at first", s.Repeats)
	return b.String()
}

// ReadTuneFolder reads a tune's folder for --resume, as ReadFolder reads a
// sweep's, and also refuses a folder of another search: spec (resolved)
// must have the objective, constraints and repeats of the folder's tune
// (tune.json's, else the journal's). The budgets may differ.
func ReadTuneFolder(dir string, def *Definition, spec TuneSpec) ([]Row, error) {
	rows, head, err := readFolder(dir, def)
	if err != nil {
		return nil, err
	}
	var have *TuneSpec
	if raw, err := os.ReadFile(filepath.Join(dir, TuneFile)); err == nil {
		var tr TuneResult
		if err := json.Unmarshal(raw, &tr); err != nil {
			return nil, fmt.Errorf("resume: %s: %w", filepath.Join(dir, TuneFile), err)
		}
		have = &tr.Spec
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("resume: %w", err)
	} else if head != nil {
		have = head.Tune
	}
	if have == nil {
		return nil, fmt.Errorf("resume %s: not a tune folder (no %s, and no journal of a tune)", dir, TuneFile)
	}
	if got, want := have.search(), spec.search(); got != want {
		return nil, fmt.Errorf("resume %s: the folder holds another search (%s; this one: %s); use a new --out", dir, got, want)
	}
	return rows, nil
}

// TuneResult is a tune's outcome: the search, its rows, and the best
// setting with its metrics' intervals.
type TuneResult struct {
	Spec   TuneSpec     `json:"spec"`
	Search *tune.Result `json:"search"`
	// Best is the best point, over its repeats.
	Best *PointSummary `json:"best"`
	// Points are the settings of every point evaluated, by point number.
	Points  []map[string]string `json:"points"`
	Rows    []Row               `json:"-"`
	Partial bool                `json:"partial"`
}

// Tune searches the box the sweep's parameters make (ranges as
// continuous, integer or log dimensions; value lists as categories) for
// the setting that optimises spec, with bench/tune's search. Every
// evaluation is one simulator run reduced to a Row, repeat r with the
// same seed at every point (common random numbers), run on opts.Workers.
//
// opts.Done resumes a tune (ReadTuneFolder's rows): the search is
// deterministic given its seed and its outcomes, so it retraces its path,
// taking each point × repeat it meets from Done (matched by settings and
// repeat, renumbered in the order met) instead of running it, and goes on
// from where the tune stopped. Done rows it does not meet (an interrupted
// batch's, or another budget's path) stay in the result. When ctx is
// cancelled the runs that finished are kept and the result is partial.
func Tune(ctx context.Context, plan *scenarios.Plan, def *Definition, params scenarios.SweepParams, spec TuneSpec, opts Options) (*TuneResult, error) {
	if opts.Backend == nil {
		return nil, fmt.Errorf("tune: no backend")
	}
	if !slices.Contains(MetricNames, spec.Metric) {
		return nil, fmt.Errorf("tune: unknown metric %q (metrics: %s)", spec.Metric, strings.Join(MetricNames, ", "))
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	spec = spec.Resolved(def)
	dims := make([]tune.Dim, len(params))
	domains := make([]*scenarios.SweepDomain, len(params))
	values := make([][]string, len(params))
	for i, sp := range params {
		if sp.Range != nil {
			d, err := sp.Range.Bounds()
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", sp.At, sp.Path, err)
			}
			domains[i] = &d
			dims[i] = tune.Dim{Name: sp.Path, Lo: d.From, Hi: d.To, Int: d.Int, Log: d.Log}
			continue
		}
		vs, _ := sp.Expand()
		values[i] = vs
		dims[i] = tune.Dim{Name: sp.Path, Levels: len(vs)}
	}
	settings := func(x []float64) []scenarios.Override {
		set := make([]scenarios.Override, len(params))
		for i, sp := range params {
			v := ""
			if domains[i] != nil {
				v = domains[i].Format(x[i])
			} else {
				v = values[i][int(x[i])]
			}
			set[i] = scenarios.Override{Path: sp.Path, Value: v}
		}
		return set
	}
	res := &TuneResult{Spec: spec}
	pointOf := map[string]int{}
	// point numbers the settings in the order the search meets them.
	point := func(set []scenarios.Override) int {
		k := fmt.Sprint(set)
		p, ok := pointOf[k]
		if !ok {
			p = len(res.Points)
			pointOf[k] = p
			params, _ := ParamsOf(set)
			res.Points = append(res.Points, params)
		}
		return p
	}
	// The rows of a resumed tune, by settings and repeat; failed rows run again.
	resumed := map[string]Row{}
	var resumedOrder []string
	for _, r := range opts.Done {
		k := doneKey(def, r.Params, r.Repeat)
		if _, dup := resumed[k]; r.Error == "" && !dup {
			resumed[k] = r
			resumedOrder = append(resumedOrder, k)
		}
	}
	var rowsMu sync.Mutex
	start := clock()
	done, ran := 0, 0
	eval := func(xs [][]float64, repeats []int) ([][]tune.Outcome, error) {
		type job struct {
			i, point, repeat int
			set              []scenarios.Override
		}
		var jobs []job
		rows := make([]Row, 0, len(xs)*len(repeats))
		// finished: the row is whole (resumed, or its run ended); a run
		// cut short by ctx leaves no row.
		var finished []bool
		var fresh []int       // the jobs to run
		var resumedJob []bool // the jobs taken from opts.Done
		for i, x := range xs {
			set := settings(x)
			p := point(set)
			params, _ := ParamsOf(set)
			for _, r := range repeats {
				k := doneKey(def, params, r)
				row, ok := resumed[k]
				if ok {
					delete(resumed, k)
					row.Point = p
				} else {
					fresh = append(fresh, len(jobs))
				}
				jobs = append(jobs, job{i: i, point: p, repeat: r, set: set})
				rows = append(rows, row)
				finished = append(finished, ok)
				resumedJob = append(resumedJob, ok)
			}
		}
		next := make(chan int)
		var wg sync.WaitGroup
		plans := sync.Map{}
		for range min(workers, len(fresh)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				red := newReducer()
				for j := range next {
					jb := jobs[j]
					row := Row{Point: jb.point, Repeat: jb.repeat, Seed: bench.RepeatSeed(def.Seed, jb.repeat)}
					row.Params, row.X = ParamsOf(jb.set)
					type built struct {
						p   *scenarios.Plan
						err error
					}
					b, ok := plans.Load(jb.point)
					if !ok {
						pp, err := plan.Point(def.Variant, jb.set, nil)
						b, _ = plans.LoadOrStore(jb.point, built{pp, err})
					}
					bp := b.(built)
					if bp.err != nil {
						row.Error = bp.err.Error()
					} else if err := red.runOne(ctx, opts.Backend, bp.p, jb.repeat, row.Seed, &row); err != nil {
						if ctx.Err() != nil {
							continue // interrupted: the run did not finish, leave no row
						}
						row.Error = err.Error()
					}
					rows[j], finished[j] = row, true
				}
			}()
		}
	feed:
		for _, j := range fresh {
			select {
			case next <- j:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		rowsMu.Lock()
		defer rowsMu.Unlock()
		// keep records a finished row: in the result, and in the journal
		// when it ran now.
		keep := func(j int) error {
			res.Rows = append(res.Rows, rows[j])
			done++
			if !resumedJob[j] {
				ran++
				if opts.OnRow != nil {
					return opts.OnRow(rows[j])
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			for j := range jobs {
				if finished[j] {
					if err := keep(j); err != nil {
						return nil, err
					}
				}
			}
			return nil, ctx.Err()
		}
		out := make([][]tune.Outcome, len(xs))
		for j, jb := range jobs {
			row := rows[j]
			if err := keep(j); err != nil {
				return nil, err
			}
			o := tune.Outcome{Repeat: jb.repeat, Err: row.Error}
			if o.Err == "" {
				v, ok := row.Metrics[spec.Metric]
				if !ok {
					o.Err = "no " + spec.Metric
				}
				o.Objective = v
				for _, c := range spec.Constraints {
					cv, ok := row.Metrics[c.Metric]
					if !ok {
						cv = math.NaN()
						o.Err = "no " + c.Metric
					}
					o.Constraints = append(o.Constraints, cv)
				}
			}
			out[jb.i] = append(out[jb.i], o)
		}
		if opts.Progress != nil {
			elapsed := clock().Sub(start)
			var eta time.Duration
			if ran > 0 { // the time left is that of runs, not of resumed rows
				eta = time.Duration(float64(elapsed) / float64(ran) * float64(max(spec.BudgetRuns-done, 0)))
			}
			if spec.BudgetTime > 0 {
				eta = min(eta, max(spec.BudgetTime-elapsed, 0))
			}
			opts.Progress(Progress{Runs: done, TotalRuns: spec.BudgetRuns, Points: len(res.Points), ETA: eta})
		}
		return out, nil
	}
	cons := make([]tune.Constraint, len(spec.Constraints))
	for i, c := range spec.Constraints {
		cons[i] = tune.Constraint{Name: c.Metric, Min: c.Min, Bound: c.Value}
	}
	search, err := tune.Search(tune.Problem{
		Dims: dims, Maximize: spec.Maximize, Constraints: cons, Evaluate: eval,
		BudgetRuns: spec.BudgetRuns, Repeats: spec.Repeats, Seed: def.Seed,
		Stop: func() bool {
			return ctx.Err() != nil || spec.BudgetTime > 0 && clock().Sub(start) >= spec.BudgetTime
		},
	})
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	res.Search = search
	res.Partial = ctx.Err() != nil
	// Resumed rows the search did not meet stay, numbered after its points.
	for _, k := range resumedOrder {
		if r, ok := resumed[k]; ok {
			set := make([]scenarios.Override, 0, len(params))
			for _, sp := range params {
				set = append(set, scenarios.Override{Path: sp.Path, Value: r.Params[sp.Path]})
			}
			r.Point = point(set)
			res.Rows = append(res.Rows, r)
		}
	}
	sort.Slice(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		return a.Point < b.Point || a.Point == b.Point && a.Repeat < b.Repeat
	})
	if search != nil && search.Best != nil {
		k := fmt.Sprint(settings(search.Best.X))
		for _, ps := range Summarize(res.Rows) {
			if ps.Point == pointOf[k] {
				best := ps
				res.Best = &best
			}
		}
	}
	return res, nil
}

// doneKey identifies a row by its settings (in the definition's parameter
// order) and repeat.
func doneKey(def *Definition, params map[string]string, repeat int) string {
	var b strings.Builder
	for _, p := range def.Params {
		b.WriteString(p.Path + "=" + params[p.Path] + "\x00")
	}
	return b.String() + strconv.Itoa(repeat)
}

// WriteTune writes the tune's folder: rows.csv, rows.json, sweep.json and
// summary.md as a sweep writes them (the points are those the search
// evaluated), and tune.json.
func WriteTune(dir string, def *Definition, tr *TuneResult, question string) error {
	res := &Result{Definition: def, Rows: tr.Rows, Partial: tr.Partial, Points: tr.Points}
	if err := WriteFolder(dir, res, question); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, TuneFile), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, SummaryMD), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(TuneMarkdown(tr)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TuneMarkdown is the tune's section of summary.md: the best setting and
// its metrics with 95% intervals.
func TuneMarkdown(tr *TuneResult) string {
	var b strings.Builder
	dir := "minimise"
	if tr.Spec.Maximize {
		dir = "maximise"
	}
	fmt.Fprintf(&b, "## Tuning\n\nGoal: %s %s", dir, tr.Spec.Metric)
	if len(tr.Spec.Constraints) > 0 {
		cs := make([]string, len(tr.Spec.Constraints))
		for i, c := range tr.Spec.Constraints {
			cs[i] = "`" + c.String() + "`"
		}
		fmt.Fprintf(&b, " subject to %s", strings.Join(cs, ", "))
	}
	if tr.Search != nil {
		fmt.Fprintf(&b, ". %d runs over %d points; stopped by %s.\n\n", tr.Search.Runs, len(tr.Points), tr.Search.StoppedBy)
	} else {
		b.WriteString(". Interrupted before the search ended.\n\n")
	}
	if tr.Best == nil {
		b.WriteString("No point was evaluated.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Best setting (point %d", tr.Best.Point)
	if tr.Search != nil && tr.Search.Best != nil && !tr.Search.Best.Feasible {
		b.WriteString(", **no evaluated point met every constraint**: this one came nearest")
	}
	b.WriteString("):\n\n")
	keys := make([]string, 0, len(tr.Best.Params))
	for k := range tr.Best.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- `%s: %s`\n", k, tr.Best.Params[k])
	}
	b.WriteString("\n| metric | mean [95% interval] |\n|---|---|\n")
	for _, m := range MetricNames {
		if iv, ok := tr.Best.Metrics[m]; ok {
			fmt.Fprintf(&b, "| %s | %s |\n", m, FormatInterval(iv))
		}
	}
	b.WriteString("\n")
	return b.String()
}

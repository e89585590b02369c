package sweep

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// Options say how a sweep runs.
type Options struct {
	// Backend runs each point; it must be Parallel-safe (the simulator).
	Backend bench.Backend
	// Workers bounds the runs at once (0: GOMAXPROCS).
	Workers int
	// Done are rows already measured (a resumed folder's): their point and
	// repeat are not run again, and they are part of the result.
	Done []Row
	// OnRow, when not nil, is told each row as its run ends, from one
	// goroutine at a time (the folder's journal).
	OnRow func(Row) error
	// Progress, when not nil, is told after each row how far the sweep
	// has got (from one goroutine at a time).
	Progress func(Progress)
	// Clock tells the time for the ETA (default time.Now).
	Clock func() time.Time
}

// Progress is how far a sweep or a tune has got: runs (point × repeat)
// and points done, of how many, and the estimated time left.
type Progress struct {
	Runs, TotalRuns     int
	Points, TotalPoints int
	ETA                 time.Duration
}

// Result is a sweep's outcome: one row per point and repeat that ran,
// sorted by point then repeat.
type Result struct {
	Definition *Definition `json:"definition"`
	Rows       []Row       `json:"-"`
	// Partial is true when the sweep stopped (Ctrl-C) before every run ended.
	Partial bool `json:"partial"`
	// Points, when set, are the settings of each point by number, for
	// points that are not the definition's grid (a tune's).
	Points []map[string]string `json:"-"`
}

// Run runs every point × repeat of def on plan. Points go to the workers
// whole (all their repeats), so a point's plan is built once. Each run is
// reduced to its Row as soon as it ends. When ctx is cancelled the runs
// in progress are dropped, the finished rows kept, and the result marked
// partial; the error is then nil.
func Run(ctx context.Context, plan *scenarios.Plan, def *Definition, opts Options) (*Result, error) {
	if opts.Backend == nil {
		return nil, errors.New("sweep: no backend")
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	npoints := def.Points()
	total := npoints * def.Repeat
	have := make(map[[2]int]bool, len(opts.Done))
	res := &Result{Definition: def}
	perPoint := map[int]int{} // rows done by point
	for _, r := range opts.Done {
		if r.Point < npoints && r.Repeat < def.Repeat && r.Error == "" && !have[[2]int{r.Point, r.Repeat}] {
			have[[2]int{r.Point, r.Repeat}] = true
			res.Rows = append(res.Rows, r)
			perPoint[r.Point]++
		}
	}
	pointsDone := 0
	for _, n := range perPoint {
		if n == def.Repeat {
			pointsDone++
		}
	}
	var (
		mu      sync.Mutex
		done    = len(res.Rows)
		ran     int
		start   = clock()
		journal error
	)
	record := func(row Row) {
		mu.Lock()
		defer mu.Unlock()
		res.Rows = append(res.Rows, row)
		done++
		ran++
		if perPoint[row.Point]++; perPoint[row.Point] == def.Repeat {
			pointsDone++
		}
		if opts.OnRow != nil && journal == nil {
			journal = opts.OnRow(row)
		}
		if opts.Progress != nil {
			elapsed := clock().Sub(start)
			eta := time.Duration(float64(elapsed) / float64(ran) * float64(total-done))
			opts.Progress(Progress{Runs: done, TotalRuns: total, Points: pointsDone, TotalPoints: npoints, ETA: eta})
		}
	}
	points := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(npoints, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			red := newReducer()
			for p := range points {
				runPoint(ctx, plan, def, p, have, red, opts.Backend, record)
			}
		}()
	}
feed:
	for p := range npoints {
		all := true
		for r := range def.Repeat {
			all = all && have[[2]int{p, r}]
		}
		if all {
			continue
		}
		select {
		case points <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(points)
	wg.Wait()
	sort.Slice(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		return a.Point < b.Point || a.Point == b.Point && a.Repeat < b.Repeat
	})
	res.Partial = len(res.Rows) < total
	return res, journal
}

// runPoint builds point p's plan and runs its repeats not yet done.
func runPoint(ctx context.Context, plan *scenarios.Plan, def *Definition, p int, have map[[2]int]bool,
	red *reducer, backend bench.Backend, record func(Row)) {
	set := def.Point(p)
	pplan, perr := plan.Point(def.Variant, set, nil)
	for r := range def.Repeat {
		if have[[2]int{p, r}] || ctx.Err() != nil {
			continue
		}
		row := Row{Point: p, Repeat: r, Seed: bench.RepeatSeed(def.Seed, r)}
		row.Params, row.X = ParamsOf(set)
		if perr != nil {
			row.Error = perr.Error()
			record(row)
			continue
		}
		if err := red.runOne(ctx, backend, pplan, r, row.Seed, &row); err != nil {
			if ctx.Err() != nil {
				return // interrupted: the run did not finish, leave no row
			}
			row.Error = err.Error()
		}
		record(row)
	}
}

package reports

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/meshbench/meshbench/bench/sweep"
)

// checkPNG fails unless dir/name decodes as a PNG of a sane size.
func checkPNG(t *testing.T, dir, name string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 200 || b.Dx() > 4000 || b.Dy() > 4000 {
		t.Errorf("%s is %d×%d pixels", name, b.Dx(), b.Dy())
	}
}

// oneParamRows is a retry-budget-like sweep: p99 falls and extra load
// rises with the budget, with noise per repeat; budgets over 0.3 miss an
// SLO in repeat 1.
func oneParamRows(repeats int) []sweep.Row {
	var rows []sweep.Row
	for i, x := range []float64{0.05, 0.1, 0.2, 0.4, 0.8} {
		for r := range repeats {
			noise := float64((r*7+i*3)%5) - 2
			rows = append(rows, sweep.Row{
				Point: i, Repeat: r, Seed: uint64(r + 1),
				Params: map[string]string{"policy.retries.budget.ratio": strconv.FormatFloat(x*100, 'f', -1, 64) + "%"},
				X:      map[string]float64{"policy.retries.budget.ratio": x},
				Metrics: map[string]float64{
					sweep.MetricP99: 200 - 150*x + noise, sweep.MetricAvailability: 0.99 + 0.0099*x,
					sweep.MetricExtraLoad: x * 0.5,
				},
				Feasible: !(x > 0.3 && r == 1),
			})
		}
	}
	return rows
}

func TestWriteSweepPlotsOneParameter(t *testing.T) {
	for _, repeats := range []int{1, 3} {
		dir := t.TempDir()
		files, err := WriteSweepPlots(dir, oneParamRows(repeats), SweepPlotSpec{
			Params:     []string{"policy.retries.budget.ratio"},
			Objectives: [2]string{sweep.MetricP99, sweep.MetricExtraLoad},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 || files[0] != SweepCurvesFile || files[1] != SweepParetoFile {
			t.Fatalf("repeats %d: files %v, want curves and pareto", repeats, files)
		}
		for _, f := range files {
			checkPNG(t, dir, f)
		}
	}
}

func TestWriteSweepPlotsTwoParameters(t *testing.T) {
	var rows []sweep.Row
	n := 0
	for i, a := range []float64{2, 4, 8} {
		for j, b := range []float64{100, 200} {
			if i == 2 && j == 1 {
				// A point whose run failed: no metrics.
				rows = append(rows, sweep.Row{Point: n, Params: map[string]string{"a": "8", "b": "200ms"}, X: map[string]float64{"a": a, "b": b}, Error: "backend failed"})
				n++
				continue
			}
			for r := range 2 {
				rows = append(rows, sweep.Row{
					Point: n, Repeat: r,
					Params:   map[string]string{"a": strconv.FormatFloat(a, 'f', -1, 64), "b": strconv.FormatFloat(b, 'f', -1, 64) + "ms"},
					X:        map[string]float64{"a": a, "b": b},
					Metrics:  map[string]float64{sweep.MetricP99: a * b / 10, sweep.MetricAvailability: 0.999},
					Feasible: a*b < 1000,
				})
			}
			n++
		}
	}
	dir := t.TempDir()
	files, err := WriteSweepPlots(dir, rows, SweepPlotSpec{Params: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sweep-heatmap-p99_ms.png", "sweep-heatmap-availability.png"}
	if len(files) != len(want) || files[0] != want[0] || files[1] != want[1] {
		t.Fatalf("files %v, want %v", files, want)
	}
	for _, f := range files {
		checkPNG(t, dir, f)
	}
	d := sweepHeatData(sweepPoints(rows), "a", "b", sweep.MetricP99)
	if !math.IsNaN(d.grid.Z(2, 1)) || !d.infeasible[2][1] {
		t.Errorf("failed point: z %v infeasible %v, want NaN and marked", d.grid.Z(2, 1), d.infeasible[2][1])
	}
	if d.grid.Z(1, 1) != 80 || d.infeasible[1][1] {
		t.Errorf("cell (4, 200) = %v infeasible %v, want 80, feasible", d.grid.Z(1, 1), d.infeasible[1][1])
	}
	if d.xLabels[2] != "8" || d.yLabels[1] != "200ms" {
		t.Errorf("labels %v %v", d.xLabels, d.yLabels)
	}
}

// Edge cases render or are left out, never fail: constant values, a
// metric no row has, only failed rows, three parameters (front only).
func TestWriteSweepPlotsEdgeCases(t *testing.T) {
	constant := oneParamRows(2)
	for i := range constant {
		constant[i].Metrics[sweep.MetricP99] = 42
	}
	failed := []sweep.Row{{Point: 0, X: map[string]float64{"p": 1}, Error: "boom"}, {Point: 1, X: map[string]float64{"p": 2}, Error: "boom"}}
	three := oneParamRows(2)
	for i := range three {
		three[i].X["b"], three[i].X["c"] = float64(i), 1
	}
	cases := []struct {
		name  string
		rows  []sweep.Row
		spec  SweepPlotSpec
		files int
	}{
		{"constant", constant, SweepPlotSpec{Params: []string{"policy.retries.budget.ratio"}, Objectives: [2]string{sweep.MetricP99, sweep.MetricAvailability}}, 2},
		{"missing metric", oneParamRows(2), SweepPlotSpec{Params: []string{"policy.retries.budget.ratio"}, Metrics: []string{"no_such_metric"}}, 0},
		{"missing objective", oneParamRows(2), SweepPlotSpec{Params: []string{"policy.retries.budget.ratio"}, Metrics: []string{"no_such_metric"}, Objectives: [2]string{"x", sweep.MetricP99}}, 0},
		{"all failed", failed, SweepPlotSpec{Params: []string{"p"}, Objectives: [2]string{sweep.MetricP99, sweep.MetricAvailability}}, 0},
		{"three parameters", three, SweepPlotSpec{Params: []string{"policy.retries.budget.ratio", "b", "c"}, Objectives: [2]string{sweep.MetricP99, sweep.MetricAvailability}}, 1},
		{"no rows", nil, SweepPlotSpec{Params: []string{"p"}}, 0},
		{"one point", []sweep.Row{{X: map[string]float64{"p": 3}, Params: map[string]string{"p": "3"}, Metrics: map[string]float64{sweep.MetricP99: 5, sweep.MetricAvailability: 1}, Feasible: true}},
			SweepPlotSpec{Params: []string{"p"}, Objectives: [2]string{sweep.MetricP99, sweep.MetricAvailability}}, 2},
		{"one cell", []sweep.Row{{X: map[string]float64{"p": 3, "q": 0}, Metrics: map[string]float64{sweep.MetricP99: 5, sweep.MetricAvailability: 1}}},
			SweepPlotSpec{Params: []string{"p", "q"}}, 2},
		{"one row of cells", []sweep.Row{
			{Point: 0, X: map[string]float64{"p": 1, "q": 0}, Metrics: map[string]float64{sweep.MetricP99: 5}},
			{Point: 1, X: map[string]float64{"p": 2, "q": 0}, Metrics: map[string]float64{sweep.MetricP99: 7}, Feasible: true}},
			SweepPlotSpec{Params: []string{"p", "q"}, Metrics: []string{sweep.MetricP99}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			files, err := WriteSweepPlots(dir, c.rows, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != c.files {
				t.Fatalf("files %v, want %d", files, c.files)
			}
			for _, f := range files {
				checkPNG(t, dir, f)
			}
		})
	}
	if _, err := WriteSweepPlots(t.TempDir(), oneParamRows(1), SweepPlotSpec{Params: []string{"policy.retries.budget.percent"}}); err == nil {
		t.Error("a parameter no row has was accepted")
	}
}

func TestMeanCI95(t *testing.T) {
	if c := meanCI95(nil); !math.IsNaN(c.Mean) || c.N != 0 {
		t.Errorf("no values: %+v", c)
	}
	if c := meanCI95([]float64{5}); c.Mean != 5 || c.Lo != 5 || c.Hi != 5 {
		t.Errorf("one value: %+v, want a zero-width interval", c)
	}
	if c := meanCI95([]float64{3, 3, 3}); c.Lo != 3 || c.Hi != 3 {
		t.Errorf("constant: %+v", c)
	}
	// n = 2: t(0.975, 1) = 12.706; sd of {0, 2} is √2, se 1.
	c := meanCI95([]float64{0, 2})
	if math.Abs(c.Hi-1-12.7062) > 1e-3 || math.Abs(c.Lo-1+12.7062) > 1e-3 {
		t.Errorf("n=2: %+v, want 1 ± 12.706", c)
	}
	// n = 5: t = 2.776.
	c = meanCI95([]float64{1, 2, 3, 4, 5})
	se := math.Sqrt(2.5) / math.Sqrt(5)
	if math.Abs(c.Hi-3-2.7764*se) > 1e-3 {
		t.Errorf("n=5: %+v, want 3 ± %v", c, 2.7764*se)
	}
}

func TestLogSpaced(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want bool
	}{
		{[]float64{1, 10, 100, 1000}, true},
		{[]float64{5, 10, 20, 40, 80}, true},
		{[]float64{10, 20, 30, 40}, false},
		{[]float64{0, 10, 100}, false},
		{[]float64{1, 1000}, true},
		{[]float64{1, 2}, false},
		{[]float64{7}, false},
		{[]float64{10, 10, 100, 100, 1000}, true},
	} {
		if got := logSpaced(c.xs); got != c.want {
			t.Errorf("logSpaced(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestParetoFront(t *testing.T) {
	pts := []paretoPoint{{a: 1, b: 5}, {a: 2, b: 3}, {a: 3, b: 4}, {a: 4, b: 1}, {a: 2, b: 3}}
	front := paretoFront(pts, false, false)
	var got [][2]float64
	for _, p := range front {
		got = append(got, [2]float64{p.a, p.b})
	}
	want := [][2]float64{{1, 5}, {2, 3}, {2, 3}, {4, 1}}
	if len(got) != len(want) {
		t.Fatalf("front %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("front %v, want %v", got, want)
		}
	}
	// Minimising a and maximising b: (1,5) has the least a and the most
	// b, so it dominates every other point.
	if f := paretoFront(pts, false, true); len(f) != 1 || f[0].a != 1 {
		t.Errorf("min a, max b: %v", f)
	}
}

func TestParetoCorner(t *testing.T) {
	p, q := paretoPoint{a: 1, b: 9}, paretoPoint{a: 2, b: 5}
	if c := paretoCorner(p, q, false, false); c.X != 2 || c.Y != 9 {
		t.Errorf("min/min corner %v, want (2, 9)", c)
	}
	if c := paretoCorner(p, q, true, true); c.X != 1 || c.Y != 5 {
		t.Errorf("max/max corner %v, want (1, 5)", c)
	}
}

func TestSweepPointsFeasibility(t *testing.T) {
	rows := []sweep.Row{
		{Point: 1, Repeat: 0, X: map[string]float64{"p": 2}, Metrics: map[string]float64{"m": 1}, Feasible: true},
		{Point: 0, Repeat: 0, X: map[string]float64{"p": 1}, Metrics: map[string]float64{"m": 1}, Feasible: true},
		{Point: 0, Repeat: 1, X: map[string]float64{"p": 1}, Metrics: map[string]float64{"m": 3}, Feasible: false},
		{Point: 1, Repeat: 1, X: map[string]float64{"p": 2}, Error: "x"},
		{Point: 2, Repeat: 0, X: map[string]float64{"p": 3}, Metrics: map[string]float64{"m": math.NaN()}, Feasible: true},
	}
	pts := sweepPoints(rows)
	if len(pts) != 3 || pts[0].point != 0 {
		t.Fatalf("points %+v", pts)
	}
	if pts[0].feasible || pts[1].feasible || !pts[2].feasible {
		t.Errorf("feasible = %v %v %v, want false false true", pts[0].feasible, pts[1].feasible, pts[2].feasible)
	}
	if len(pts[0].values["m"]) != 2 || len(pts[1].values["m"]) != 1 || len(pts[2].values["m"]) != 0 {
		t.Errorf("values %v %v %v", pts[0].values, pts[1].values, pts[2].values)
	}
	spans := feasibleSpans([]float64{1, 2, 3, 4}, []bool{false, true, true, false}, false)
	if len(spans) != 1 || spans[0] != [2]float64{1.5, 3.5} {
		t.Errorf("spans %v, want [[1.5 3.5]]", spans)
	}
}

package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// noisy evaluates f at each point with noise made of a part shared by all
// points of a repeat (as common random numbers give) and a smaller part of
// the point's own, both determined by the repeat and the point.
func noisy(f func(x []float64) (float64, []float64), shared, own float64, calls *int) Evaluator {
	return func(xs [][]float64, repeats []int) ([][]Outcome, error) {
		out := make([][]Outcome, len(xs))
		for i, x := range xs {
			for _, r := range repeats {
				*calls++
				common := rand.New(rand.NewPCG(uint64(r), 1)).NormFloat64()
				h := uint64(r)*31 + math.Float64bits(x[0])
				if len(x) > 1 {
					h ^= math.Float64bits(x[1]) * 7
				}
				mine := rand.New(rand.NewPCG(h, 2)).NormFloat64()
				v, cons := f(x)
				out[i] = append(out[i], Outcome{Repeat: r, Objective: v + shared*common + own*mine, Constraints: cons})
			}
		}
		return out, nil
	}
}

func TestSearchFindsMinimum(t *testing.T) {
	cases := []struct {
		name   string
		dims   []Dim
		f      func(x []float64) (float64, []float64)
		cons   []Constraint
		want   []float64
		tol    []float64 // absolute, per dimension (log dims: factor)
		budget int
	}{
		{
			name: "integer parabola",
			dims: []Dim{{Name: "n", Lo: 0, Hi: 20, Int: true}},
			f:    func(x []float64) (float64, []float64) { return (x[0] - 7) * (x[0] - 7), nil },
			want: []float64{7}, tol: []float64{1}, budget: 200,
		},
		{
			name: "log-scaled continuous",
			dims: []Dim{{Name: "timeout", Lo: 1, Hi: 10000, Log: true}},
			f: func(x []float64) (float64, []float64) {
				l := math.Log10(x[0]) - 2
				return 10 * l * l, nil
			},
			want: []float64{100}, tol: []float64{1.5}, budget: 300,
		},
		{
			name: "two dimensions",
			dims: []Dim{{Name: "a", Lo: 0, Hi: 10}, {Name: "b", Lo: 0, Hi: 10, Int: true}},
			f: func(x []float64) (float64, []float64) {
				return (x[0]-2.5)*(x[0]-2.5) + 2*(x[1]-6)*(x[1]-6), nil
			},
			want: []float64{2.5, 6}, tol: []float64{0.6, 1}, budget: 400,
		},
		{
			name: "constrained: the optimum sits on the constraint",
			dims: []Dim{{Name: "limit", Lo: 0, Hi: 10}},
			f:    func(x []float64) (float64, []float64) { return x[0], []float64{x[0]} },
			cons: []Constraint{{Name: "g", Min: true, Bound: 4.2}},
			want: []float64{4.2}, tol: []float64{0.4}, budget: 300,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			res, err := Search(Problem{Dims: tc.dims, Constraints: tc.cons, Evaluate: noisy(tc.f, 1, 0.2, &calls), BudgetRuns: tc.budget, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Runs > tc.budget || calls != res.Runs {
				t.Errorf("runs %d (evaluator calls %d), budget %d", res.Runs, calls, tc.budget)
			}
			if res.Best == nil || !res.Best.Feasible {
				t.Fatalf("no feasible best: %+v", res.Best)
			}
			for i, d := range tc.dims {
				got := res.Best.X[i]
				off := math.Abs(got - tc.want[i])
				if d.Log {
					off = math.Max(got/tc.want[i], tc.want[i]/got)
				}
				if off > tc.tol[i] {
					t.Errorf("%s = %g, want %g ± %g (stopped by %s after %d runs)", d.Name, got, tc.want[i], tc.tol[i], res.StoppedBy, res.Runs)
				}
			}
		})
	}
}

func TestSearchIsDeterministic(t *testing.T) {
	run := func() *Result {
		calls := 0
		f := func(x []float64) (float64, []float64) { return math.Abs(x[0] - 3), nil }
		res, err := Search(Problem{Dims: []Dim{{Name: "x", Lo: 0, Hi: 10}}, Evaluate: noisy(f, 1, 0.5, &calls), BudgetRuns: 90, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(), run()
	if a.Runs != b.Runs || a.Best.X[0] != b.Best.X[0] || len(a.Candidates) != len(b.Candidates) {
		t.Errorf("two searches differ: %v after %d runs, %v after %d", a.Best.X, a.Runs, b.Best.X, b.Runs)
	}
}

func TestSearchMaximisesAndStops(t *testing.T) {
	calls := 0
	f := func(x []float64) (float64, []float64) { return -(x[0] - 2) * (x[0] - 2), nil }
	stops := 0
	res, err := Search(Problem{
		Dims: []Dim{{Name: "x", Lo: 0, Hi: 4}}, Maximize: true, Evaluate: noisy(f, 0.1, 0.01, &calls),
		BudgetRuns: 1000, Seed: 3, Stop: func() bool { stops++; return stops > 3 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedBy != "stopped" || res.Runs >= 1000 {
		t.Errorf("stopped by %q after %d runs, want stopped early", res.StoppedBy, res.Runs)
	}
	if res.Best == nil {
		t.Fatal("no best")
	}
}

func TestSearchCategoricalAndErrors(t *testing.T) {
	calls := 0
	f := func(x []float64) (float64, []float64) { return []float64{5, 1, 3, 4}[int(x[0])], nil }
	res, err := Search(Problem{Dims: []Dim{{Name: "balancer", Levels: 4}}, Evaluate: noisy(f, 0.1, 0.05, &calls), BudgetRuns: 60, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.X[0] != 1 {
		t.Errorf("best level %v, want 1", res.Best.X[0])
	}
	for _, bad := range []Problem{
		{Dims: nil, BudgetRuns: 10},
		{Dims: []Dim{{Name: "x", Lo: 1, Hi: 1}}, BudgetRuns: 10},
		{Dims: []Dim{{Name: "x", Lo: 0, Hi: 1, Log: true}}, BudgetRuns: 10},
		{Dims: []Dim{{Name: "x", Lo: 0, Hi: 1}}, BudgetRuns: 2},
	} {
		if _, err := Search(bad); err == nil {
			t.Errorf("Search(%+v) accepted", bad.Dims)
		}
	}
}

func TestEstimate(t *testing.T) {
	if iv := Estimate(nil); iv.N != 0 {
		t.Errorf("empty: %+v", iv)
	}
	if iv := Estimate([]float64{2}); iv.Mean != 2 || iv.Lo != 2 || iv.Hi != 2 {
		t.Errorf("one value: %+v", iv)
	}
	// Two values 1 and 3: mean 2, s = √2, se = 1, t(0.975, 1) = 12.706.
	iv := Estimate([]float64{1, 3})
	if math.Abs(iv.Hi-2-12.706) > 0.01 || math.Abs(2-iv.Lo-12.706) > 0.01 {
		t.Errorf("two values: %+v", iv)
	}
}

// TestSearchEvaluatesEachPointOnce: samples and trials that round to the
// same point (an integer dimension narrower than the sample) are
// evaluated once per repeat, and a candidate's outcomes have no repeat
// twice: duplicated rows would waste the budget and count one run twice in
// the intervals the search compares.
func TestSearchEvaluatesEachPointOnce(t *testing.T) {
	seen := map[string]bool{}
	p := Problem{
		Dims:       []Dim{{Name: "n", Lo: 1, Hi: 3, Int: true}},
		BudgetRuns: 60,
		Seed:       3,
		Evaluate: func(xs [][]float64, repeats []int) ([][]Outcome, error) {
			out := make([][]Outcome, len(xs))
			for i, x := range xs {
				for _, r := range repeats {
					k := fmt.Sprint(x, r)
					if seen[k] {
						t.Errorf("point %v repeat %d evaluated twice", x, r)
					}
					seen[k] = true
					out[i] = append(out[i], Outcome{Repeat: r, Objective: (x[0]-2)*(x[0]-2) + 0.01*float64(r)})
				}
			}
			return out, nil
		},
	}
	res, err := Search(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Candidates {
		if c.Objective.N != len(c.Outcomes) {
			t.Errorf("candidate %v: interval over %d of %d outcomes", c.X, c.Objective.N, len(c.Outcomes))
		}
	}
	if res.Best == nil || res.Best.X[0] != 2 {
		t.Errorf("best %+v, want n = 2", res.Best)
	}
}

// Package tune searches a box of settings for the one that minimises a
// noisy objective subject to noisy constraints, within a budget of
// evaluations. It knows nothing of scenarios or simulators: the caller
// evaluates a batch of points for given repeat numbers, and is expected to
// use the same random streams for repeat r at every point (common random
// numbers), which is what lets the search compare points by paired
// differences.
//
// The search has two phases:
//
//  1. Exploration: a Latin hypercube sample of the box (every dimension cut
//     into as many strata as there are samples, one sample per stratum),
//     each point evaluated with Repeats repeats. It finds the basin; it
//     does not trust any single noisy evaluation.
//  2. Refinement: a compass (pattern) search from the best point found:
//     each round tries one step up and down every dimension; a trial that
//     looks better is given more repeats (up to MaxRepeats), and replaces
//     the incumbent only when it is feasible and the paired 95% interval
//     of (trial − incumbent) over the common repeats lies below zero.
//     Without a winner the step halves; the search ends when every step
//     is below its resolution (one unit for integers, 1% of the range
//     otherwise) or the budget is spent.
//
// A point is feasible when every constraint holds for its mean over its
// repeats; among infeasible points the one nearest feasibility (the least
// summed relative violation) ranks first. This is a documented, simple
// alternative to Bayesian optimisation: robust to noise because decisions
// rest on paired intervals, and cheap because each round is one batch the
// caller can run in parallel.
package tune

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// Dim is one dimension of the search box. Log dimensions are searched in
// log space (Lo > 0); Int dimensions take whole numbers; a dimension with
// Levels > 0 is categorical, its coordinate the level's index.
type Dim struct {
	Name   string
	Lo, Hi float64
	Int    bool
	Log    bool
	Levels int
}

// Constraint bounds one of an outcome's constraint values: ≥ Bound when
// Min, ≤ Bound otherwise.
type Constraint struct {
	Name  string
	Min   bool
	Bound float64
}

func (c Constraint) holds(v float64) bool {
	if c.Min {
		return v >= c.Bound
	}
	return v <= c.Bound
}

// violation is how far v is from meeting c, relative to the bound.
func (c Constraint) violation(v float64) float64 {
	if c.holds(v) {
		return 0
	}
	scale := math.Max(math.Abs(c.Bound), 1e-9)
	return math.Abs(v-c.Bound) / scale
}

// Outcome is one repeat of one point: the objective's value and each
// constraint's value, in Problem.Constraints order. Err marks a failed
// evaluation, which makes the point infeasible.
type Outcome struct {
	Repeat      int
	Objective   float64
	Constraints []float64
	Err         string
}

// Evaluator evaluates points xs, each for every repeat number in repeats,
// and returns the outcomes of xs[i] in out[i], in repeats order. It may
// run them in parallel. A non-nil error stops the search (e.g. cancelled).
type Evaluator func(xs [][]float64, repeats []int) ([][]Outcome, error)

// Problem is what Search optimises.
type Problem struct {
	Dims        []Dim
	Maximize    bool
	Constraints []Constraint
	Evaluate    Evaluator
	// BudgetRuns bounds the evaluations (point × repeat); at least
	// 2 × Repeats.
	BudgetRuns int
	// Stop, when not nil, is asked between batches whether to stop (a
	// time budget, Ctrl-C).
	Stop func() bool
	// Repeats per point at first (default 3); MaxRepeats when comparing
	// (default 3 × Repeats).
	Repeats, MaxRepeats int
	// Seed seeds the sample; the search is deterministic given it and the
	// evaluator.
	Seed uint64
}

// Candidate is a point evaluated, with its outcomes.
type Candidate struct {
	X        []float64 `json:"x"`
	Outcomes []Outcome `json:"-"`
	// Objective is the objective's mean over the repeats with its 95%
	// interval; Constraints the same for each constraint.
	Objective   Interval   `json:"objective"`
	Constraints []Interval `json:"constraints"`
	Feasible    bool       `json:"feasible"`
	Violation   float64    `json:"violation"`
	Phase       string     `json:"phase"`
}

// Interval is a mean with its 95% Student-t interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	N    int     `json:"n"`
}

// Result is the search's outcome.
type Result struct {
	Best       *Candidate  `json:"best"`
	Candidates []Candidate `json:"candidates"`
	Runs       int         `json:"runs"`
	// StoppedBy is "budget", "converged" or "stopped".
	StoppedBy string `json:"stopped_by"`
}

type searcher struct {
	p     Problem
	runs  int
	cands []*Candidate
	index map[string]*Candidate
	res   Result
}

var errBudget = errors.New("budget spent")

// Search runs the two phases (see the package comment) and returns every
// point evaluated and the best.
func Search(p Problem) (*Result, error) {
	if len(p.Dims) == 0 {
		return nil, errors.New("tune: no dimension to search")
	}
	for _, d := range p.Dims {
		switch {
		case d.Levels == 0 && !(d.Hi > d.Lo):
			return nil, fmt.Errorf("tune: %s: the range is empty (%g to %g)", d.Name, d.Lo, d.Hi)
		case d.Log && d.Lo <= 0:
			return nil, fmt.Errorf("tune: %s: a log range needs a lower end above 0", d.Name)
		}
	}
	if p.Repeats <= 0 {
		p.Repeats = 3
	}
	if p.MaxRepeats < p.Repeats {
		p.MaxRepeats = 3 * p.Repeats
	}
	if p.BudgetRuns < 2*p.Repeats {
		return nil, fmt.Errorf("tune: a budget of %d runs is too small: at least %d (two points × %d repeats)", p.BudgetRuns, 2*p.Repeats, p.Repeats)
	}
	s := &searcher{p: p, index: map[string]*Candidate{}}
	err := s.search()
	switch {
	case errors.Is(err, errBudget):
		s.res.StoppedBy = "budget"
	case err != nil:
		return nil, err
	}
	s.res.Runs = s.runs
	for _, c := range s.cands {
		s.res.Candidates = append(s.res.Candidates, *c)
	}
	if b := s.best(); b != nil {
		bc := *b
		s.res.Best = &bc
	}
	return &s.res, nil
}

func (s *searcher) search() error {
	d := len(s.p.Dims)
	rng := rand.New(rand.NewPCG(s.p.Seed, 0x7475_6e65))
	n := max(2, min(4*d+2, s.p.BudgetRuns/(2*s.p.Repeats)))
	var sample [][]float64
	for _, u := range latinHypercube(n, d, rng) {
		sample = append(sample, s.point(u))
	}
	if err := s.evaluate(sample, s.repeats(0, s.p.Repeats), "explore"); err != nil {
		return err
	}
	inc := s.best()
	if inc == nil {
		s.res.StoppedBy = "stopped"
		return nil
	}
	step := make([]float64, d)
	for i := range step {
		step[i] = 0.25
	}
	for {
		if s.stopped() {
			s.res.StoppedBy = "stopped"
			return nil
		}
		var trials [][]float64
		for i, dim := range s.p.Dims {
			if step[i] < s.resolution(dim) {
				continue
			}
			for _, sign := range []float64{-1, 1} {
				u := s.unit(inc.X)
				u[i] = math.Min(1, math.Max(0, u[i]+sign*step[i]))
				x := s.point(u)
				if s.key(x) != s.key(inc.X) {
					trials = append(trials, x)
				}
			}
		}
		if len(trials) == 0 {
			s.res.StoppedBy = "converged"
			return nil
		}
		if err := s.evaluate(trials, s.repeats(0, s.p.Repeats), "refine"); err != nil {
			return err
		}
		winner, err := s.challenge(inc, trials)
		if err != nil {
			return err
		}
		if winner != nil {
			inc = winner
			continue
		}
		for i := range step {
			step[i] /= 2
		}
	}
}

// challenge compares the trials that look better than the incumbent with
// it, on more repeats, and returns the best that beats it by a paired
// interval, or nil.
func (s *searcher) challenge(inc *Candidate, trials [][]float64) (*Candidate, error) {
	var hopefuls []*Candidate
	for _, x := range trials {
		c := s.index[s.key(x)]
		if c != nil && s.better(c, inc) {
			hopefuls = append(hopefuls, c)
		}
	}
	if len(hopefuls) == 0 {
		return nil, nil
	}
	sort.SliceStable(hopefuls, func(i, j int) bool { return s.better(hopefuls[i], hopefuls[j]) })
	h := hopefuls[0]
	more := s.repeats(len(h.Outcomes), s.p.MaxRepeats)
	if len(more) > 0 {
		if err := s.evaluate([][]float64{h.X}, more, "refine"); err != nil {
			return nil, err
		}
	}
	if need := s.repeats(len(inc.Outcomes), len(h.Outcomes)); len(need) > 0 {
		if err := s.evaluate([][]float64{inc.X}, need, "refine"); err != nil {
			return nil, err
		}
	}
	if !h.Feasible && inc.Feasible {
		return nil, nil
	}
	if !h.Feasible {
		if h.Violation < inc.Violation {
			return h, nil // still looking for the feasible region: follow the violation down
		}
		return nil, nil
	}
	if !inc.Feasible {
		return h, nil
	}
	diff := pairedDiff(h, inc, s.p.Maximize)
	if diff.Hi < 0 || (diff.N >= s.p.MaxRepeats && diff.Mean < 0 && diff.Lo < 0 && h.Objective.Hi < inc.Objective.Lo) {
		return h, nil
	}
	return nil, nil
}

// pairedDiff is the interval of (a − b) over the repeats both have, in the
// direction that makes negative better.
func pairedDiff(a, b *Candidate, maximize bool) Interval {
	bv := map[int]float64{}
	for _, o := range b.Outcomes {
		if o.Err == "" {
			bv[o.Repeat] = o.Objective
		}
	}
	var ds []float64
	for _, o := range a.Outcomes {
		if v, ok := bv[o.Repeat]; ok && o.Err == "" {
			d := o.Objective - v
			if maximize {
				d = -d
			}
			ds = append(ds, d)
		}
	}
	return Estimate(ds)
}

// better reports whether a ranks before b: feasible before infeasible,
// then by objective mean (direction-aware), infeasible by violation.
func (s *searcher) better(a, b *Candidate) bool {
	if a.Feasible != b.Feasible {
		return a.Feasible
	}
	if !a.Feasible {
		return a.Violation < b.Violation
	}
	if s.p.Maximize {
		return a.Objective.Mean > b.Objective.Mean
	}
	return a.Objective.Mean < b.Objective.Mean
}

func (s *searcher) best() *Candidate {
	var b *Candidate
	for _, c := range s.cands {
		if b == nil || s.better(c, b) {
			b = c
		}
	}
	return b
}

func (s *searcher) stopped() bool { return s.p.Stop != nil && s.p.Stop() }

// repeats lists repeat numbers from..to-1.
func (s *searcher) repeats(from, to int) []int {
	var rs []int
	for r := from; r < to; r++ {
		rs = append(rs, r)
	}
	return rs
}

// evaluate runs the repeats of xs that have not run, within the budget.
func (s *searcher) evaluate(xs [][]float64, repeats []int, phase string) error {
	if s.stopped() {
		return nil
	}
	defer s.drop()
	type job struct {
		c  *Candidate
		rs []int
	}
	var jobs []job
	queued := map[string]bool{}
	for _, x := range xs {
		k := s.key(x)
		if queued[k] {
			// Two samples or trials of the batch round to the same
			// point (an integer or categorical dimension): one
			// evaluation serves both, and its repeats are counted once.
			continue
		}
		queued[k] = true
		c := s.index[k]
		if c == nil {
			c = &Candidate{X: x, Phase: phase, Violation: math.Inf(1)}
			s.index[k] = c
			s.cands = append(s.cands, c)
		}
		have := map[int]bool{}
		for _, o := range c.Outcomes {
			have[o.Repeat] = true
		}
		var rs []int
		for _, r := range repeats {
			if !have[r] {
				rs = append(rs, r)
			}
		}
		if len(rs) > 0 {
			jobs = append(jobs, job{c, rs})
		}
	}
	// The evaluator takes one repeat list for a batch: group by it.
	groups := map[string][]job{}
	var order []string
	for _, j := range jobs {
		k := fmt.Sprint(j.rs)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range order {
		g := groups[k]
		rs := g[0].rs
		left := s.p.BudgetRuns - s.runs
		fit := min(len(g), left/len(rs))
		if fit == 0 {
			return errBudget
		}
		xs := make([][]float64, fit)
		for i := range fit {
			xs[i] = g[i].c.X
		}
		out, err := s.p.Evaluate(xs, rs)
		if err != nil {
			return err
		}
		s.runs += fit * len(rs)
		for i := range fit {
			g[i].c.Outcomes = append(g[i].c.Outcomes, out[i]...)
			s.score(g[i].c)
		}
		if fit < len(g) {
			return errBudget
		}
	}
	return nil
}

// drop forgets candidates that never ran.
func (s *searcher) drop() {
	kept := s.cands[:0]
	for _, c := range s.cands {
		if len(c.Outcomes) > 0 {
			kept = append(kept, c)
		} else {
			delete(s.index, s.key(c.X))
		}
	}
	s.cands = kept
}

// score computes a candidate's intervals and feasibility.
func (s *searcher) score(c *Candidate) {
	var obj []float64
	cons := make([][]float64, len(s.p.Constraints))
	failed := false
	for _, o := range c.Outcomes {
		if o.Err != "" {
			failed = true
			continue
		}
		obj = append(obj, o.Objective)
		for i := range s.p.Constraints {
			if i < len(o.Constraints) {
				cons[i] = append(cons[i], o.Constraints[i])
			}
		}
	}
	c.Objective = Estimate(obj)
	c.Constraints = make([]Interval, len(cons))
	c.Feasible, c.Violation = !failed && len(obj) > 0, 0
	if failed || len(obj) == 0 {
		c.Violation = math.Inf(1)
	}
	for i, k := range s.p.Constraints {
		iv := Estimate(cons[i])
		c.Constraints[i] = iv
		if iv.N == 0 {
			c.Feasible, c.Violation = false, math.Inf(1)
			continue
		}
		if !k.holds(iv.Mean) {
			c.Feasible = false
			c.Violation += k.violation(iv.Mean)
		}
	}
}

// unit maps a point into the unit box; point maps back, rounding integer
// and categorical dimensions.
func (s *searcher) unit(x []float64) []float64 {
	u := make([]float64, len(x))
	for i, d := range s.p.Dims {
		switch {
		case d.Levels > 0:
			u[i] = (x[i] + 0.5) / float64(d.Levels)
		case d.Log:
			u[i] = math.Log(x[i]/d.Lo) / math.Log(d.Hi/d.Lo)
		default:
			u[i] = (x[i] - d.Lo) / (d.Hi - d.Lo)
		}
	}
	return u
}

func (s *searcher) point(u []float64) []float64 {
	x := make([]float64, len(u))
	for i, d := range s.p.Dims {
		v := math.Min(1, math.Max(0, u[i]))
		switch {
		case d.Levels > 0:
			x[i] = math.Min(float64(d.Levels-1), math.Floor(v*float64(d.Levels)))
		case d.Log:
			x[i] = d.Lo * math.Pow(d.Hi/d.Lo, v)
		default:
			x[i] = d.Lo + v*(d.Hi-d.Lo)
		}
		if d.Int {
			x[i] = math.Round(x[i])
		}
	}
	return x
}

// resolution is the smallest step in the unit box worth taking.
func (s *searcher) resolution(d Dim) float64 {
	switch {
	case d.Levels > 0:
		return 1 / float64(d.Levels)
	case d.Int && !d.Log:
		return 1 / (d.Hi - d.Lo)
	case d.Int && d.Log:
		return math.Log((d.Lo+1)/d.Lo) / math.Log(d.Hi/d.Lo) / 2
	}
	return 0.01
}

// key identifies a point (continuous coordinates to 6 significant digits).
func (s *searcher) key(x []float64) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strings.Join(parts, ",")
}

// latinHypercube draws n points of the unit box, one per stratum of every
// dimension, mapped through the search's point function by the caller.
func latinHypercube(n, d int, rng *rand.Rand) [][]float64 {
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, d)
	}
	for j := range d {
		perm := rng.Perm(n)
		for i := range n {
			pts[i][j] = (float64(perm[i]) + rng.Float64()) / float64(n)
		}
	}
	return pts
}

// Estimate is the mean of xs with its 95% Student-t interval (N = 0 and
// zeros when xs is empty; Lo = Hi = Mean for one value).
func Estimate(xs []float64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{} // N = 0: no value
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(n)
	if n == 1 {
		return Interval{Mean: mean, Lo: mean, Hi: mean, N: 1}
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	se := math.Sqrt(ss / float64(n-1) / float64(n))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return Interval{Mean: mean, Lo: mean - t*se, Hi: mean + t*se, N: n}
}

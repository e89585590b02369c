package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// Definition is a sweep as it runs: the scenario's base variant, each
// parameter's values, how they combine, and how often each point runs.
type Definition struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Variant is the base variant every point changes.
	Variant string `json:"variant"`
	// Mode is scenarios.SweepCross or scenarios.SweepZip.
	Mode string `json:"mode"`
	// Repeat is how many times each point runs; repeat r of every point
	// uses the same seed (common random numbers).
	Repeat int `json:"repeat"`
	// Seed is the plan's seed; repeat r runs with bench.RepeatSeed(Seed, r).
	Seed uint64 `json:"seed"`
	// Params are the swept key paths with their values, in the sweep's order.
	Params []Param `json:"params"`
	// Hash identifies the scenario and the grid (not Repeat): a folder
	// resumes only a sweep of the same hash.
	Hash string `json:"hash"`
}

// Param is one swept key path and its values as a scenario writes them.
type Param struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
	// Numeric is true when every value reads as a number (Row.X has it).
	Numeric bool `json:"numeric"`
}

// Options for NewDefinition.
type DefineOptions struct {
	// Variant is the base variant (default: the sweep's, else the first).
	Variant string
	// Zip combines the i-th values of every parameter instead of crossing them.
	Zip bool
	// Repeat is the repeats per point (at least 1).
	Repeat int
	// MaxPoints refuses a larger grid (0: scenarios.DefaultMaxPoints).
	MaxPoints int
	// Tune defines a tune's box instead of a grid: a range needs only its
	// ends (its Values are then from and to), and there is no point count.
	Tune bool
}

// NewDefinition expands params over plan and checks them (key paths,
// values, zip lengths, the point count) before anything runs.
func NewDefinition(plan *scenarios.Plan, params scenarios.SweepParams, opts DefineOptions) (*Definition, error) {
	if len(params) == 0 {
		return nil, fmt.Errorf("nothing to sweep: the scenario has no sweep section and no --param was given")
	}
	variant := opts.Variant
	if variant == "" {
		variant = plan.Variants[0].Name
	}
	found := false
	for _, v := range plan.Variants {
		found = found || v.Name == variant
	}
	if !found {
		return nil, fmt.Errorf("scenario %q has no variant %q", plan.Name, variant)
	}
	if issues := plan.CheckSweepParams(variant, params, opts.Zip && !opts.Tune, opts.Tune); len(issues) > 0 {
		return nil, &scenarios.ValidationError{Issues: issues}
	}
	def := &Definition{Scenario: plan.Name, Variant: variant, Mode: scenarios.SweepCross, Repeat: max(opts.Repeat, 1), Seed: plan.Seed}
	if opts.Zip {
		def.Mode = scenarios.SweepZip
	}
	seen := map[string]bool{}
	for _, sp := range params {
		if seen[sp.Path] {
			return nil, fmt.Errorf("%s: %s is swept twice", sp.At, sp.Path)
		}
		seen[sp.Path] = true
		var values []string
		var err error
		if opts.Tune && sp.Range != nil {
			var d scenarios.SweepDomain
			if d, err = sp.Range.Bounds(); err == nil {
				values = []string{d.Format(d.From), d.Format(d.To)}
			}
		} else {
			values, err = sp.Expand()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", sp.At, sp.Path, err)
		}
		numeric := true
		for _, v := range values {
			_, _, ok := scenarios.SweepNumber(v)
			numeric = numeric && ok
		}
		def.Params = append(def.Params, Param{Path: sp.Path, Values: values, Numeric: numeric})
	}
	maxPoints := opts.MaxPoints
	if maxPoints <= 0 {
		maxPoints = scenarios.DefaultMaxPoints
	}
	if opts.Tune {
		def.Mode = "tune"
	} else if n := def.Points(); n > maxPoints {
		return nil, fmt.Errorf("the sweep has %d points (%s), more than the maximum of %d: narrow the ranges or raise --max-points", n, def.shape(), maxPoints)
	}
	h := sha256.New()
	h.Write(plan.Source)
	grid, _ := json.Marshal(struct {
		Variant, Mode string
		Seed          uint64
		Duration      string
		Params        []Param
	}{def.Variant, def.Mode, def.Seed, plan.Duration.String(), def.Params})
	h.Write(grid)
	def.Hash = hex.EncodeToString(h.Sum(nil))[:16]
	return def, nil
}

// shape writes the grid's size: "10 × 12" crossed, "zip of 10" zipped.
func (d *Definition) shape() string {
	parts := make([]string, len(d.Params))
	for i, p := range d.Params {
		parts[i] = fmt.Sprint(len(p.Values))
	}
	if d.Mode == scenarios.SweepZip {
		return "zip of " + parts[0]
	}
	return strings.Join(parts, " × ")
}

// Points counts the grid's points.
func (d *Definition) Points() int {
	if len(d.Params) == 0 {
		return 0
	}
	if d.Mode == scenarios.SweepZip {
		return len(d.Params[0].Values)
	}
	n := 1
	for _, p := range d.Params {
		n *= len(p.Values)
		if n > 1<<40 {
			return n
		}
	}
	return n
}

// Point returns the overrides of point i: crossed, the last parameter
// varies fastest; zipped, the i-th value of each.
func (d *Definition) Point(i int) []scenarios.Override {
	set := make([]scenarios.Override, len(d.Params))
	if d.Mode == scenarios.SweepZip {
		for j, p := range d.Params {
			set[j] = scenarios.Override{Path: p.Path, Value: p.Values[i]}
		}
		return set
	}
	for j := len(d.Params) - 1; j >= 0; j-- {
		p := d.Params[j]
		set[j] = scenarios.Override{Path: p.Path, Value: p.Values[i%len(p.Values)]}
		i /= len(p.Values)
	}
	return set
}

// ParamsOf returns a point's settings as Row.Params and Row.X hold them.
func ParamsOf(set []scenarios.Override) (map[string]string, map[string]float64) {
	params := make(map[string]string, len(set))
	x := make(map[string]float64, len(set))
	for _, o := range set {
		params[o.Path] = o.Value
		if v, _, ok := scenarios.SweepNumber(o.Value); ok {
			x[o.Path] = v
		}
	}
	return params, x
}

// RepeatSeedOf is the seed of repeat r at every point of def.
func RepeatSeedOf(def *Definition, r int) uint64 { return bench.RepeatSeed(def.Seed, r) }

package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A scenario's sweep section names settings by key path and the values to
// try; `meshbench sweep` runs the base variant once per point of the grid
// they make (see bench/sweep and docs/sweep.md):
//
//	sweep:
//	  variant: with-budget          # the base variant (default: the first)
//	  mode: cross                   # cross (every combination) or zip
//	  params:
//	    policy.retries.budget.ratio: [10%, 20%, 50%]
//	    load.checkout.rate: {from: 200/s, to: 2000/s, steps: 10}
//
// Key paths start with policy (the base variant's policy), load.NAME (the
// base variant's workload NAME, its overrides included) or
// topology.services.NAME (a service of the fleet). Each value is checked
// by loading the scenario with it in place, so a sweep is refused at load
// time for what the scenario itself would refuse.

// Sweep modes.
const (
	SweepCross = "cross" // every combination of the parameters' values
	SweepZip   = "zip"   // the i-th values of every parameter together
)

// Range scales.
const (
	ScaleLinear = "linear"
	ScaleLog    = "log"
)

// DefaultMaxPoints is the largest sweep run without an explicit maxPoints.
const DefaultMaxPoints = 1000

// Sweep is the sweep section of a scenario (see the comment above).
type Sweep struct {
	// Variant is the base variant the points change (default: the first variant).
	Variant string `json:"variant,omitempty"`
	// Mode is cross (every combination of the values) or zip (the i-th value of every parameter together; all lists of one length); default cross.
	Mode string `json:"mode" noun:"sweep mode" jsonschema:"enum=cross,enum=zip"`
	// Repeat runs every point this many times; repeat r of every point uses the same seed (common random numbers); default 1.
	Repeat int `json:"repeat" jsonschema:"minimum=1"`
	// MaxPoints refuses a sweep with more points than this before it starts (default 1000).
	MaxPoints int `json:"maxPoints" jsonschema:"minimum=1"`
	// Params maps key paths (policy.…, load.NAME.…, topology.services.NAME.…) to a list of values or a range {from, to, step | steps, scale}.
	Params SweepParams `json:"params" jsonschema:"required"`
	// Tune, when present, is what `meshbench tune` minimises and the constraints it keeps.
	Tune *SweepTune `json:"tune,omitempty" jsonschema:"nullable"`
}

func (s *Sweep) setDefaults() {
	s.Mode = SweepCross
	s.Repeat = 1
	s.MaxPoints = DefaultMaxPoints
}

// SweepParams are a sweep's parameters in the order the file lists them.
type SweepParams []SweepParam

// SweepParam is one swept setting: its key path, and either the values to
// try or a range that makes them.
type SweepParam struct {
	// Path is the key path, e.g. "policy.outlierDetection.consecutive5xx".
	Path string
	// Values are the values as written; empty when Range is set.
	Values []SweepValue
	// Range makes the values from a start, an end and a step or count.
	Range *SweepRange
	// At is where the parameter was written ("file:line:col"), for messages.
	At string
	// valueAt is where each of Values was written (the range's position
	// for a range), for messages.
	valueAt []string
}

// SweepValue is one value as a scenario writes it ("20%", "250ms", "3").
type SweepValue string

func (v *SweepValue) decodeScalar(s scalar) error {
	switch s.kind {
	case kindMapping, kindList, kindNull:
		return fmt.Errorf("expected a value (a number, a duration, a rate, a percentage or a name), got %s", s.describe())
	}
	*v = SweepValue(s.text)
	return nil
}

// SweepRange makes a parameter's values: from, to and either step (linear)
// or steps (the count of values, from and to included; linear or log).
type SweepRange struct {
	// From is the first value.
	From SweepValue `json:"from" jsonschema:"required"`
	// To is the last value (included when a step lands on it).
	To SweepValue `json:"to" jsonschema:"required"`
	// Step is the distance between values (linear only; default 1 for integers).
	Step SweepValue `json:"step,omitempty"`
	// Steps is how many values, from and to included (at least 2).
	Steps int `json:"steps,omitempty" jsonschema:"minimum=2"`
	// Scale is linear or log (values spaced by a constant ratio; needs steps); default linear.
	Scale string `json:"scale,omitempty" noun:"scale" jsonschema:"enum=linear,enum=log"`
}

// SweepTune is what `meshbench tune` optimises: one metric to minimise or
// maximise (a sweep row's metric name, see docs/sweep.md) subject to
// constraints, within a budget of runs or time.
type SweepTune struct {
	// Minimize names the metric to minimise (e.g. p99_ms).
	Minimize string `json:"minimize,omitempty" noun:"metric" jsonschema:"enum=p50_ms,enum=p99_ms,enum=p999_ms,enum=availability,enum=error_rate,enum=throughput_rps,enum=requests,enum=rejected_ratio,enum=retries,enum=hedges,enum=extra_load_ratio,enum=fault_p99_ms,enum=fault_availability"`
	// Maximize names the metric to maximise; give minimize or maximize.
	Maximize string `json:"maximize,omitempty" noun:"metric" jsonschema:"enum=p50_ms,enum=p99_ms,enum=p999_ms,enum=availability,enum=error_rate,enum=throughput_rps,enum=requests,enum=rejected_ratio,enum=retries,enum=hedges,enum=extra_load_ratio,enum=fault_p99_ms,enum=fault_availability"`
	// SubjectTo lists constraints as "metric>=value" or "metric<=value" ("availability>=99.9%").
	SubjectTo []string `json:"subjectTo,omitempty"`
	// BudgetRuns stops the search after this many simulator runs (default 200).
	BudgetRuns int `json:"budgetRuns,omitempty" jsonschema:"minimum=1"`
	// BudgetTime stops the search after this much wall time (0: no limit).
	BudgetTime time.Duration `json:"budgetTime,omitempty"`
}

// SweepMetrics are the metric names a sweep row holds (bench/sweep's
// Metric constants; a test there keeps the two lists equal).
var SweepMetrics = []string{
	"p50_ms", "p99_ms", "p999_ms", "availability", "error_rate", "throughput_rps", "requests",
	"rejected_ratio", "retries", "hedges", "extra_load_ratio", "fault_p99_ms", "fault_availability",
	"knee_rps",
}

// Constraint bounds one metric of a sweep row: Metric >= Value (Min) or
// Metric <= Value.
type Constraint struct {
	Metric string  `json:"metric"`
	Min    bool    `json:"min"`
	Value  float64 `json:"value"`
}

// String writes the constraint as it is parsed.
func (c Constraint) String() string {
	op := "<="
	if c.Min {
		op = ">="
	}
	return c.Metric + op + strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// Holds reports whether v satisfies the constraint.
func (c Constraint) Holds(v float64) bool {
	if c.Min {
		return v >= c.Value
	}
	return v <= c.Value
}

// ParseConstraint reads "metric>=value" or "metric<=value"; the value is a
// number or a percentage ("99.9%").
func ParseConstraint(s string) (Constraint, error) {
	var c Constraint
	op := ">="
	name, val, ok := strings.Cut(s, op)
	if !ok {
		op = "<="
		if name, val, ok = strings.Cut(s, op); !ok {
			return c, fmt.Errorf("invalid constraint %q: want METRIC>=VALUE or METRIC<=VALUE (e.g. availability>=0.999)", s)
		}
	}
	c.Metric, c.Min = strings.TrimSpace(name), op == ">="
	if !slices.Contains(SweepMetrics, c.Metric) {
		return c, fmt.Errorf("invalid constraint %q: unknown metric %q%s", s, c.Metric, hintOrList(c.Metric, SweepMetrics))
	}
	val = strings.TrimSpace(val)
	if f, ok := parsePercent(val); ok {
		c.Value = f
		return c, nil
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || f != f {
		return c, fmt.Errorf("invalid constraint %q: %q is not a number", s, val)
	}
	c.Value = f
	return c, nil
}

// decodeNode reads the params mapping in order: each key a key path, each
// value a list of values or a range mapping.
func (ps *SweepParams) decodeNode(d *decoder, n ast.Node, path string) bool {
	es, ok := d.entries(n, path)
	if !ok {
		return d.mismatch(n, path, "a mapping of key paths to values", scalarOf(n))
	}
	if len(es) == 0 {
		d.issueAt(nodePos(n), path, "name at least one key path to sweep")
		return false
	}
	out := make(SweepParams, 0, len(es))
	good := true
	for _, e := range es {
		sub := joinPath(path, e.key)
		d.recordValue(sub, e.keyPos, e.value)
		p := SweepParam{Path: e.key, At: d.at(e.keyPos)}
		ok := d.withResolved(e.value, sub, func(v ast.Node) bool {
			switch scalarOf(v).kind {
			case kindList:
				seq := v.(*ast.SequenceNode)
				if len(seq.Values) == 0 {
					d.issueAt(nodePos(v), sub, "give at least one value")
					return false
				}
				good := true
				for i, item := range seq.Values {
					var sv SweepValue
					if !d.value(item, indexPath(sub, i), reflect.ValueOf(&sv).Elem()) {
						good = false
					}
					p.Values = append(p.Values, sv)
					p.valueAt = append(p.valueAt, d.at(nodePos(item)))
				}
				return good
			case kindMapping:
				r := newValue(reflect.TypeFor[SweepRange]())
				ok := d.value(v, sub, r.Elem())
				p.Range = r.Interface().(*SweepRange)
				p.valueAt = []string{d.at(nodePos(v))}
				return ok
			}
			d.issueAt(nodePos(v), sub, "expected a list of values or a range {from, to, step | steps}, got %s", scalarOf(v).describe())
			return false
		})
		good = good && ok
		out = append(out, p)
	}
	*ps = out
	return good
}

// at formats a position of the decoder's file.
func (d *decoder) at(p position) string { return fmt.Sprintf("%s:%d:%d", d.file, p.line, p.col) }

// MarshalJSON writes the params as a mapping in their order.
func (ps SweepParams) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(p.Path)
		buf.Write(k)
		buf.WriteByte(':')
		var v []byte
		var err error
		if p.Range != nil {
			v, err = marshalJSON(*p.Range)
		} else {
			v, err = json.Marshal(p.Values)
		}
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// ParseSweepParam reads a --param flag: "PATH=VALUES", where VALUES is a
// YAML list ("[10%, 20%]"), a range ("{from: 2, to: 10, step: 1}") or
// comma-separated values ("2,3,4"). Messages name the flag as the file.
func ParseSweepParam(flag string) (SweepParam, error) {
	path, values, ok := strings.Cut(flag, "=")
	path, values = strings.TrimSpace(path), strings.TrimSpace(values)
	if !ok || path == "" || values == "" {
		return SweepParam{}, fmt.Errorf("--param %q: want PATH=VALUES, e.g. policy.balancer.choices=2,3,4 or 'load.checkout.rate={from: 200/s, to: 2000/s, steps: 10}'", flag)
	}
	if !strings.HasPrefix(values, "[") && !strings.HasPrefix(values, "{") {
		values = "[" + values + "]"
	}
	src := []byte(strconv.Quote(path) + ": " + values + "\n")
	d := newDecoder("--param " + path)
	root, ok := d.parse(src)
	var ps SweepParams
	if ok {
		d.collectAnchors(root)
		ps.decodeNode(d, root, "")
	}
	if err := newValidationError(d.issues); err != nil {
		return SweepParam{}, err
	}
	return ps[0], nil
}

// checkSweep validates the sweep section of a loaded plan: the base
// variant, each key path, each value (by loading the scenario with it in
// place), the lengths of zipped lists and the tune block. Issues are
// placed where the sweep wrote the value at fault.
func (p *Plan) checkSweep(d *decoder) {
	sw := p.Sweep
	if sw == nil {
		return
	}
	if sw.Variant != "" && p.variantIndex(sw.Variant) < 0 {
		d.errorf("sweep.variant", "unknown variant %q%s", sw.Variant, hintOrList(sw.Variant, p.variantNames()))
		return
	}
	d.issues = append(d.issues, p.CheckSweepParams(sw.Variant, sw.Params, sw.Mode == SweepZip, sw.Tune != nil)...)
	if t := sw.Tune; t != nil {
		if (t.Minimize == "") == (t.Maximize == "") && d.decodedCleanly("sweep.tune") {
			d.errorf("sweep.tune", "give one of minimize and maximize")
		}
		for i, c := range t.SubjectTo {
			if _, err := ParseConstraint(c); err != nil {
				d.errorf(indexPath("sweep.tune.subjectTo", i), "%s", err)
			}
		}
	}
}

// decodedCleanly reports whether path and what is inside it decoded cleanly.
func (d *decoder) decodedCleanly(path string) bool {
	for p := range d.bad {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return false
		}
	}
	return true
}

// CheckSweepParams checks swept parameters against the plan: each key path
// must name a setting of the base variant (did-you-mean for typos), each
// value (a range's ends) must load, and zipped parameters must have as many
// values each. For a tune (forTune), a range needs only its ends. Issues
// are located at the parameter's At and its values'.
func (p *Plan) CheckSweepParams(variant string, params SweepParams, zip, forTune bool) []Issue {
	var issues []Issue
	add := func(at, path, format string, args ...any) {
		issues = append(issues, sweepIssueAt(at, path, fmt.Sprintf(format, args...)))
	}
	n, first := -1, ""
	for _, sp := range params {
		if err := p.checkSweepPath(sp.Path); err != nil {
			add(sp.At, sp.Path, "%s", err)
			continue
		}
		var values []string
		var err error
		if forTune && sp.Range != nil {
			var d SweepDomain
			if d, err = sp.Range.Bounds(); err == nil {
				values = []string{d.Format(d.From), d.Format(d.To)}
			}
		} else {
			values, err = sp.Expand()
		}
		if err != nil {
			add(firstOr(sp.valueAt, sp.At), sp.Path, "%s", err)
			continue
		}
		check := values
		at := sp.valueAt
		if sp.Range != nil && len(values) > 2 {
			check = []string{values[0], values[len(values)-1]}
			at = []string{firstOr(sp.valueAt, sp.At), firstOr(sp.valueAt, sp.At)}
		}
		for i, v := range check {
			if _, err := p.Point(variant, []Override{{Path: sp.Path, Value: v}}, nil); err != nil {
				where := sp.At
				if i < len(at) {
					where = at[i]
				}
				add(where, sp.Path, "%s", pointError(sp.Path, v, err))
			}
		}
		if zip {
			if n >= 0 && len(values) != n {
				add(sp.At, sp.Path, "zip needs as many values for every parameter: %d here, %d for %s", len(values), n, first)
			}
			if n < 0 {
				n, first = len(values), sp.Path
			}
		}
	}
	return issues
}

func firstOr(list []string, or string) string {
	if len(list) > 0 {
		return list[0]
	}
	return or
}

// sweepIssueAt builds an Issue from a "file:line:col" location.
func sweepIssueAt(at, path, msg string) Issue {
	is := Issue{File: at, Line: 1, Col: 1, Path: "sweep.params." + path, Msg: msg}
	if i := strings.LastIndexByte(at, ':'); i > 0 {
		if j := strings.LastIndexByte(at[:i], ':'); j > 0 {
			l, err1 := strconv.Atoi(at[j+1 : i])
			c, err2 := strconv.Atoi(at[i+1:])
			if err1 == nil && err2 == nil {
				is.File, is.Line, is.Col = at[:j], l, c
			}
		}
	}
	return is
}

// pointError explains why the scenario refused a value: the issues of the
// scenario with the value in place, without their generated positions.
func pointError(path, value string, err error) string {
	ve, ok := err.(*ValidationError)
	if !ok {
		return fmt.Sprintf("%s = %s: %s", path, value, err)
	}
	msgs := make([]string, 0, len(ve.Issues))
	for _, is := range ve.Issues {
		msgs = append(msgs, is.Msg)
	}
	return fmt.Sprintf("%s = %s: %s", path, value, strings.Join(msgs, "; "))
}

func (p *Plan) variantIndex(name string) int {
	for i, v := range p.Variants {
		if v.Name == name {
			return i
		}
	}
	return -1
}

func (p *Plan) variantNames() []string {
	return names(p.Variants, func(v Variant) string { return v.Name })
}

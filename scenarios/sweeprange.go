package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Units of swept values, as numbers: a duration in ms, a rate in events
// per second, a percentage as a 0..1 ratio, a plain number as itself.
const (
	UnitNumber   = "number"
	UnitDuration = "ms"
	UnitRate     = "/s"
	UnitPercent  = "ratio"
)

// maxRangeValues bounds the values one range may make.
const maxRangeValues = 100_000

// SweepNumber reads a swept value as a number and its unit (see UnitNumber
// …); ok is false for values that are not numbers (a balancer's name).
func SweepNumber(s string) (x float64, unit string, ok bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, UnitNumber, true
	}
	if f, ok := parsePercent(s); ok {
		return f, UnitPercent, true
	}
	if strings.Contains(s, "/") {
		if r, err := ParseRate(s); err == nil {
			return float64(r), UnitRate, true
		}
		return 0, "", false
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return float64(d) / float64(time.Millisecond), UnitDuration, true
	}
	return 0, "", false
}

// SweepDomain is a numeric range of a parameter: a unit, the ends, and
// whether values are integers or log-spaced. The tuner searches it.
type SweepDomain struct {
	Unit string  `json:"unit"`
	Int  bool    `json:"int,omitempty"`
	Log  bool    `json:"log,omitempty"`
	From float64 `json:"from"`
	To   float64 `json:"to"`
	// Step is the linear step (0 when the range gives steps).
	Step float64 `json:"step,omitempty"`
	// Steps is the count of values (0 when the range gives step).
	Steps int `json:"steps,omitempty"`
}

// Domain reads a range's ends, step and scale, for a sweep: it needs a
// step or a count of steps (integers step by 1 by default).
func (r *SweepRange) Domain() (SweepDomain, error) { return r.domain(true) }

// Bounds reads a range's ends and scale, for a tune, which searches
// between them: step and steps are checked when given but not needed.
func (r *SweepRange) Bounds() (SweepDomain, error) { return r.domain(false) }

func (r *SweepRange) domain(needStep bool) (SweepDomain, error) {
	from, fu, ok1 := SweepNumber(string(r.From))
	to, tu, ok2 := SweepNumber(string(r.To))
	switch {
	case !ok1:
		return SweepDomain{}, fmt.Errorf("range from %q is not a number, duration, rate or percentage", r.From)
	case !ok2:
		return SweepDomain{}, fmt.Errorf("range to %q is not a number, duration, rate or percentage", r.To)
	case fu != tu:
		return SweepDomain{}, fmt.Errorf("range from %q and to %q are in different units (%s, %s)", r.From, r.To, fu, tu)
	}
	d := SweepDomain{Unit: fu, From: from, To: to, Steps: r.Steps, Log: r.Scale == ScaleLog}
	d.Int = fu == UnitNumber && isIntText(string(r.From)) && isIntText(string(r.To))
	if r.Step != "" {
		step, su, ok := SweepNumber(string(r.Step))
		if !ok || su != fu {
			return SweepDomain{}, fmt.Errorf("range step %q is not in the unit of from and to (%s)", r.Step, fu)
		}
		if step <= 0 {
			return SweepDomain{}, fmt.Errorf("range step %q must be greater than 0", r.Step)
		}
		d.Step = step
		d.Int = d.Int && isIntText(string(r.Step))
	}
	switch {
	case r.Step != "" && r.Steps != 0:
		return d, fmt.Errorf("give step or steps, not both")
	case needStep && r.Step == "" && r.Steps == 0 && !d.Int:
		return d, fmt.Errorf("give step (the distance between values) or steps (how many values)")
	case d.Log && r.Step != "":
		return d, fmt.Errorf("a log range needs steps (how many values), not step")
	case d.Log && (from <= 0 || to <= 0):
		return d, fmt.Errorf("a log range needs from and to greater than 0")
	case to < from:
		return d, fmt.Errorf("range to %q is below from %q", r.To, r.From)
	}
	if d.Int && d.Step == 0 && d.Steps == 0 {
		d.Step = 1
	}
	return d, nil
}

func isIntText(s string) bool {
	_, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return err == nil
}

// Numbers lists the range's values as numbers in its unit.
func (d SweepDomain) Numbers() ([]float64, error) {
	var xs []float64
	if d.Step > 0 {
		n := math.Floor((d.To-d.From)/d.Step+1e-9) + 1
		if n > maxRangeValues {
			return nil, fmt.Errorf("the range makes %.0f values, more than %d", n, maxRangeValues)
		}
		for i := range int(n) {
			xs = append(xs, d.From+float64(i)*d.Step)
		}
	} else {
		if d.Steps > maxRangeValues {
			return nil, fmt.Errorf("steps %d is more than %d", d.Steps, maxRangeValues)
		}
		for i := range d.Steps {
			f := float64(i) / float64(d.Steps-1)
			if d.Log {
				xs = append(xs, d.From*math.Pow(d.To/d.From, f))
			} else {
				xs = append(xs, d.From+f*(d.To-d.From))
			}
		}
	}
	if d.Int {
		out := xs[:0]
		for _, x := range xs {
			x = math.Round(x)
			if len(out) == 0 || out[len(out)-1] != x {
				out = append(out, x)
			}
		}
		xs = out
	}
	return xs, nil
}

// Format writes x, a number in the domain's unit, as a scenario writes it.
func (d SweepDomain) Format(x float64) string {
	if d.Int {
		return strconv.FormatInt(int64(math.Round(x)), 10)
	}
	return FormatSweepNumber(x, d.Unit)
}

// FormatSweepNumber writes x in unit as a scenario writes it: "250ms",
// "1200/s", "20%", "0.35".
func FormatSweepNumber(x float64, unit string) string {
	short := func(v float64) string { return strconv.FormatFloat(roundSig(v, 6), 'f', -1, 64) }
	switch unit {
	case UnitDuration:
		d := time.Duration(math.Round(x * float64(time.Millisecond)))
		if d >= time.Second {
			return short(float64(d)/float64(time.Second)) + "s"
		}
		if d >= time.Millisecond {
			return short(float64(d)/float64(time.Millisecond)) + "ms"
		}
		return short(float64(d)/float64(time.Microsecond)) + "us"
	case UnitRate:
		return short(x) + "/s"
	case UnitPercent:
		return short(x*100) + "%"
	}
	return short(x)
}

// roundSig rounds x to n significant digits, so that 0.1+0.2 prints as 0.3.
func roundSig(x float64, n int) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// Expand lists the parameter's values as a scenario writes them.
func (sp SweepParam) Expand() ([]string, error) {
	if sp.Range == nil {
		out := make([]string, len(sp.Values))
		for i, v := range sp.Values {
			out[i] = string(v)
		}
		return out, nil
	}
	d, err := sp.Range.Domain()
	if err != nil {
		return nil, err
	}
	xs, err := d.Numbers()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = d.Format(x)
	}
	return out, nil
}

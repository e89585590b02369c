package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Distribution types.
const (
	DistConstant    = "constant"
	DistExponential = "exponential"
	DistUniform     = "uniform"
	DistNormal      = "normal"
	DistLognormal   = "lognormal"
	DistPareto      = "pareto"
	DistEmpirical   = "empirical"
)

// DistributionSpec describes a distribution of durations (service times,
// network latency, think times). In a file it is a mapping with a type and
// that type's parameters, or a bare duration ("5ms") for a constant:
//
//	constant     value                       always value
//	exponential  mean                        memoryless, mean as given
//	uniform      min, max                    every value in [min, max] equally likely
//	normal       mean, stddev                Gaussian truncated at 0 (resampled, not clamped)
//	lognormal    median, p99  or  mu, sigma  heavy right tail; see below
//	pareto       scale, shape                xm = scale, α = shape; P(X > x) = (scale/x)^shape
//	empirical    quantiles: [{q, value}...]  piecewise-linear inverse CDF through the points
//
// Every parameter is a duration except lognormal's mu and sigma and
// pareto's shape, which are plain numbers. lognormal's mu and sigma are the
// mean and standard deviation of ln(X) with X in SECONDS: mu = ln(median in
// seconds), so mu = ln(0.02) ≈ -3.91 is a 20ms median. Given median and p99
// instead, sigma = (ln(p99) − ln(median)) / z₀.₉₉ with z₀.₉₉ ≈ 2.3263.
// An empirical distribution returns the first value below the first point
// and the last value above the last; include q: 0 and q: 1 to bound it.
type DistributionSpec struct {
	// Type is constant, exponential, uniform, normal, lognormal, pareto or empirical.
	Type string `json:"type" noun:"distribution" jsonschema:"required,enum=constant,enum=exponential,enum=uniform,enum=normal,enum=lognormal,enum=pareto,enum=empirical"`
	// Value is the constant's value.
	Value time.Duration `json:"value,omitempty"`
	// Mean is the mean (exponential) or the untruncated mean (normal).
	Mean time.Duration `json:"mean,omitempty"`
	// Min is the smallest value (uniform).
	Min time.Duration `json:"min,omitempty"`
	// Max is the largest value (uniform).
	Max time.Duration `json:"max,omitempty"`
	// Stddev is the untruncated standard deviation (normal).
	Stddev time.Duration `json:"stddev,omitempty"`
	// Median is the median (lognormal, with p99).
	Median time.Duration `json:"median,omitempty"`
	// P99 is the 99th percentile (lognormal, with median).
	P99 time.Duration `json:"p99,omitempty"`
	// Mu is the mean of ln(X), X in seconds (lognormal, with sigma).
	Mu *float64 `json:"mu,omitempty"`
	// Sigma is the standard deviation of ln(X) (lognormal, with mu).
	Sigma *float64 `json:"sigma,omitempty"`
	// Scale is the minimum value xm (pareto).
	Scale time.Duration `json:"scale,omitempty"`
	// Shape is the tail index α; the mean is finite only above 1 (pareto).
	Shape float64 `json:"shape,omitempty"`
	// Quantiles are points of the inverse CDF, q strictly increasing in [0,1], values not decreasing (empirical).
	Quantiles []QuantilePoint `json:"quantiles,omitempty"`
}

// QuantilePoint is one point of an empirical distribution: the value below
// which a fraction Q of samples fall.
type QuantilePoint struct {
	// Q is the quantile, in [0, 1].
	Q float64 `json:"q" jsonschema:"required,minimum=0,maximum=1"`
	// Value is the duration at that quantile.
	Value time.Duration `json:"value" jsonschema:"required"`
}

// Constant returns the spec of a constant distribution.
func Constant(d time.Duration) DistributionSpec {
	return DistributionSpec{Type: DistConstant, Value: d}
}

// distParams lists each distribution type's parameter keys.
var distParams = map[string][]string{
	DistConstant:    {"value"},
	DistExponential: {"mean"},
	DistUniform:     {"min", "max"},
	DistNormal:      {"mean", "stddev"},
	DistLognormal:   {"median", "p99", "mu", "sigma"},
	DistPareto:      {"scale", "shape"},
	DistEmpirical:   {"quantiles"},
}

// distTypes lists the types in the order of the documentation.
var distTypes = []string{DistConstant, DistExponential, DistUniform, DistNormal, DistLognormal, DistPareto, DistEmpirical}

// decodeNode reads the shorthand duration or the mapping form, accepting
// only the parameters of the declared type, then checks their values.
func (s *DistributionSpec) decodeNode(d *decoder, n ast.Node, path string) bool {
	sc := scalarOf(n)
	if sc.kind != kindMapping {
		if sc.kind == kindList || sc.kind == kindNull || sc.kind == kindBool {
			d.issueAt(nodePos(n), path, `expected a distribution (a mapping with a type, or a duration such as "5ms"), got %s`, sc.describe())
			return false
		}
		v, err := decodeDuration(sc)
		if err != nil {
			d.issueAt(nodePos(n), path, "%s", err)
			return false
		}
		*s = Constant(v)
		return true
	}
	typ, ok := d.distType(n, path)
	if !ok {
		return false
	}
	params := distParams[typ]
	filter := func(key string) string {
		if key == "type" || slices.Contains(params, key) {
			return ""
		}
		return fmt.Sprintf("%q is not a parameter of %s %s distribution (parameters: %s)", key, article(typ), typ, strings.Join(params, ", "))
	}
	*s = DistributionSpec{}
	if !d.structValue(n, path, reflect.ValueOf(s).Elem(), filter) {
		return false
	}
	return s.check(d, path)
}

// distType finds the type key first, since it decides which keys are valid.
func (d *decoder) distType(n ast.Node, path string) (string, bool) {
	es, _ := d.entries(n, path)
	for _, e := range es {
		if e.key != "type" {
			continue
		}
		sc := scalarOf(e.value)
		switch {
		case sc.kind != kindString:
			d.issueAt(nodePos(e.value), joinPath(path, "type"), "expected a distribution type, got %s", sc.describe())
		case distParams[sc.text] == nil:
			d.issueAt(nodePos(e.value), joinPath(path, "type"), "unknown distribution %q%s", sc.text, hintOrList(sc.text, distTypes))
		default:
			return sc.text, true
		}
		return "", false
	}
	d.issueAt(d.posOf(path), path, "missing required key \"type\" (one of %s)", strings.Join(distTypes, ", "))
	return "", false
}

// check reports impossible parameter values, e.g. p99 below the median.
func (s *DistributionSpec) check(d *decoder, path string) bool {
	bad := func(key, format string, args ...any) bool {
		at := path
		if key != "" {
			at = joinPath(path, key)
		}
		d.errorf(at, format, args...)
		return false
	}
	need := func(keys ...string) bool {
		ok := true
		for _, k := range keys {
			if !d.has(joinPath(path, k)) {
				d.errorf(path, "%s %s distribution needs %q", article(s.Type), s.Type, k)
				ok = false
			}
		}
		return ok
	}
	switch s.Type {
	case DistConstant:
		return need("value")
	case DistExponential:
		if !need("mean") {
			return false
		}
		if s.Mean <= 0 {
			return bad("mean", "must be greater than 0")
		}
	case DistUniform:
		if !need("min", "max") {
			return false
		}
		if s.Max < s.Min {
			return bad("max", "max (%s) is below min (%s)", s.Max, s.Min)
		}
	case DistNormal:
		if !need("mean", "stddev") {
			return false
		}
		if s.Stddev <= 0 {
			return bad("stddev", "must be greater than 0 (use a constant for no spread)")
		}
	case DistLognormal:
		return s.checkLognormal(d, path, bad)
	case DistPareto:
		if !need("scale", "shape") {
			return false
		}
		if s.Scale <= 0 {
			return bad("scale", "must be greater than 0")
		}
		if !(s.Shape > 0) {
			return bad("shape", "must be greater than 0")
		}
	case DistEmpirical:
		if !need("quantiles") {
			return false
		}
		return s.checkEmpirical(path, bad)
	}
	return true
}

func (s *DistributionSpec) checkLognormal(d *decoder, path string, bad func(string, string, ...any) bool) bool {
	byQuantiles := d.has(joinPath(path, "median")) || d.has(joinPath(path, "p99"))
	byMoments := s.Mu != nil || s.Sigma != nil
	switch {
	case byQuantiles && byMoments:
		return bad("", "give median and p99, or mu and sigma, not both")
	case byMoments:
		if s.Mu == nil || s.Sigma == nil {
			return bad("", "a lognormal distribution by moments needs both mu and sigma (ln-seconds)")
		}
		if math.Abs(*s.Mu) > 40 {
			return bad("mu", "mu is ln(median in seconds); %s is out of range (|mu| ≤ 40)", fmtNum(*s.Mu))
		}
		if !(*s.Sigma > 0 && *s.Sigma <= 10) {
			return bad("sigma", "must be greater than 0 and at most 10, got %s", fmtNum(*s.Sigma))
		}
	default:
		if !d.has(joinPath(path, "median")) || !d.has(joinPath(path, "p99")) {
			return bad("", "a lognormal distribution needs median and p99 (durations), or mu and sigma (ln-seconds)")
		}
		if s.Median <= 0 {
			return bad("median", "must be greater than 0")
		}
		if s.P99 <= s.Median {
			return bad("p99", "p99 (%s) must be above the median (%s)", s.P99, s.Median)
		}
	}
	return true
}

func (s *DistributionSpec) checkEmpirical(path string, bad func(string, string, ...any) bool) bool {
	if len(s.Quantiles) == 0 {
		return bad("quantiles", "needs at least one point")
	}
	for i := 1; i < len(s.Quantiles); i++ {
		prev, cur := s.Quantiles[i-1], s.Quantiles[i]
		key := "quantiles[" + strconv.Itoa(i) + "]"
		if cur.Q <= prev.Q {
			return bad(key+".q", "q must increase from point to point (%s after %s)", fmtNum(cur.Q), fmtNum(prev.Q))
		}
		if cur.Value < prev.Value {
			return bad(key+".value", "values must not decrease (%s after %s)", cur.Value, prev.Value)
		}
	}
	return true
}

// params lists the parameter keys the spec uses: its type's, and for a
// lognormal only the pair it was given by.
func (s DistributionSpec) params() []string {
	switch {
	case s.Type == DistLognormal && s.Mu != nil:
		return []string{"mu", "sigma"}
	case s.Type == DistLognormal:
		return []string{"median", "p99"}
	}
	return distParams[s.Type]
}

// MarshalJSON writes a constant as its duration ("5ms") and any other
// distribution as its type and exactly its parameters, zeros included, so
// that the JSON loads back as the same distribution.
func (s DistributionSpec) MarshalJSON() ([]byte, error) {
	if s.Type == DistConstant {
		return json.Marshal(s.Value.String())
	}
	return marshalKeys(s, append([]string{"type"}, s.params()...))
}

// String describes the distribution compactly, e.g. "lognormal(median=20ms, p99=120ms)".
func (s DistributionSpec) String() string {
	switch s.Type {
	case DistConstant:
		return s.Value.String()
	case DistExponential:
		return fmt.Sprintf("exponential(mean=%s)", s.Mean)
	case DistUniform:
		return fmt.Sprintf("uniform(%s, %s)", s.Min, s.Max)
	case DistNormal:
		return fmt.Sprintf("normal(mean=%s, stddev=%s)", s.Mean, s.Stddev)
	case DistLognormal:
		if s.Mu != nil && s.Sigma != nil {
			return fmt.Sprintf("lognormal(mu=%s, sigma=%s)", fmtNum(*s.Mu), fmtNum(*s.Sigma))
		}
		return fmt.Sprintf("lognormal(median=%s, p99=%s)", s.Median, s.P99)
	case DistPareto:
		return fmt.Sprintf("pareto(scale=%s, shape=%s)", s.Scale, fmtNum(s.Shape))
	case DistEmpirical:
		parts := make([]string, len(s.Quantiles))
		for i, p := range s.Quantiles {
			parts[i] = fmtNum(p.Q) + ":" + p.Value.String()
		}
		return "empirical(" + strings.Join(parts, ", ") + ")"
	}
	return s.Type
}

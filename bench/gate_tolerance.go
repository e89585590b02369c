package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tolerance is how much worse a metric may get before the regression gate
// fails it. A relative tolerance is a fraction of the baseline (0.10 allows a
// p99 10% higher, or a throughput 10% lower). An absolute tolerance is in
// percentage points and applies only to ratio metrics (availability,
// error_rate), where a relative change of a number near 1 or near 0 says
// little: availability 99.9% → 99.0% is a 0.9% relative drop but ten times
// the errors.
type Tolerance struct {
	// Value is a fraction of the baseline when relative, or percentage
	// points when Absolute.
	Value float64
	// Absolute selects percentage points (ratio metrics only).
	Absolute bool
}

// String formats the tolerance as --max-regression spells it: "10%" or
// "0.1pp".
func (t Tolerance) String() string {
	if t.Absolute {
		return strconv.FormatFloat(t.Value, 'f', -1, 64) + "pp"
	}
	return strconv.FormatFloat(t.Value*100, 'f', -1, 64) + "%"
}

// DefaultTolerances are the allowed regressions when --max-regression does
// not name a metric: latencies may grow 10%, throughput may drop 5%, and
// availability and error rate may move 0.1 percentage points.
func DefaultTolerances() map[string]Tolerance {
	t := make(map[string]Tolerance, len(gateMetrics))
	for _, m := range gateMetrics {
		switch {
		case m.IsRatio():
			t[m.Name] = Tolerance{Value: 0.1, Absolute: true}
		case m.Unit == "rps":
			t[m.Name] = Tolerance{Value: 0.05}
		default:
			t[m.Name] = Tolerance{Value: 0.10}
		}
	}
	return t
}

// ParseTolerances parses a --max-regression value: comma-separated
// METRIC=AMOUNT pairs where AMOUNT is a percentage of the baseline ("10%") or,
// for availability and error_rate, percentage points ("0.1pp"). Metrics not
// named keep their default. An empty spec returns the defaults.
//
//	p99=10%,throughput=5%,availability=0.05pp
func ParseTolerances(spec string) (map[string]Tolerance, error) {
	t := DefaultTolerances()
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want METRIC=AMOUNT, e.g. p99=10%%", item)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		m, ok := LookupGateMetric(key)
		if !ok {
			return nil, fmt.Errorf("%q: unknown metric %q (metrics: %s; a route's or workload's as NAME.METRIC, e.g. checkout.p99, with ParseRegressions)", item, key, strings.Join(gateMetricNames(), ", "))
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("%q: metric %s given twice", item, m.Name)
		}
		seen[m.Name] = true
		tol, err := gateParseAmount(val, m)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		t[m.Name] = tol
	}
	return t, nil
}

func gateParseAmount(val string, m GateMetric) (Tolerance, error) {
	var (
		num string
		tol Tolerance
	)
	switch {
	case strings.HasSuffix(val, "%"):
		num = strings.TrimSuffix(val, "%")
	case strings.HasSuffix(val, "pp"):
		if !m.IsRatio() {
			return Tolerance{}, fmt.Errorf("percentage points (pp) apply only to availability and error_rate; give %s as a percentage, e.g. 10%%", m.Name)
		}
		num = strings.TrimSuffix(val, "pp")
		tol.Absolute = true
	default:
		return Tolerance{}, fmt.Errorf("amount %q needs a unit: a percentage of the baseline (10%%) or, for availability and error_rate, percentage points (0.1pp)", val)
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return Tolerance{}, fmt.Errorf("amount %q is not a number", val)
	}
	if x < 0 {
		return Tolerance{}, fmt.Errorf("amount %q is negative", val)
	}
	if tol.Absolute {
		tol.Value = x
	} else {
		tol.Value = x / 100
	}
	return tol, nil
}

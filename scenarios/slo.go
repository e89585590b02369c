package scenarios

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SLO metrics.
const (
	MetricP50          = "p50"
	MetricP90          = "p90"
	MetricP99          = "p99"
	MetricP999         = "p999"
	MetricMean         = "mean"
	MetricAvailability = "availability"
	MetricThroughput   = "throughput"
	MetricErrorRate    = "error_rate"
)

// SLO is one service-level objective: a metric of a run (after warm-up) and
// a bound it must respect, max or min. It applies to every run, or only to
// the named variant and/or backend; it is judged on all of a run's
// requests, or on one workload's alone.
type SLO struct {
	// Metric is p50, p90, p99, p999, mean, availability, throughput or error_rate.
	Metric string `json:"metric" noun:"metric" jsonschema:"required,enum=p50,enum=p90,enum=p99,enum=p999,enum=mean,enum=availability,enum=throughput,enum=error_rate"`
	// Max is the highest acceptable value. Exclusive with min.
	Max *Threshold `json:"max,omitempty"`
	// Min is the lowest acceptable value. Exclusive with max.
	Min *Threshold `json:"min,omitempty"`
	// Variant restricts the SLO to one variant.
	Variant string `json:"variant,omitempty"`
	// Backend restricts the SLO to one backend.
	Backend string `json:"backend,omitempty"`
	// Workload judges the SLO on the requests of that workload (a load
	// entry's name) alone: the customers' availability under an attack,
	// the quiet tenants' p99 beside a noisy one.
	Workload string `json:"workload,omitempty"`
}

// Applies reports whether the SLO is judged for a run of variant on backend.
func (s SLO) Applies(variant, backend string) bool {
	return (s.Variant == "" || s.Variant == variant) && (s.Backend == "" || s.Backend == backend)
}

// Label names what the SLO bounds: its metric, "of" its workload when it
// has one ("availability of customers").
func (s SLO) Label() string {
	if s.Workload == "" {
		return s.Metric
	}
	return s.Metric + " of " + s.Workload
}

// Bound returns "max" or "min" and the threshold.
func (s SLO) Bound() (string, Threshold) {
	if s.Max != nil {
		return "max", *s.Max
	}
	if s.Min != nil {
		return "min", *s.Min
	}
	return "", Threshold{}
}

// Met reports whether a measured value, in the unit of Threshold.Value
// (seconds, a fraction, or per second), satisfies the SLO.
func (s SLO) Met(v float64) bool {
	bound, t := s.Bound()
	switch bound {
	case "max":
		return v <= t.Value
	case "min":
		return v >= t.Value
	}
	return true
}

// ThresholdKind says what unit a threshold is in.
type ThresholdKind string

// Threshold kinds.
const (
	ThresholdDuration ThresholdKind = "duration" // latency metrics: p50 … p999, mean
	ThresholdFraction ThresholdKind = "fraction" // availability, error_rate
	ThresholdRate     ThresholdKind = "rate"     // throughput
)

// metricKind is the threshold kind each metric needs.
var metricKind = map[string]ThresholdKind{
	MetricP50: ThresholdDuration, MetricP90: ThresholdDuration, MetricP99: ThresholdDuration,
	MetricP999: ThresholdDuration, MetricMean: ThresholdDuration,
	MetricAvailability: ThresholdFraction, MetricErrorRate: ThresholdFraction,
	MetricThroughput: ThresholdRate,
}

// Threshold is an SLO bound. Its written form says its kind: a duration
// ("250ms") for latency metrics, a fraction (0.999 or "99.9%") for
// availability and error_rate, a rate ("400/s") for throughput.
type Threshold struct {
	Kind ThresholdKind
	// Value is in seconds (duration), as a fraction in [0,1], or per second (rate).
	Value float64
}

// Duration is the threshold of a latency metric.
func (t Threshold) Duration() time.Duration { return secondsToDuration(t.Value) }

// String writes the threshold in its file syntax.
func (t Threshold) String() string {
	switch t.Kind {
	case ThresholdDuration:
		return t.Duration().String()
	case ThresholdRate:
		return Rate(t.Value).String()
	}
	return strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// MarshalJSON writes durations and rates as strings, fractions as numbers.
func (t Threshold) MarshalJSON() ([]byte, error) {
	if t.Kind == ThresholdFraction {
		return json.Marshal(t.Value)
	}
	return json.Marshal(t.String())
}

func (t *Threshold) decodeScalar(s scalar) error {
	switch {
	case s.kind == kindString && strings.Contains(s.text, "/"):
		var r Rate
		if err := r.decodeScalar(s); err != nil {
			return err
		}
		*t = Threshold{Kind: ThresholdRate, Value: float64(r)}
	case s.kind == kindString && isBareNumber(s.text):
		// Which unit was meant depends on the metric, which the SLO's
		// validation knows: it replaces this message (thresholdHint).
		return fmt.Errorf("%q has no unit: %s", s.text, thresholdHint("", s.text))
	case s.kind == kindString && !strings.HasSuffix(s.text, "%"):
		d, err := parseDuration(s.text)
		if err != nil {
			return err
		}
		*t = Threshold{Kind: ThresholdDuration, Value: d.Seconds()}
	case s.kind == kindInt || s.kind == kindFloat:
		v, err := strconv.ParseFloat(s.text, 64)
		if err != nil || v < 0 || v > 1 {
			return fmt.Errorf(`a bare number is a fraction between 0 and 1, got %s; write a duration ("250ms") or a rate ("250/s") with its unit`, s.text)
		}
		*t = Threshold{Kind: ThresholdFraction, Value: v}
	case s.kind == kindString:
		var f Fraction
		if err := f.decodeScalar(s); err != nil {
			return err
		}
		*t = Threshold{Kind: ThresholdFraction, Value: float64(f)}
	default:
		return fmt.Errorf(`expected a duration ("250ms"), a fraction (0.999 or "99.9%%") or a rate ("400/s"), got %s`, s.describe())
	}
	return nil
}

package bench

// GateMetric is one figure of a RunSummary that the regression gate compares
// between a baseline and a current run: its name as --max-regression and SLOs
// spell it, its unit, and which direction is better.
type GateMetric struct {
	Name string
	// Unit is "ms" for latencies, "rps" for throughput and "ratio" for
	// availability and error_rate, as in SLOVerdict.Unit.
	Unit string
	// HigherIsBetter is true for throughput and availability.
	HigherIsBetter bool
	// Value reads the metric from one run.
	Value func(RunSummary) float64
}

// IsRatio reports whether the metric is a fraction (0..1), for which a
// tolerance may be given in absolute percentage points.
func (m GateMetric) IsRatio() bool { return m.Unit == "ratio" }

// gateMetrics lists the compared metrics in the order the gate reports them.
var gateMetrics = []GateMetric{
	{Name: "p50", Unit: "ms", Value: func(r RunSummary) float64 { return r.LatencyMS.P50 }},
	{Name: "p90", Unit: "ms", Value: func(r RunSummary) float64 { return r.LatencyMS.P90 }},
	{Name: "p99", Unit: "ms", Value: func(r RunSummary) float64 { return r.LatencyMS.P99 }},
	{Name: "p999", Unit: "ms", Value: func(r RunSummary) float64 { return r.LatencyMS.P999 }},
	{Name: "mean", Unit: "ms", Value: func(r RunSummary) float64 { return r.LatencyMS.Mean }},
	{Name: "throughput", Unit: "rps", HigherIsBetter: true, Value: func(r RunSummary) float64 { return r.ThroughputRPS }},
	{Name: "availability", Unit: "ratio", HigherIsBetter: true, Value: func(r RunSummary) float64 { return r.Availability }},
	{Name: "error_rate", Unit: "ratio", Value: gateErrorRate},
}

// gateErrorRate is the fraction of requests that failed, from the counts rather
// than the rounded availability.
func gateErrorRate(r RunSummary) float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Requests-r.Successes) / float64(r.Requests)
}

// GateMetrics returns the metrics the gate compares, in report order.
func GateMetrics() []GateMetric {
	return append([]GateMetric(nil), gateMetrics...)
}

// LookupGateMetric finds a metric by name; "p99.9" is accepted for "p999".
func LookupGateMetric(name string) (GateMetric, bool) {
	if name == "p99.9" {
		name = "p999"
	}
	for _, m := range gateMetrics {
		if m.Name == name {
			return m, true
		}
	}
	return GateMetric{}, false
}

// gateMetricNames lists the metric names, for error messages.
func gateMetricNames() []string {
	names := make([]string, len(gateMetrics))
	for i, m := range gateMetrics {
		names[i] = m.Name
	}
	return names
}

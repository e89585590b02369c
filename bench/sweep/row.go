// Package sweep runs a scenario over a grid of settings on the simulator:
// each point of the grid is one variant, named by the key paths it sets,
// run with the same seeds per repeat as every other point (common random
// numbers), and reduced to one Row per point and repeat.
//
// Row is the contract between the sweep runner, the tuner (bench/tune), the
// plots and the files of a sweep folder (docs/sweep.md).
package sweep

// Row is the outcome of one point of a sweep in one repeat: the settings
// that define the point, and the run's figures by metric name.
type Row struct {
	// Point numbers the points of a sweep from 0, in the order the grid
	// lists them; Repeat numbers a point's repeats from 0.
	Point  int `json:"point"`
	Repeat int `json:"repeat"`
	// Seed is the repeat's seed: the same for every point of a repeat, so
	// points differ by their settings, not by their random streams.
	Seed uint64 `json:"seed"`
	// Params are the point's settings by key path, as a scenario writes
	// them ("policy.retries.budget.ratio": "20%").
	Params map[string]string `json:"params"`
	// X are the same settings as numbers, in the unit Metrics name in
	// their keys' docs: ms for durations, requests/s for rates, a 0..1
	// ratio for percentages, the count for integers.
	X map[string]float64 `json:"x"`
	// Metrics are the run's figures by name (see MetricNames).
	Metrics map[string]float64 `json:"metrics"`
	// Feasible is true when every SLO of the scenario passed in this run.
	Feasible bool `json:"feasible"`
	// Error is set when the point's run failed; Metrics are then absent.
	Error string `json:"error,omitempty"`
}

// The metric names a Row holds. Latencies are of successful requests, in
// ms; ratios are 0..1; fault_* restrict the figure to the part of the
// timeline where a fault is active (absent when the scenario has none).
const (
	MetricP50               = "p50_ms"
	MetricP99               = "p99_ms"
	MetricP999              = "p999_ms"
	MetricAvailability      = "availability"
	MetricErrorRate         = "error_rate"
	MetricThroughput        = "throughput_rps"
	MetricRequests          = "requests"
	MetricRejected          = "rejected_ratio" // 429, breaker_open, queue_full, no_endpoint over requests
	MetricRetries           = "retries"
	MetricHedges            = "hedges"
	MetricExtraLoad         = "extra_load_ratio" // (retries + hedges) / requests
	MetricFaultP99          = "fault_p99_ms"
	MetricFaultAvailability = "fault_availability"
	// MetricKnee is the run's knee (bench.Knee): the offered rate at
	// which the scenario's latency SLO is first exceeded, on a load that
	// rises in steps. When every step stayed within the SLO it is the
	// highest step's rate (the knee lies at or above it); when the first
	// step was already over it is absent (the knee lies below every step
	// offered, and no figure would be a bound in the metric's direction).
	MetricKnee = "knee_rps"
)

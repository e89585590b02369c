package scenarios

import "slices"

// Prediction tolerances by default: the simulator's p50 within 10% of a
// real backend's, p99 within 15%, p99.9 within 25% (tails are noisier, in
// the model and in the measurement), availability within half a
// percentage point, a capacity knee within 15% (capacity-knee's question).
const (
	DefaultPredictionP50          = 0.10
	DefaultPredictionP99          = 0.15
	DefaultPredictionP999         = 0.25
	DefaultPredictionAvailability = 0.5
	DefaultPredictionKnee         = 0.15
	DefaultPredictionCPU          = 0.15
)

// PredictionTolerance is how close the simulator's prediction must come to
// a real backend's measurement of the same variant for the run's
// prediction verdict to pass. Latencies are compared by relative error,
// (sim − real) / real, of the percentiles over all repeats; availability
// by its difference in percentage points. It only matters to runs with
// both the simulator and a real backend (local, containers).
type PredictionTolerance struct {
	// P50 is the largest acceptable relative error of the median (0.1 or "10%"; default 10%).
	P50 Fraction `json:"p50"`
	// P99 is the largest acceptable relative error of the 99th percentile (default 15%).
	P99 Fraction `json:"p99"`
	// P999 is the largest acceptable relative error of the 99.9th percentile (default 25%).
	P999 Fraction `json:"p999"`
	// Availability is the largest acceptable difference in availability, in percentage points (0.5: 99.5% against 100% passes; default 0.5).
	Availability float64 `json:"availability" jsonschema:"minimum=0,maximum=100"`
	// Knee is the largest acceptable relative error of the knee, the offered rate at which the first latency SLO is exceeded on a load that rises in steps (default 15%).
	Knee Fraction `json:"knee"`
	// CPU is the largest acceptable relative error of the cores the run used after its warm-up: the host model's prediction against the local backend's process or the containers backend's machine (default 15%; judged only when judge names cpu).
	CPU Fraction `json:"cpu"`
	// Judge lists the metrics the verdict rests on: p50, p99, p999, availability, knee, cpu (default: all but cpu); the others are still shown. A capacity test whose runs collapse past the knee judges the knee alone, since its whole-run percentiles mostly measure how long the collapse lasted.
	Judge []string `json:"judge,omitempty" noun:"prediction metric" jsonschema:"enum=p50,enum=p99,enum=p999,enum=availability,enum=knee,enum=cpu"`
}

// Judges reports whether the verdict rests on metric (see Judge). By
// default it rests on every metric but the CPU: a machine's CPU is the
// host model's to predict, and a scenario that asks about latency should
// not fail on it unless it says so.
func (p PredictionTolerance) Judges(metric string) bool {
	if len(p.Judge) == 0 {
		return metric != "cpu"
	}
	return slices.Contains(p.Judge, metric)
}

func (p *PredictionTolerance) setDefaults() { *p = DefaultPredictionTolerance() }

// DefaultPredictionTolerance is the tolerance of a scenario that does not
// set prediction, and of a run folder read without its scenario.
func DefaultPredictionTolerance() PredictionTolerance {
	return PredictionTolerance{
		P50:          DefaultPredictionP50,
		P99:          DefaultPredictionP99,
		P999:         DefaultPredictionP999,
		Availability: DefaultPredictionAvailability,
		Knee:         DefaultPredictionKnee,
		CPU:          DefaultPredictionCPU,
	}
}

package reports

import (
	"encoding/json"
	"io"
	"math"

	"github.com/meshbench/meshbench/bench"
)

// GateVerdict is a gate's result for programs: the JSON verdict file
// (meshbench gate --json) and gate -o json|yaml. Numbers that do not exist
// (a median of no repeats, a p-value not tested) are null.
type GateVerdict struct {
	Pass     bool   `json:"pass"`
	Baseline string `json:"baseline"`
	Current  string `json:"current"`
	// Test names the significance test; Alpha is its level.
	Test   string             `json:"test"`
	Alpha  float64            `json:"alpha"`
	Failed int                `json:"failed"`
	Checks []GateVerdictCheck `json:"checks"`
	// Notes are the footnotes the table prints (too few repeats, runs left
	// out or only on one side).
	Notes         []string `json:"notes,omitempty"`
	OnlyBaseline  []string `json:"only_baseline,omitempty"`
	OnlyCurrent   []string `json:"only_current,omitempty"`
	Excluded      []string `json:"excluded,omitempty"`
	Untrustworthy []string `json:"untrustworthy,omitempty"`
	Busy          []string `json:"busy,omitempty"`
	// PredictionFailures lists the predictions outside their tolerance
	// when the gate was asked to judge them (--fail-on-prediction).
	PredictionFailures []string `json:"prediction_failures,omitempty"`
}

// GateVerdictCheck is one metric of one backend × variant.
type GateVerdictCheck struct {
	Backend string `json:"backend"`
	Variant string `json:"variant"`
	// Metric is the metric ("p99", "availability", "checkout.p99" for a
	// route's); Unit is ms, rps or ratio.
	Metric         string   `json:"metric"`
	Unit           string   `json:"unit"`
	HigherIsBetter bool     `json:"higher_is_better"`
	BaselineMedian *float64 `json:"baseline_median"`
	CurrentMedian  *float64 `json:"current_median"`
	BaselineN      int      `json:"baseline_n"`
	CurrentN       int      `json:"current_n"`
	// ChangePct is the change of the median in percent of the baseline.
	ChangePct *float64 `json:"change_pct"`
	// Allowed is the allowed regression as --max-regression spells it.
	Allowed     string   `json:"allowed"`
	PAdjusted   *float64 `json:"p_adjusted"`
	Tested      bool     `json:"tested"`
	Significant bool     `json:"significant"`
	Pass        bool     `json:"pass"`
	Verdict     string   `json:"verdict"`
	Warnings    []string `json:"warnings,omitempty"`
}

// NewGateVerdict turns a gate's result into its verdict record.
func NewGateVerdict(g *bench.GateResult, l GateLabels) GateVerdict {
	v := GateVerdict{
		Pass: g.Pass, Baseline: l.Baseline, Current: l.Current,
		Test: "Mann–Whitney U (two-sided), Holm-adjusted", Alpha: g.Alpha,
		Failed: len(g.Failed()), Checks: []GateVerdictCheck{}, Notes: gateNotes(g),
		OnlyBaseline: g.OnlyBaseline, OnlyCurrent: g.OnlyCurrent, Excluded: g.Excluded, Untrustworthy: g.Untrustworthy,
		Busy: g.Busy,
	}
	for _, c := range g.Checks {
		vc := GateVerdictCheck{
			Backend: c.Backend, Variant: c.Variant, Metric: c.Metric.Name, Unit: c.Metric.Unit, HigherIsBetter: c.Metric.HigherIsBetter,
			BaselineMedian: finite(c.Baseline.Median), CurrentMedian: finite(c.Current.Median),
			BaselineN: c.Baseline.N(), CurrentN: c.Current.N(), ChangePct: finite(c.DeltaPct),
			Allowed: allowedText(c), Tested: c.Tested, Significant: c.Significant, Pass: c.Pass, Verdict: c.Verdict, Warnings: c.Warnings,
		}
		if c.Tested {
			vc.PAdjusted = finite(c.PAdjusted)
		}
		v.Checks = append(v.Checks, vc)
	}
	return v
}

// WriteGateJSON writes the verdict as indented JSON.
func WriteGateJSON(w io.Writer, v GateVerdict) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(raw, '\n'))
	return err
}

// finite is &x, or nil when x is NaN or infinite (JSON has neither).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

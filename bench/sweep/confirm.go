package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// ConfirmFile is the confirmation's file in a sweep folder.
const ConfirmFile = "confirm.json"

// Confirmation is one setting run again on the simulator and on a real
// backend through bench.Run: the simulator's prediction beside the
// measurement (bench.Prediction), judged against the scenario's
// prediction tolerance.
type Confirmation struct {
	// Label is "baseline" (the base variant as the scenario writes it) or
	// "point N".
	Label  string            `json:"label"`
	Point  int               `json:"point"` // -1 for the baseline
	Params map[string]string `json:"params"`
	// Runs are the simulator's and the real backend's runs.
	Runs []bench.RunSummary `json:"runs"`
	// Predictions set the simulator beside the real backend.
	Predictions []bench.Prediction `json:"predictions"`
	SLOPass     bool               `json:"slo_pass"`
	Error       string             `json:"error,omitempty"`
}

// Confirm re-runs the base variant and the k best feasible points (by mean
// p99, see Best) of rows on the simulator and on backend, one repeat
// each, and writes confirm.json into dir.
func Confirm(ctx context.Context, plan *scenarios.Plan, def *Definition, rows []Row, k int, backend, dir string) ([]Confirmation, error) {
	type setting struct {
		label string
		point int
		set   []scenarios.Override
	}
	settings := []setting{{label: "baseline", point: -1}}
	for _, p := range Best(Summarize(rows), MetricP99) {
		if len(settings) > k || p.Repeats == 0 {
			break
		}
		settings = append(settings, setting{label: fmt.Sprintf("point %d", p.Point), point: p.Point, set: def.Point(p.Point)})
	}
	var out []Confirmation
	for _, s := range settings {
		if ctx.Err() != nil {
			break
		}
		c := Confirmation{Label: s.label, Point: s.point, Params: map[string]string{}}
		c.Params, _ = ParamsOf(s.set)
		pplan, err := plan.Point(def.Variant, s.set, []string{scenarios.BackendSim, backend})
		if err == nil {
			var sum *bench.Summary
			sum, err = bench.Run(ctx, pplan, bench.RunOptions{})
			if sum != nil {
				c.Runs, c.Predictions, c.SLOPass = sum.Runs, sum.Predictions, sum.SLOPass
				for i := range c.Runs {
					c.Runs[i].LatencyHDR, c.Runs[i].Buckets = "", nil // the sweep folder keeps figures, not histograms
				}
			}
		}
		if err != nil {
			c.Error = err.Error()
		}
		out = append(out, c)
	}
	raw, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return out, err
	}
	return out, os.WriteFile(filepath.Join(dir, ConfirmFile), append(raw, '\n'), 0o644)
}

// ConfirmMarkdown sets prediction beside measurement, one line per
// setting and metric.
func ConfirmMarkdown(cs []Confirmation) string {
	var b strings.Builder
	b.WriteString("| setting | params | metric | sim | real | error | tolerance | verdict |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range cs {
		params := make([]string, 0, len(c.Params))
		for k, v := range c.Params {
			params = append(params, k+"="+v)
		}
		sort.Strings(params)
		if c.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | error: %s |\n", c.Label, strings.Join(params, " "), c.Error)
			continue
		}
		for _, p := range c.Predictions {
			untrusted := ""
			for _, r := range c.Runs {
				if r.Backend == p.Backend && r.Untrustworthy != "" {
					untrusted = " (the real run is untrustworthy: its load generator fell behind schedule)"
				}
			}
			for _, m := range p.Metrics {
				// Each metric's own verdict; the setting's overall one is
				// in confirm.json.
				verdict := "within tolerance"
				if !m.WithinTolerance {
					verdict = "outside tolerance"
				}
				verdict += untrusted
				fmt.Fprintf(&b, "| %s | %s | %s | %.4g %s | %.4g %s | %+.3g %s | %.3g | %s |\n", c.Label, strings.Join(params, " "),
					m.Metric, m.Sim, m.Unit, m.Real, m.Unit, m.Error, m.ErrorUnit, m.Tolerance, verdict)
			}
		}
	}
	return b.String()
}

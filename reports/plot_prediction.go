package reports

import (
	"fmt"
	"math"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/meshbench/meshbench/bench"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Backend names as summary.json spells them.
const (
	backendSim = "sim"
)

// predictionView is one of the summary's predictions (bench.Prediction,
// where the errors are computed) with the two histograms its figure
// overlays.
type predictionView struct {
	bench.Prediction
	sim, real *hdr.Histogram
}

func predictionMetric(p bench.Prediction, name string) *bench.PredictionMetric {
	for i := range p.Metrics {
		if p.Metrics[i].Metric == name {
			return &p.Metrics[i]
		}
	}
	return nil
}

// metricErr is a metric's error, NaN when the prediction lacks it.
func metricErr(p bench.Prediction, name string) float64 {
	if m := predictionMetric(p, name); m != nil {
		return m.Error
	}
	return math.NaN()
}

// predictionViews pairs each of the summary's predictions (computed with
// the default tolerance for a summary written before they were stored)
// with the merged histograms of its two groups.
func predictionViews(s *bench.Summary, groups []Group) ([]predictionView, error) {
	preds, err := bench.PredictionsOf(s)
	if err != nil {
		return nil, err
	}
	byKey := map[bench.RunKey]Group{}
	for _, g := range groups {
		byKey[g.Key] = g
	}
	var out []predictionView
	for _, p := range preds {
		v := predictionView{Prediction: p}
		for _, side := range []struct {
			backend string
			h       **hdr.Histogram
		}{{backendSim, &v.sim}, {p.Backend, &v.real}} {
			g, ok := byKey[bench.RunKey{Backend: side.backend, Variant: p.Variant}]
			if !ok {
				continue
			}
			h, err := g.Histogram()
			if err != nil {
				return nil, err
			}
			*side.h = h
		}
		out = append(out, v)
	}
	return out, nil
}

// formatErr prints a relative error as a signed percentage: "+4.1%".
func formatErr(e float64) string {
	if math.IsNaN(e) {
		return noValue
	}
	return strings.Replace(fmt.Sprintf("%+.1f%%", e*100), "-", "−", 1)
}

// predictionFigure overlays, per variant, the simulator's latency spectrum
// on the real backend's, with the prediction errors of p50 and p99 in each
// panel's title.
func predictionFigure(preds []predictionView) *figure {
	var drawn []predictionView
	for _, p := range preds {
		if p.sim != nil && p.real != nil {
			drawn = append(drawn, p)
		}
	}
	if len(drawn) == 0 {
		return nil
	}
	f := &figure{
		title: "Prediction beside measurement",
		note:  "Solid: measured on a real backend. Dashed: the simulator's prediction. Error = (predicted − measured) / measured.",
		width: figWidth,
	}
	var hists []*hdr.Histogram
	for _, p := range drawn {
		hists = append(hists, p.sim, p.real)
	}
	lo, hi := spectrumRange(hists...)
	realSty, simSty := lineStyle(0, 0), lineStyle(1, 1)
	for i, p := range drawn {
		title := fmt.Sprintf("%s — sim vs %s: p50 error %s, p99 error %s", p.Variant, p.Backend,
			formatErr(metricErr(p.Prediction, bench.PredictP50)), formatErr(metricErr(p.Prediction, bench.PredictP99)))
		panel := spectrumPanel(title, []spectrumSeries{
			{label: p.Backend, hist: p.real, sty: realSty},
			{label: backendSim, hist: p.sim, sty: simSty},
		}, lo, hi)
		if i < len(drawn)-1 {
			panel.X.Label.Text = ""
		}
		f.panels = append(f.panels, []*plot.Plot{panel})
	}
	f.addLegend("measured (real backend)", thickLegend(realSty))
	f.addLegend("predicted (sim)", thickLegend(simSty))
	f.height = figChrome + vg.Length(len(drawn))*3.2*vg.Inch
	return f
}

package reports

import (
	"fmt"
	"math"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Backend names as summary.json spells them.
const (
	backendSim = "sim"
)

// Prediction pairs the simulator's run of a variant with a real backend's
// run of the same variant: how well the model predicted the measurement.
type Prediction struct {
	Variant string
	Real    string // the real backend: local or containers
	// P50Err and P99Err are the prediction's relative errors,
	// (sim − real) / real, from the repeats' merged histograms.
	P50Err, P99Err float64

	sim, real *hdr.Histogram
}

// Predictions finds every variant that ran on the simulator and on a real
// backend, in the summary's order.
func Predictions(groups []Group) ([]Prediction, error) {
	sims := map[string]Group{}
	for _, g := range groups {
		if g.Key.Backend == backendSim {
			sims[g.Key.Variant] = g
		}
	}
	var out []Prediction
	for _, g := range groups {
		if g.Key.Backend == backendSim {
			continue
		}
		sg, ok := sims[g.Key.Variant]
		if !ok {
			continue
		}
		sh, err := sg.Histogram()
		if err != nil {
			return nil, err
		}
		rh, err := g.Histogram()
		if err != nil {
			return nil, err
		}
		if sh == nil || rh == nil {
			continue
		}
		out = append(out, Prediction{
			Variant: g.Key.Variant, Real: g.Key.Backend,
			P50Err: relErr(sh.ValueAtQuantile(50), rh.ValueAtQuantile(50)),
			P99Err: relErr(sh.ValueAtQuantile(99), rh.ValueAtQuantile(99)),
			sim:    sh, real: rh,
		})
	}
	return out, nil
}

func relErr(pred, meas int64) float64 {
	if meas == 0 {
		return math.NaN()
	}
	return float64(pred-meas) / float64(meas)
}

// formatErr prints a relative error as a signed percentage: "+4.1%".
func formatErr(e float64) string {
	if math.IsNaN(e) {
		return "n/a"
	}
	return strings.Replace(fmt.Sprintf("%+.1f%%", e*100), "-", "−", 1)
}

// predictionFigure overlays, per variant, the simulator's latency spectrum
// on the real backend's, with the prediction errors of p50 and p99 in each
// panel's title.
func predictionFigure(preds []Prediction) *figure {
	if len(preds) == 0 {
		return nil
	}
	f := &figure{
		title: "Prediction beside measurement",
		note:  "Solid: measured on a real backend. Dashed: the simulator's prediction. Error = (predicted − measured) / measured.",
		width: figWidth,
	}
	var hists []*hdr.Histogram
	for _, p := range preds {
		hists = append(hists, p.sim, p.real)
	}
	lo, hi := spectrumRange(hists...)
	realSty, simSty := lineStyle(0, 0), lineStyle(1, 1)
	for i, p := range preds {
		title := fmt.Sprintf("%s — sim vs %s: p50 error %s, p99 error %s", p.Variant, p.Real, formatErr(p.P50Err), formatErr(p.P99Err))
		panel := spectrumPanel(title, []spectrumSeries{
			{label: p.Real, hist: p.real, sty: realSty},
			{label: backendSim, hist: p.sim, sty: simSty},
		}, lo, hi)
		if i < len(preds)-1 {
			panel.X.Label.Text = ""
		}
		f.panels = append(f.panels, []*plot.Plot{panel})
	}
	f.addLegend("measured (real backend)", thickLegend(realSty))
	f.addLegend("predicted (sim)", thickLegend(simSty))
	f.height = figChrome + vg.Length(len(preds))*3.2*vg.Inch
	return f
}

package reports

import (
	"fmt"
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// spectrumPoints is how many quantiles a spectrum line samples between p50
// and p99.99, evenly on the 1/(1−q) log axis.
const spectrumPoints = 160

const (
	spectrumQMin = 0.5
	spectrumQMax = 0.9999
)

// spectrumLine samples h's percentile spectrum: latency (ms) against
// 1/(1−q), as HdrHistogram's percentile distribution plots do.
func spectrumLine(h *hdr.Histogram) plotter.XYs {
	xmin, xmax := math.Log10(quantileX(spectrumQMin)), math.Log10(quantileX(spectrumQMax))
	pts := make(plotter.XYs, spectrumPoints)
	for i := range pts {
		x := math.Pow(10, xmin+(xmax-xmin)*float64(i)/float64(spectrumPoints-1))
		q := 1 - 1/x
		pts[i] = plotter.XY{X: x, Y: float64(h.ValueAtQuantile(q*100)) / 1000}
	}
	return pts
}

// spectrumSeries is one line of a spectrum panel.
type spectrumSeries struct {
	label string
	hist  *hdr.Histogram
	sty   draw.LineStyle
}

// spectrumPanel draws series on a percentile axis from p50 to p99.99, with
// the latency axis spanning [lo, hi] ms (log when wide).
func spectrumPanel(title string, series []spectrumSeries, lo, hi float64) *plot.Plot {
	p := newPanel(title, "percentile", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks
	p.X.Min, p.X.Max = quantileX(spectrumQMin), quantileX(spectrumQMax)
	setLatencyAxis(&p.Y, lo, hi, 0.03)
	addGrid(p)
	for _, s := range series {
		l, err := plotter.NewLine(spectrumLine(s.hist))
		if err != nil {
			continue
		}
		l.LineStyle = s.sty
		p.Add(l)
	}
	return p
}

// spectrumRange is the latency range [p50 min, p99.99 max] over hists.
func spectrumRange(hists ...*hdr.Histogram) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, h := range hists {
		if h == nil {
			continue
		}
		lo = math.Min(lo, float64(h.ValueAtQuantile(spectrumQMin*100))/1000)
		hi = math.Max(hi, float64(h.ValueAtQuantile(spectrumQMax*100))/1000)
	}
	return lo, hi
}

// spectrumFigure shows each backend × variant's latency spectrum, all
// repeats merged, on one panel.
func spectrumFigure(groups []Group) (*figure, error) {
	var series []spectrumSeries
	var hists []*hdr.Histogram
	var keys []Group
	for _, g := range groups {
		h, err := g.Histogram()
		if err != nil {
			return nil, err
		}
		if h == nil {
			continue
		}
		hists = append(hists, h)
		keys = append(keys, g)
	}
	if len(hists) == 0 {
		return nil, nil
	}
	colours, dashIdx := seriesStyles(groupKeys(keys))
	f := &figure{
		title:  "Latency percentile spectrum",
		note:   "Successful requests after warm-up; repeats merged. x: percentile on a 1/(1−q) scale, so each step right is a ten times rarer request.",
		width:  figWidth,
		height: 5.2 * vg.Inch,
	}
	for i, g := range keys {
		label := g.Label()
		if n := len(g.Runs); n > 1 {
			label += fmt.Sprintf(" (%d repeats)", n)
		}
		sty := lineStyle(colours[i], dashIdx[i])
		series = append(series, spectrumSeries{label: label, hist: hists[i], sty: sty})
		f.addLegend(label, thickLegend(sty))
	}
	lo, hi := spectrumRange(hists...)
	f.panels = [][]*plot.Plot{{spectrumPanel("", series, lo, hi)}}
	return f, nil
}

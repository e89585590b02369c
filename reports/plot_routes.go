package reports

import (
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// partSpectrumFigure shows the latency spectrum of each route (kind
// ByRoute) or workload (ByWorkload), one panel each, with a line per
// backend × variant (repeats merged): a scenario's checkout POSTs and
// lookup GETs apart, where the run's spectrum mixes them. It returns nil
// when the summary has no such breakdown, or only one part (the run's
// spectrum already shows it).
func partSpectrumFigure(groups []Group, kind, title string) (*figure, error) {
	var names []string
	seen := map[string]bool{}
	for _, g := range groups {
		for _, n := range g.Parts(kind) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) < 2 {
		return nil, nil
	}
	colours, dashIdx := seriesStyles(groupKeys(groups))
	type panel struct {
		name   string
		series []spectrumSeries
	}
	var panels []panel
	var all []*hdr.Histogram
	used := make([]bool, len(groups))
	for _, n := range names {
		p := panel{name: n}
		for i, g := range groups {
			h, err := g.PartHistogram(kind, n)
			if err != nil {
				return nil, err
			}
			if h == nil {
				continue
			}
			used[i] = true
			all = append(all, h)
			p.series = append(p.series, spectrumSeries{label: g.Label(), hist: h, sty: lineStyle(colours[i], dashIdx[i])})
		}
		if len(p.series) > 0 {
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return nil, nil
	}
	f := &figure{
		title: title,
		note:  fmt.Sprintf("Successful requests after warm-up, one panel per %s; repeats merged. x: percentile on a 1/(1−q) scale.", kind),
		width: figWidth,
	}
	for i, g := range groups {
		if used[i] {
			f.addLegend(g.Label(), thickLegend(lineStyle(colours[i], dashIdx[i])))
		}
	}
	lo, hi := spectrumRange(all...)
	for _, p := range panels {
		f.panels = append(f.panels, []*plot.Plot{spectrumPanel(kind+" "+p.name, p.series, lo, hi)})
	}
	f.height = figChrome + vg.Length(len(panels))*2.8*vg.Inch
	return f, nil
}

package reports

import (
	"fmt"
	"math"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// RenderPlots writes the comparison's charts into dir/plots: the headline
// metrics of every backend × variant side by side, and their latency spectra
// overlaid.
func (c *Comparison) RenderPlots(dir string, opts PlotOptions) ([]PlotFile, error) {
	opts = opts.withDefaults()
	spectra, err := c.spectrumFigure()
	if err != nil {
		return nil, err
	}
	figs := []namedFigure{
		{"compare-metrics", "Runs compared",
			"p50, p99, availability and throughput of each backend / variant in each run.",
			c.metricsFigure()},
		{"compare-spectrum", "Latency spectra compared",
			"Each backend / variant's latency percentile spectrum, one line per run.",
			spectra},
	}
	return writeFigures(dir, figs, opts)
}

func (c *Comparison) metricsFigure() *figure {
	if len(c.Keys) == 0 {
		return nil
	}
	cats, common := c.categoryNames()
	repeated := false
	type cols struct{ p50, p99, avail, tput []Stat }
	series := make([]cols, len(c.Runs))
	for i := range c.Runs {
		s := cols{nanStats(len(cats)), nanStats(len(cats)), nanStats(len(cats)), nanStats(len(cats))}
		for k := range c.Keys {
			g := c.cells[k][i]
			if len(g.Runs) == 0 {
				continue
			}
			t := g.Totals()
			s.p50[k], s.p99[k], s.tput[k] = t.P50, t.P99, t.Throughput
			a := g.availabilityStat()
			s.avail[k] = Stat{Median: a.Median * 100, Min: a.Min * 100, Max: a.Max * 100, N: a.N}
			repeated = repeated || t.P50.N > 1
		}
		series[i] = s
	}
	note := "One run per backend / variant in each."
	if repeated {
		note = "Bars and dots: median of the repeats; whiskers: lowest to highest repeat."
	}
	if common != "" {
		note = common + ". " + note
	}
	width := min(max(figWidth, vg.Length(len(cats)*len(c.Runs))*0.45*vg.Inch+3*vg.Inch), 18*vg.Inch)
	f := &figure{title: "Runs compared", note: note, width: width, height: 7.6 * vg.Inch}
	panelW := (width - legendBudget) / 2
	mk := func(title, ylabel string, pick func(cols) []Stat, dots bool, limit ...float64) *plot.Plot {
		p := newPanel(title, "", ylabel)
		categoryAxis(p, cats, panelW)
		addGrid(p)
		var marks []*groupedMarks
		for i, s := range series {
			m := &groupedMarks{vals: pick(s), series: i, nSeries: len(series), colour: seriesColor(i), dots: dots, whiskers: repeated}
			marks = append(marks, m)
			p.Add(m)
		}
		lim := math.Inf(1)
		if len(limit) > 0 {
			lim = limit[0]
		}
		fitMarksTo(p, marks, dots, nil, lim)
		return p
	}
	f.panels = [][]*plot.Plot{
		{mk("p50 latency", "latency (ms)", func(s cols) []Stat { return s.p50 }, false),
			mk("p99 latency", "latency (ms)", func(s cols) []Stat { return s.p99 }, false)},
		{mk("Availability", "availability (%)", func(s cols) []Stat { return s.avail }, true, 100),
			mk("Throughput", "throughput (req/s)", func(s cols) []Stat { return s.tput }, false)},
	}
	for i, r := range c.Runs {
		f.addLegend(fmt.Sprintf("[%d] %s", i+1, r.Label), &groupedMarks{colour: seriesColor(i)})
	}
	return f
}

// categoryNames names the comparison's backend × variant keys for a
// chart's x axis: "backend / variant", or just the variant when every key
// has the same backend (and the other way round), with common saying what
// was left out ("backend: sim").
func (c *Comparison) categoryNames() (cats []string, common string) {
	backends, variants := map[string]bool{}, map[string]bool{}
	for _, k := range c.Keys {
		backends[k.Backend], variants[k.Variant] = true, true
	}
	cats = make([]string, len(c.Keys))
	for i, k := range c.Keys {
		switch {
		case len(backends) == 1 && len(c.Keys) > 1:
			cats[i], common = k.Variant, "Backend: "+k.Backend
		case len(variants) == 1 && len(c.Keys) > 1:
			cats[i], common = k.Backend, "Variant: "+k.Variant
		default:
			cats[i] = k.Backend + " / " + k.Variant
		}
	}
	return cats, common
}

func (c *Comparison) spectrumFigure() (*figure, error) {
	type panelData struct {
		title  string
		series []spectrumSeries
	}
	var panels []panelData
	var all []*hdr.Histogram
	for k, key := range c.Keys {
		pd := panelData{title: key.Backend + " / " + key.Variant}
		for i := range c.Runs {
			h, err := c.cells[k][i].Histogram()
			if err != nil {
				return nil, err
			}
			if h == nil {
				continue
			}
			all = append(all, h)
			pd.series = append(pd.series, spectrumSeries{hist: h, sty: lineStyle(i, i)})
		}
		if len(pd.series) > 0 {
			panels = append(panels, pd)
		}
	}
	if len(panels) == 0 {
		return nil, nil
	}
	lo, hi := spectrumRange(all...)
	f := &figure{
		title: "Latency spectra compared",
		note:  "Successful requests after warm-up, repeats merged; x: percentile on a 1/(1−q) scale.",
		width: figWidth,
	}
	for j, pd := range panels {
		p := spectrumPanel(pd.title, pd.series, lo, hi)
		if j < len(panels)-1 {
			p.X.Label.Text = ""
		}
		f.panels = append(f.panels, []*plot.Plot{p})
	}
	for i, r := range c.Runs {
		f.addLegend(fmt.Sprintf("[%d] %s", i+1, r.Label), thickLegend(lineStyle(i, i)))
	}
	f.height = figChrome + vg.Length(len(panels))*2.8*vg.Inch
	return f, nil
}

package reports

import (
	"fmt"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// barSeries is one colour of a grouped chart: a value per category.
type barSeries struct {
	label string
	p50   []Stat
	p99   []Stat
	avail []Stat // percent
}

// variantFigure compares the variants: p50, p99 and availability, one bar
// (or dot) per backend, whiskers spanning the repeats when there are several.
func variantFigure(groups []Group) *figure {
	var variants, backends []string
	vi, bi := map[string]int{}, map[string]int{}
	for _, g := range groups {
		if _, ok := vi[g.Key.Variant]; !ok {
			vi[g.Key.Variant] = len(variants)
			variants = append(variants, g.Key.Variant)
		}
		if _, ok := bi[g.Key.Backend]; !ok {
			bi[g.Key.Backend] = len(backends)
			backends = append(backends, g.Key.Backend)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	series := make([]barSeries, len(backends))
	for i, b := range backends {
		series[i] = barSeries{label: b, p50: nanStats(len(variants)), p99: nanStats(len(variants)), avail: nanStats(len(variants))}
	}
	repeated := false
	for _, g := range groups {
		t := g.Totals()
		s := &series[bi[g.Key.Backend]]
		j := vi[g.Key.Variant]
		s.p50[j], s.p99[j] = t.P50, t.P99
		a := g.availabilityStat()
		s.avail[j] = Stat{Median: a.Median * 100, Min: a.Min * 100, Max: a.Max * 100, N: a.N}
		repeated = repeated || t.P50.N > 1
	}
	note := "Bars and dots: one run per backend / variant."
	if repeated {
		note = "Bars and dots: median of the repeats; whiskers: lowest to highest repeat."
	}
	f := &figure{
		title:  "Variants compared",
		note:   note,
		width:  max(figWidth, vg.Length(len(variants)*len(backends))*0.35*vg.Inch*3+2*vg.Inch),
		height: 4.4 * vg.Inch,
	}
	f.width = min(f.width, 18*vg.Inch)
	panelW := (f.width - legendBudget) / 3
	ms := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	pct := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	labels := len(variants)*len(backends) <= 8
	mk := func(title, ylabel string, pick func(barSeries) []Stat, dots bool, format func(float64) string) *plot.Plot {
		p := newPanel(title, "variant", ylabel)
		categoryAxis(p, variants, panelW)
		addGrid(p)
		var marks []*groupedMarks
		for i, s := range series {
			m := &groupedMarks{vals: pick(s), series: i, nSeries: len(series), colour: seriesColor(i), dots: dots, whiskers: repeated}
			// Dots of neighbouring series sit too close for labels.
			if labels && !dots {
				m.label = format
			}
			marks = append(marks, m)
			p.Add(m)
		}
		fitMarks(p, marks, dots)
		return p
	}
	f.panels = [][]*plot.Plot{{
		mk("p50 latency", "latency (ms)", func(s barSeries) []Stat { return s.p50 }, false, ms),
		mk("p99 latency", "latency (ms)", func(s barSeries) []Stat { return s.p99 }, false, ms),
		mk("Availability", "availability (%)", func(s barSeries) []Stat { return s.avail }, true, pct),
	}}
	for i, b := range backends {
		f.addLegend(fmt.Sprintf("backend: %s", b), &groupedMarks{colour: seriesColor(i)})
	}
	return f
}

func nanStats(n int) []Stat {
	out := make([]Stat, n)
	for i := range out {
		out[i] = statOf(nil, nil)
	}
	return out
}

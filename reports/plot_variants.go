package reports

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// barSeries is one colour of a grouped chart: a value per category.
type barSeries struct {
	label string
	// light marks the during-fault reading of a backend.
	light                 bool
	colour                int
	p50, p99, p999, avail []Stat // avail in percent
	// retries and hedges are extra attempts per 100 requests.
	retries, hedges []Stat
}

// faultFigures are a run's figures over the time buckets that overlap a
// fault window: what the run looked like while something was broken,
// which whole-run totals dilute (a 30 s fault in a 5-minute run moves a
// whole-run p99 little).
type faultFigures struct {
	Buckets             int
	Requests, Successes int64
	// Retries and Hedges are the extra attempts made for the requests.
	Retries, Hedges int64
	// Availability is Successes / Requests (NaN with no request).
	Availability float64
	// P50, P99 and P999 are estimated from the buckets' percentiles
	// (mixtureQuantile; NaN with no success): buckets keep percentiles,
	// not histograms.
	P50, P99, P999 float64
}

// bucketInFaults reports whether bucket b overlaps a fault window of tl;
// an instantaneous window counts in the bucket it falls in.
func bucketInFaults(b bench.Bucket, tl Timeline) bool {
	b0, b1 := b.StartS, b.StartS+b.WidthS
	for _, f := range tl.Faults {
		s, e := f.Start.Seconds(), f.End.Seconds()
		if e > s {
			if b0 < e && b1 > s {
				return true
			}
		} else if s >= b0 && s < b1 {
			return true
		}
	}
	return false
}

// faultFiguresOf computes r's figures over the buckets that overlap tl's
// fault windows; false when none does (no fault, or no bucket).
func faultFiguresOf(r bench.RunSummary, tl Timeline) (faultFigures, bool) {
	ff := faultFigures{Availability: math.NaN(), P50: math.NaN(), P99: math.NaN(), P999: math.NaN()}
	var in []bench.Bucket
	for _, b := range r.Buckets {
		if !bucketInFaults(b, tl) {
			continue
		}
		ff.Buckets++
		ff.Requests += b.Requests
		ff.Successes += b.Successes
		ff.Retries += b.Retries
		ff.Hedges += b.Hedges
		in = append(in, b)
	}
	if ff.Buckets == 0 {
		return ff, false
	}
	if ff.Requests > 0 {
		ff.Availability = float64(ff.Successes) / float64(ff.Requests)
	}
	ff.P50, ff.P99, ff.P999 = mixtureQuantile(in, 0.5), mixtureQuantile(in, 0.99), mixtureQuantile(in, 0.999)
	return ff, true
}

// bucketCDF approximates the share of a bucket's successes at or below x
// ms from its three percentiles: linear in log x between p50, p99 and
// p99.9, proportional to x below p50, and closing on 1 as p99.9/x above
// p99.9.
func bucketCDF(b bench.Bucket, x float64) float64 {
	q := [3]float64{0.5, 0.99, 0.999}
	v := [3]float64{b.P50MS, b.P99MS, b.P999MS}
	switch {
	case x <= 0:
		return 0
	case x < v[0]:
		return q[0] * x / v[0]
	case x >= v[2]:
		return q[2] + (1-q[2])*(1-v[2]/x)
	}
	for i := 0; i < 2; i++ {
		if x < v[i+1] {
			if v[i+1] <= v[i] {
				return q[i+1]
			}
			return q[i] + (q[i+1]-q[i])*math.Log(x/v[i])/math.Log(v[i+1]/v[i])
		}
	}
	return q[2]
}

// mixtureQuantile estimates the q-quantile of the successes of several
// buckets, from each one's percentiles (bucketCDF) weighted by its
// successes: the latency below which a share q of all of them fell. A
// mean of the buckets' p99s would understate it, since the worst seconds
// hold most of the tail. NaN when no bucket has a success.
func mixtureQuantile(buckets []bench.Bucket, q float64) float64 {
	var n float64
	lo, hi := math.Inf(1), 0.0
	for _, b := range buckets {
		if b.Successes == 0 || !(b.P50MS > 0) {
			continue
		}
		n += float64(b.Successes)
		lo = math.Min(lo, b.P50MS)
		hi = math.Max(hi, b.P999MS)
	}
	if n == 0 {
		return math.NaN()
	}
	cdf := func(x float64) float64 {
		var s float64
		for _, b := range buckets {
			if b.Successes == 0 || !(b.P50MS > 0) {
				continue
			}
			s += float64(b.Successes) * bucketCDF(b, x)
		}
		return s / n
	}
	// Bisection on log x: the mixture's CDF is non-decreasing.
	a, z := math.Log(lo/1e3), math.Log(math.Max(hi, lo)*1e3)
	for range 100 {
		m := (a + z) / 2
		if cdf(math.Exp(m)) < q {
			a = m
		} else {
			z = m
		}
	}
	return math.Exp(z)
}

// statOfValues is the median and range of vals, NaNs left out.
func statOfValues(vals []float64) Stat {
	var keep []float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			keep = append(keep, v)
		}
	}
	if len(keep) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	sort.Float64s(keep)
	n := len(keep)
	med := keep[n/2]
	if n%2 == 0 {
		med = (keep[n/2-1] + keep[n/2]) / 2
	}
	return Stat{Median: med, Min: keep[0], Max: keep[n-1], N: n}
}

// faultStats are a group's during-fault figures over its repeats, in the
// units of the variants chart (ms, percent, per 100 requests).
type faultStats struct {
	p50, p99, p999, avail, retries, hedges Stat
}

// groupFaultStats computes g's faultStats; false when no repeat has a
// bucket in a fault window.
func groupFaultStats(g Group, tl Timeline) (faultStats, bool) {
	var v50, v99, v999, va, vr, vh []float64
	ok := false
	for _, r := range g.Runs {
		ff, in := faultFiguresOf(r, tl)
		if !in {
			continue
		}
		ok = true
		v50, v99, v999 = append(v50, ff.P50), append(v99, ff.P99), append(v999, ff.P999)
		va = append(va, ff.Availability*100)
		if ff.Requests > 0 {
			vr = append(vr, float64(ff.Retries)/float64(ff.Requests)*100)
			vh = append(vh, float64(ff.Hedges)/float64(ff.Requests)*100)
		}
	}
	return faultStats{statOfValues(v50), statOfValues(v99), statOfValues(v999), statOfValues(va), statOfValues(vr), statOfValues(vh)}, ok
}

// perHundred is extra attempts n per 100 of r's requests.
func perHundred(n int64, r bench.RunSummary) float64 {
	return float64(n) / float64(r.Requests) * 100
}

// sloBounds are the SLO thresholds of a chart's panel, by category: a
// category may have several (one per backend, or a max and a min).
type sloBounds map[int][]float64

func (b sloBounds) add(cat int, v float64) {
	for _, x := range b[cat] {
		if x == v {
			return
		}
	}
	b[cat] = append(b[cat], v)
}

func (b sloBounds) values() []float64 {
	var out []float64
	for _, vs := range b {
		out = append(out, vs...)
	}
	sort.Float64s(out)
	return out
}

// variantSLOs reads the SLO thresholds from the verdicts of each group's
// runs, by the variants chart's panels: latency in ms, availability (and
// error rate, as the availability it allows) in percent. An SLO on one
// workload bounds that workload's bars, not the run's, and is left out.
func variantSLOs(groups []Group, cat func(Group) int) (p50, p99, p999, avail sloBounds) {
	p50, p99, p999, avail = sloBounds{}, sloBounds{}, sloBounds{}, sloBounds{}
	for _, g := range groups {
		c := cat(g)
		for _, r := range g.Runs {
			for _, v := range r.SLO {
				if v.Workload != "" {
					continue
				}
				switch v.Metric {
				case scenarios.MetricP50:
					p50.add(c, v.Threshold)
				case scenarios.MetricP99:
					p99.add(c, v.Threshold)
				case scenarios.MetricP999:
					p999.add(c, v.Threshold)
				case scenarios.MetricAvailability:
					avail.add(c, v.Threshold*100)
				case scenarios.MetricErrorRate:
					avail.add(c, (1-v.Threshold)*100)
				}
			}
		}
	}
	return p50, p99, p999, avail
}

// sloSegments draws an SLO threshold as a dashed segment across its
// category of a grouped chart.
type sloSegments struct{ bounds sloBounds }

var sloStyle = draw.LineStyle{Color: textColor, Width: vg.Points(1.3), Dashes: []vg.Length{vg.Points(5), vg.Points(2.5)}}

// Plot implements plot.Plotter.
func (s sloSegments) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	// In category order, so that the image (an SVG's element order
	// included) is the same every time.
	cats := make([]int, 0, len(s.bounds))
	for cat := range s.bounds {
		cats = append(cats, cat)
	}
	sort.Ints(cats)
	for _, cat := range cats {
		for _, v := range s.bounds[cat] {
			if v < p.Y.Min || v > p.Y.Max {
				continue
			}
			y := trY(v)
			c.StrokeLine2(sloStyle, trX(float64(cat)-0.46), y, trX(float64(cat)+0.46), y)
		}
	}
}

// variantFigure compares the variants: p50, p99, p99.9 and availability,
// one bar (or dot) per backend, whiskers spanning the repeats when there
// are several; beside each, when the run had faults, the same figures
// during the faults; and the SLO thresholds as dashed lines.
func variantFigure(groups []Group, tl Timeline) *figure {
	if len(groups) == 0 {
		return nil
	}
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
	n := len(variants)
	whole := make([]barSeries, len(backends))
	during := make([]barSeries, len(backends))
	for i, b := range backends {
		whole[i] = barSeries{label: b, colour: i, p50: nanStats(n), p99: nanStats(n), p999: nanStats(n), avail: nanStats(n), retries: nanStats(n), hedges: nanStats(n)}
		during[i] = barSeries{label: b, colour: i, light: true, p50: nanStats(n), p99: nanStats(n), p999: nanStats(n), avail: nanStats(n), retries: nanStats(n), hedges: nanStats(n)}
	}
	repeated, faulted, anyRetry, anyHedge := false, false, false, false
	for _, g := range groups {
		t := g.Totals()
		b, j := bi[g.Key.Backend], vi[g.Key.Variant]
		s := &whole[b]
		s.p50[j], s.p99[j], s.p999[j] = t.P50, t.P99, t.P999
		a := g.availabilityStat()
		s.avail[j] = Stat{Median: a.Median * 100, Min: a.Min * 100, Max: a.Max * 100, N: a.N}
		s.retries[j] = statOf(g.Runs, func(r bench.RunSummary) float64 { return perHundred(r.Retries, r) })
		s.hedges[j] = statOf(g.Runs, func(r bench.RunSummary) float64 { return perHundred(r.Hedges, r) })
		anyRetry = anyRetry || t.Retries > 0
		for _, r := range g.Runs {
			anyHedge = anyHedge || r.Hedges > 0
		}
		repeated = repeated || t.P50.N > 1
		if fs, ok := groupFaultStats(g, tl); ok {
			faulted = true
			d := &during[b]
			d.p50[j], d.p99[j], d.p999[j], d.avail[j] = fs.p50, fs.p99, fs.p999, fs.avail
			d.retries[j], d.hedges[j] = fs.retries, fs.hedges
		}
	}
	var series []barSeries
	for i := range backends {
		series = append(series, whole[i])
		if faulted {
			series = append(series, during[i])
		}
	}
	note := "Bars and dots: one run per backend / variant."
	if repeated {
		note = "Bars and dots: median of the repeats; whiskers: lowest to highest repeat."
	}
	if anyRetry || anyHedge {
		note += " Retries and hedges: the gateway's, per 100 requests (sidecars' retries further in are not counted)."
	}
	if faulted {
		note += fmt.Sprintf("\nHatched bars and triangles: during faults, over the %s buckets that overlap a fault window (percentiles estimated from the buckets').", bucketWidthNote(groups))
	}
	f := &figure{
		title:  "Variants compared",
		note:   note,
		width:  min(max(figWidth, vg.Length(n*len(series))*0.3*vg.Inch*2+2.5*vg.Inch), 18*vg.Inch),
		height: 7.8 * vg.Inch,
	}
	panelW := (f.width - legendBudget) / 2
	ms := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	// Per-100 figures under 0.1 would print as long decimals that run into
	// the neighbouring bar's label; "<0.1" says as much at that scale.
	per100 := func(v float64) string {
		if v > 0 && v < 0.1 {
			return "<0.1"
		}
		return ms(v)
	}
	labels := n*len(series) <= 8
	slo50, slo99, slo999, sloAvail := variantSLOs(groups, func(g Group) int { return vi[g.Key.Variant] })
	anySLO := false
	mk := func(title, ylabel string, pick func(barSeries) []Stat, dots bool, format func(float64) string, slo sloBounds, limit float64) *plot.Plot {
		p := newPanel(title, "variant", ylabel)
		categoryAxis(p, variants, panelW)
		addGrid(p)
		var marks []*groupedMarks
		for i, s := range series {
			m := &groupedMarks{vals: pick(s), series: i, nSeries: len(series), colour: seriesColor(s.colour), dots: dots, whiskers: repeated, light: s.light}
			// Dots of neighbouring series sit too close for labels.
			if labels && !dots {
				m.label = format
			}
			marks = append(marks, m)
			p.Add(m)
		}
		if len(slo) > 0 {
			anySLO = true
			p.Add(sloSegments{slo})
		}
		fitMarksTo(p, marks, dots, slo.values(), limit)
		return p
	}
	inf := math.Inf(1)
	f.panels = [][]*plot.Plot{
		{mk("p50 latency", "latency (ms)", func(s barSeries) []Stat { return s.p50 }, false, ms, slo50, inf),
			mk("p99 latency", "latency (ms)", func(s barSeries) []Stat { return s.p99 }, false, ms, slo99, inf)},
		{mk("p99.9 latency", "latency (ms)", func(s barSeries) []Stat { return s.p999 }, false, ms, slo999, inf),
			mk("Availability", "availability (%)", func(s barSeries) []Stat { return s.avail }, true, nil, sloAvail, 100)},
	}
	// The cost side: the extra attempts retries and hedges made.
	if anyRetry || anyHedge {
		var row []*plot.Plot
		if anyRetry {
			row = append(row, mk("Retries by the gateway", "per 100 requests", func(s barSeries) []Stat { return s.retries }, false, per100, nil, inf))
		}
		if anyHedge {
			row = append(row, mk("Hedges by the gateway", "per 100 requests", func(s barSeries) []Stat { return s.hedges }, false, per100, nil, inf))
		}
		if len(row) == 1 {
			row = append(row, nil)
		}
		f.panels = append(f.panels, row)
		f.height += 3.4 * vg.Inch
	}
	for _, s := range series {
		label := "backend: " + s.label
		if faulted {
			label = s.label + ": whole run"
			if s.light {
				label = s.label + ": during faults"
			}
		}
		f.addLegend(label, &groupedMarks{colour: seriesColor(s.colour), light: s.light})
	}
	if anySLO {
		f.addLegend("SLO threshold", lineThumb{sloStyle})
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

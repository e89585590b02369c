package reports

import (
	"fmt"
	"math"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure sizes in inches.
const (
	figWidth     = 10 * vg.Inch
	panelHeight  = 2.3 * vg.Inch
	figChrome    = 0.9 * vg.Inch // title and note
	panelChrome  = 0.8 * vg.Inch // a panel's title, tick labels and axis label
	legendBudget = 2.2 * vg.Inch // room assumed for the legend when estimating label rows
)

// timeSeries is one run's buckets as columns, NaN where a bucket has nothing
// to say (no request, or no success for a latency).
type timeSeries struct {
	t, p50, p99, p999, avail, tput []float64
	// retries and hedges are the gateway's extra attempts per 100
	// requests of the bucket.
	retries, hedges []float64
	end             float64
}

func seriesOf(r bench.RunSummary) timeSeries {
	n := len(r.Buckets)
	s := timeSeries{
		t: make([]float64, n), p50: make([]float64, n), p99: make([]float64, n), p999: make([]float64, n),
		avail: make([]float64, n), tput: make([]float64, n),
		retries: make([]float64, n), hedges: make([]float64, n),
	}
	for i, b := range r.Buckets {
		s.t[i] = b.StartS + b.WidthS/2
		s.end = math.Max(s.end, b.StartS+b.WidthS)
		s.tput[i] = b.ThroughputRPS
		s.avail[i], s.p50[i], s.p99[i], s.p999[i] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		s.retries[i], s.hedges[i] = math.NaN(), math.NaN()
		if b.Requests > 0 {
			s.avail[i] = b.Availability * 100
			s.retries[i] = float64(b.Retries) / float64(b.Requests) * 100
			s.hedges[i] = float64(b.Hedges) / float64(b.Requests) * 100
		}
		if b.Successes > 0 {
			s.p50[i], s.p99[i], s.p999[i] = b.P50MS, b.P99MS, b.P999MS
		}
	}
	return s
}

// firstRepeat is the run a time-series panel shows for a group: the lowest
// repeat that has buckets. Repeats are independent timelines; averaging
// them would blur exactly the transients the chart is for.
func firstRepeat(g Group) (bench.RunSummary, bool) {
	for _, r := range g.Runs {
		if len(r.Buckets) > 0 {
			return r, true
		}
	}
	return bench.RunSummary{}, false
}

func timeSpan(tl Timeline, series []timeSeries) float64 {
	span := tl.Duration.Seconds()
	for _, s := range series {
		span = math.Max(span, s.end)
	}
	for _, f := range tl.Faults {
		span = math.Max(span, f.End.Seconds())
	}
	if span <= 0 {
		span = 1
	}
	return span
}

// headroomFor is the fraction of a panel's height that rows of fault labels
// take.
func headroomFor(rows int, panelH vg.Length) float64 {
	if rows == 0 {
		return 0.04
	}
	h := float64(rows)*float64(faultLabelStyle().Height("Xg")+2) + 6
	return math.Min(0.5, h/float64(panelH-panelChrome))
}

func bucketWidthNote(groups []Group) string {
	for _, g := range groups {
		if r, ok := firstRepeat(g); ok && len(r.Buckets) > 0 {
			return fmt.Sprintf("%g s", r.Buckets[0].WidthS)
		}
	}
	return "time"
}

// latencyTimeFigure shows p50, p99 and p99.9 over time, one panel per
// backend × variant, all on the same y-range so that panels compare.
func latencyTimeFigure(groups []Group, tl Timeline) *figure {
	type panelData struct {
		g Group
		r bench.RunSummary
		s timeSeries
	}
	var data []panelData
	var all []timeSeries
	lo, hi := math.Inf(1), 0.0
	for _, g := range groups {
		r, ok := firstRepeat(g)
		if !ok {
			continue
		}
		s := seriesOf(r)
		data = append(data, panelData{g, r, s})
		all = append(all, s)
		for i := range s.t {
			if v := s.p50[i]; v > 0 {
				lo = math.Min(lo, v)
			}
			if v := s.p999[i]; v > 0 && !math.IsNaN(v) {
				hi = math.Max(hi, v)
			}
		}
		for _, t := range latencySLOs(r) {
			hi = math.Max(hi, t.threshold)
		}
	}
	if len(data) == 0 {
		return nil
	}
	span := timeSpan(tl, all)
	// Many panels get shorter, so that a big comparison stays one screen
	// wide and a few screens tall.
	ph := panelHeight
	if len(data) > 6 {
		ph = 1.8 * vg.Inch
	}
	head := headroomFor(labelRows(tl, figWidth-legendBudget, span), ph)
	p50Sty, p99Sty, p999Sty := percentileStyles()
	anySLO := false

	f := &figure{
		title: "Latency percentiles over time",
		note:  fmt.Sprintf("Successful requests, by start time, in %s buckets. Each panel shows one run (the first repeat).", bucketWidthNote(groups)),
		width: figWidth,
	}
	for i, d := range data {
		title := d.g.Label()
		if len(d.g.Runs) > 1 {
			title += fmt.Sprintf(" (repeat %d; %d repeats ran)", d.r.Repeat, len(d.g.Runs))
		}
		xl := ""
		if i == len(data)-1 {
			xl = "time since start (s)"
		}
		p := newPanel(title, xl, "latency (ms)")
		p.X.Min, p.X.Max = 0, span
		p.X.Tick.Marker = timeTicks(10)
		setLatencyAxis(&p.Y, lo, hi, head)
		p.Add(faultBands{tl: tl, labels: true})
		addGrid(p)
		p.Add(gappedLine(d.s.t, d.s.p50, p50Sty)...)
		p.Add(gappedLine(d.s.t, d.s.p99, p99Sty)...)
		p.Add(gappedLine(d.s.t, d.s.p999, p999Sty)...)
		for _, t := range latencySLOs(d.r) {
			sty := map[string]draw.LineStyle{scenarios.MetricP50: p50Sty, scenarios.MetricP99: p99Sty, scenarios.MetricP999: p999Sty}[t.metric]
			p.Add(hLine{y: t.threshold, sty: sloLineStyle(sty)})
			anySLO = true
		}
		f.panels = append(f.panels, []*plot.Plot{p})
	}
	f.addLegend("p50", thickLegend(p50Sty))
	f.addLegend("p99", thickLegend(p99Sty))
	f.addLegend("p99.9", thickLegend(p999Sty))
	if anySLO {
		f.addLegend("SLO threshold", lineThumb{sloLineStyle(draw.LineStyle{Color: textColor})})
		f.note += " Long dashes: the SLO's threshold on the percentile of that colour (over the whole run, not per bucket)."
	}
	addTimelineLegend(f, tl)
	f.height = figChrome + vg.Length(len(data))*ph
	return f
}

// latencySLO is a latency SLO's threshold (ms) on one percentile.
type latencySLO struct {
	metric    string
	threshold float64
}

// latencySLOs are the thresholds of r's SLOs on p50, p99 and p99.9 of all
// its requests, the percentiles a latency-over-time panel draws.
func latencySLOs(r bench.RunSummary) []latencySLO {
	var out []latencySLO
	for _, v := range r.SLO {
		if v.Workload != "" {
			continue
		}
		switch v.Metric {
		case scenarios.MetricP50, scenarios.MetricP99, scenarios.MetricP999:
			out = append(out, latencySLO{v.Metric, v.Threshold})
		}
	}
	return out
}

// sloLineStyle is an SLO threshold drawn in the colour of the line it
// bounds: long dashes, thin.
func sloLineStyle(of draw.LineStyle) draw.LineStyle {
	return draw.LineStyle{Color: of.Color, Width: vg.Points(1.1), Dashes: []vg.Length{vg.Points(10), vg.Points(4)}}
}

// hLine is a horizontal line across a panel at y.
type hLine struct {
	y   float64
	sty draw.LineStyle
}

// Plot implements plot.Plotter.
func (h hLine) Plot(c draw.Canvas, p *plot.Plot) {
	if h.y < p.Y.Min || h.y > p.Y.Max {
		return
	}
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	c.StrokeLine2(h.sty, c.Min.X, y, c.Max.X, y)
}

// percentileStyles are the lines of p50, p99 and p99.9: blue, vermillion
// and black (Okabe–Ito), solid, dashed and dotted, told apart by hue,
// lightness and pattern alike.
func percentileStyles() (p50, p99, p999 draw.LineStyle) {
	return lineStyle(0, 0), lineStyle(3, 1), lineStyle(6, 2)
}

// timeSeriesOf is the first repeat of each group as columns, with the
// groups' labels and keys, leaving out groups without buckets.
func timeSeriesOf(groups []Group) (series []timeSeries, labels []string, keys []bench.RunKey) {
	for _, g := range groups {
		r, ok := firstRepeat(g)
		if !ok {
			continue
		}
		series = append(series, seriesOf(r))
		labels = append(labels, g.Label())
		keys = append(keys, g.Key)
	}
	return series, labels, keys
}

// availabilityTimeFigure shows availability and throughput over time, one
// line per backend × variant. Variants often coincide (100% availability,
// the offered throughput): markedLine keeps each one visible.
func availabilityTimeFigure(groups []Group, tl Timeline) *figure {
	series, labels, keys := timeSeriesOf(groups)
	if len(series) == 0 {
		return nil
	}
	span := timeSpan(tl, series)
	rows := labelRows(tl, figWidth-legendBudget, span)
	head := headroomFor(rows, panelHeight*1.2)

	availP := newPanel("Availability", "", "availability (%)")
	tputP := newPanel("Throughput (successful requests)", "time since start (s)", "throughput (req/s)")
	for _, p := range []*plot.Plot{availP, tputP} {
		p.X.Min, p.X.Max = 0, span
		p.X.Tick.Marker = timeTicks(10)
	}
	availP.Y.Tick.Marker = capTicks(5, 100)
	tputP.Y.Tick.Marker = niceTicks(5)
	availP.Add(faultBands{tl: tl, labels: true})
	tputP.Add(faultBands{tl: tl})
	addGrid(availP)
	addGrid(tputP)

	f := &figure{
		title: "Availability and throughput over time",
		note:  fmt.Sprintf("Per %s bucket, by request start time; the first repeat of each backend / variant. Lines on the same values nest (earlier ones wider) and keep their own markers.", bucketWidthNote(groups)),
		width: figWidth,
	}
	maxTput := 0.0
	colours, dashIdx := seriesStyles(keys)
	for i, s := range series {
		sty := lineStyle(colours[i], dashIdx[i])
		availP.Add(markedLine(s.t, s.avail, sty, i, len(series))...)
		tputP.Add(markedLine(s.t, s.tput, sty, i, len(series))...)
		f.addLegend(labels[i], markedLegend(sty, i))
		for j := range s.t {
			maxTput = math.Max(maxTput, s.tput[j])
		}
	}
	availP.Y.Min, availP.Y.Max = availabilityRange(series, head, rows > 0)
	tputP.Y.Min = 0
	tputP.Y.Max = math.Max(maxTput*1.08, 1)
	f.panels = [][]*plot.Plot{{availP}, {tputP}}
	addTimelineLegend(f, tl)
	f.height = figChrome + 2*panelHeight*1.2
	return f
}

// availabilityRange is the y-range of an availability-over-time panel, in
// percent: zoomed to the data, but never so far that a 0.01% wobble looks
// like an outage. The axis ends at 100%, unless fault labels need
// headroom above the data (head, a fraction of the axis), which gets no
// ticks.
func availabilityRange(series []timeSeries, head float64, labels bool) (lo, hi float64) {
	minAvail := 100.0
	for _, s := range series {
		for _, v := range s.avail {
			if !math.IsNaN(v) {
				minAvail = math.Min(minAvail, v)
			}
		}
	}
	lo = math.Max(math.Min(math.Floor(minAvail-0.5), 99), 0)
	hi = 100
	if labels {
		hi += (100 - lo) * head / (1 - head)
	}
	return lo, hi
}

// retriesTimeFigure shows the gateway's extra attempts over time, retries
// and hedges per 100 requests, one line per backend × variant; nil when no
// run made any.
func retriesTimeFigure(groups []Group, tl Timeline) *figure {
	series, labels, keys := timeSeriesOf(groups)
	var anyRetry, anyHedge bool
	for _, s := range series {
		for j := range s.t {
			anyRetry = anyRetry || s.retries[j] > 0
			anyHedge = anyHedge || s.hedges[j] > 0
		}
	}
	if !anyRetry && !anyHedge {
		return nil
	}
	span := timeSpan(tl, series)
	rows := labelRows(tl, figWidth-legendBudget, span)
	head := headroomFor(rows, panelHeight*1.2)
	type metric struct {
		title string
		pick  func(timeSeries) []float64
	}
	var metrics []metric
	if anyRetry {
		metrics = append(metrics, metric{"Retries by the gateway", func(s timeSeries) []float64 { return s.retries }})
	}
	if anyHedge {
		metrics = append(metrics, metric{"Hedges by the gateway", func(s timeSeries) []float64 { return s.hedges }})
	}
	f := &figure{
		title: "Retries and hedges over time",
		note:  fmt.Sprintf("Extra attempts the gateway made for the requests that started in each %s bucket, per 100 of them (sidecars' retries further in are not counted); the first repeat of each backend / variant.", bucketWidthNote(groups)),
		width: figWidth,
	}
	colours, dashIdx := seriesStyles(keys)
	for m, mt := range metrics {
		xl := ""
		if m == len(metrics)-1 {
			xl = "time since start (s)"
		}
		p := newPanel(mt.title, xl, "per 100 requests")
		p.X.Min, p.X.Max = 0, span
		p.X.Tick.Marker = timeTicks(10)
		p.Y.Tick.Marker = niceTicks(5)
		p.Add(faultBands{tl: tl, labels: m == 0})
		addGrid(p)
		hi := 0.0
		for i, s := range series {
			ys := mt.pick(s)
			p.Add(markedLine(s.t, ys, lineStyle(colours[i], dashIdx[i]), i, len(series))...)
			for _, v := range ys {
				if !math.IsNaN(v) {
					hi = math.Max(hi, v)
				}
			}
		}
		p.Y.Min = 0
		p.Y.Max = math.Max(hi*1.08, 1)
		if m == 0 {
			p.Y.Max /= 1 - head
		}
		f.panels = append(f.panels, []*plot.Plot{p})
	}
	for i := range series {
		f.addLegend(labels[i], markedLegend(lineStyle(colours[i], dashIdx[i]), i))
	}
	addTimelineLegend(f, tl)
	f.height = figChrome + vg.Length(len(metrics))*panelHeight*1.2
	return f
}

// seriesStyles picks a colour per variant and a dash per backend, so that
// one variant on two backends shares a colour.
func seriesStyles(keys []bench.RunKey) (colours, dashes []int) {
	vi, bi := map[string]int{}, map[string]int{}
	for _, k := range keys {
		if _, ok := vi[k.Variant]; !ok {
			vi[k.Variant] = len(vi)
		}
		if _, ok := bi[k.Backend]; !ok {
			bi[k.Backend] = len(bi)
		}
	}
	for _, k := range keys {
		colours = append(colours, vi[k.Variant])
		dashes = append(dashes, bi[k.Backend])
	}
	return colours, dashes
}

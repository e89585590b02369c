package reports

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench/sweep"
	"gonum.org/v1/gonum/stat/distuv"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SweepPlotSpec says what a sweep's plots show.
type SweepPlotSpec struct {
	Params     []string  // key paths swept, in the order the sweep lists them
	Metrics    []string  // metrics for response curves / heatmaps (default p99_ms, availability)
	Objectives [2]string // the Pareto front's two metrics, both minimised unless named "availability" or "throughput_rps" (maximised); zero: no front
}

// The files WriteSweepPlots writes: sweep-curves.png for one swept
// parameter, sweep-heatmap-<metric>.png for two, sweep-pareto.png for
// the objectives.
const (
	SweepCurvesFile  = "sweep-curves.png"
	SweepParetoFile  = "sweep-pareto.png"
	sweepHeatmapStem = "sweep-heatmap-"
)

// WriteSweepPlots writes the sweep's plots (PNG) into dir and returns the file names written.
//
// One swept parameter gives response curves: each metric's mean over the
// repeats against the parameter, with a 95% confidence band (Student's t);
// two give a heat map per metric; any number gives the Pareto front of
// the two objectives over the points. Points where any repeat missed an
// SLO (Feasible false) or failed are drawn apart from the feasible ones,
// and the settings that met every SLO are marked.
func WriteSweepPlots(dir string, rows []sweep.Row, spec SweepPlotSpec) ([]string, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	pts := sweepPoints(rows)
	for _, p := range spec.Params {
		found := false
		for _, pt := range pts {
			if _, ok := pt.x[p]; ok {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("sweep plots: parameter %q is in no row's x (rows have %s)", p, strings.Join(sweepParamNames(pts), ", "))
		}
	}
	metrics := spec.Metrics
	if len(metrics) == 0 {
		metrics = []string{sweep.MetricP99, sweep.MetricAvailability}
	}
	type named struct {
		file string
		fig  *figure
	}
	var figs []named
	switch len(spec.Params) {
	case 1:
		if f := sweepCurvesFigure(pts, spec.Params[0], metrics); f != nil {
			figs = append(figs, named{SweepCurvesFile, f})
		}
	case 2:
		for _, m := range metrics {
			if f := sweepHeatmapFigure(pts, spec.Params[0], spec.Params[1], m); f != nil {
				figs = append(figs, named{sweepHeatmapStem + m + ".png", f})
			}
		}
	}
	if spec.Objectives[0] != "" && spec.Objectives[1] != "" {
		if f := sweepParetoFigure(pts, spec.Params, spec.Objectives); f != nil {
			figs = append(figs, named{SweepParetoFile, f})
		}
	}
	if len(figs) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sweep plots: %w", err)
	}
	var files []string
	for _, nf := range figs {
		name := strings.TrimSuffix(nf.file, ".png")
		written, err := nf.fig.save(dir, name, []string{FormatPNG}, 110)
		if err != nil {
			return files, fmt.Errorf("sweep plot %s: %w", nf.file, err)
		}
		files = append(files, written...)
	}
	return files, nil
}

// sweepPoint is one point of a sweep with its repeats' figures.
type sweepPoint struct {
	point  int
	params map[string]string
	x      map[string]float64
	// values are the figures of the repeats that ran, by metric.
	values map[string][]float64
	// repeats counts rows, failed the rows with an Error.
	repeats, failed int
	// feasible is true when every repeat ran and met every SLO.
	feasible bool
}

// sweepPoints groups rows by point, in point order.
func sweepPoints(rows []sweep.Row) []*sweepPoint {
	at := map[int]*sweepPoint{}
	var out []*sweepPoint
	for _, r := range rows {
		p := at[r.Point]
		if p == nil {
			p = &sweepPoint{point: r.Point, params: map[string]string{}, x: map[string]float64{}, values: map[string][]float64{}, feasible: true}
			at[r.Point] = p
			out = append(out, p)
		}
		for k, v := range r.Params {
			p.params[k] = v
		}
		for k, v := range r.X {
			p.x[k] = v
		}
		p.repeats++
		p.feasible = p.feasible && r.Feasible && r.Error == ""
		if r.Error != "" {
			p.failed++
			continue
		}
		for k, v := range r.Metrics {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				p.values[k] = append(p.values[k], v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].point < out[j].point })
	return out
}

func sweepParamNames(pts []*sweepPoint) []string {
	seen := map[string]bool{}
	var names []string
	for _, p := range pts {
		for k := range p.x {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// meanCI is a mean over repeats with its 95% confidence interval.
type meanCI struct {
	Mean, Lo, Hi float64
	N            int
}

// meanCI95 is the mean of vals and its 95% confidence interval from
// Student's t with n−1 degrees of freedom (right for the few repeats a
// sweep runs); with one value the interval is the value itself, and with
// none everything is NaN.
func meanCI95(vals []float64) meanCI {
	n := len(vals)
	if n == 0 {
		return meanCI{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	var sum float64
	for _, v := range vals {
		sum += v
	}
	mean := sum / float64(n)
	if n == 1 {
		return meanCI{Mean: mean, Lo: mean, Hi: mean, N: 1}
	}
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return meanCI{Mean: mean, Lo: mean - t*se, Hi: mean + t*se, N: n}
}

// metricScale converts a metric to the unit a chart shows: ratios of
// requests as percentages.
func metricScale(m string) float64 {
	switch m {
	case sweep.MetricAvailability, sweep.MetricErrorRate, sweep.MetricRejected, sweep.MetricExtraLoad, sweep.MetricFaultAvailability:
		return 100
	}
	return 1
}

// metricLabel names a metric on an axis.
func metricLabel(m string) string {
	switch m {
	case sweep.MetricP50:
		return "p50 latency (ms)"
	case sweep.MetricP99:
		return "p99 latency (ms)"
	case sweep.MetricP999:
		return "p99.9 latency (ms)"
	case sweep.MetricAvailability:
		return "availability (%)"
	case sweep.MetricErrorRate:
		return "error rate (%)"
	case sweep.MetricThroughput:
		return "throughput (req/s)"
	case sweep.MetricRequests:
		return "requests"
	case sweep.MetricRejected:
		return "rejected (% of requests)"
	case sweep.MetricRetries:
		return "retries"
	case sweep.MetricHedges:
		return "hedges"
	case sweep.MetricExtraLoad:
		return "extra load (% of requests)"
	case sweep.MetricFaultP99:
		return "p99 during faults (ms)"
	case sweep.MetricFaultAvailability:
		return "availability during faults (%)"
	}
	return m
}

// maximised reports whether a larger value of objective m is better.
func maximised(m string) bool {
	return m == sweep.MetricAvailability || m == sweep.MetricThroughput
}

// logSpaced reports whether xs (a parameter's values) are spaced evenly
// on a log scale rather than a linear one, so that a log axis shows them
// evenly: all positive, and the steps between sorted distinct values are
// more nearly a constant ratio than a constant difference.
func logSpaced(xs []float64) bool {
	u := distinct(xs)
	if len(u) < 2 || u[0] <= 0 {
		return false
	}
	if len(u) == 2 {
		return u[1]/u[0] >= 100
	}
	var diffs, ratios []float64
	for i := 1; i < len(u); i++ {
		diffs = append(diffs, u[i]-u[i-1])
		ratios = append(ratios, math.Log(u[i]/u[i-1]))
	}
	return spread(ratios) < 0.25 && spread(ratios) < spread(diffs)
}

// spread is the coefficient of variation of vs (0 for constant values).
func spread(vs []float64) float64 {
	var m float64
	for _, v := range vs {
		m += v
	}
	m /= float64(len(vs))
	if m == 0 {
		return math.Inf(1)
	}
	var ss float64
	for _, v := range vs {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss/float64(len(vs))) / math.Abs(m)
}

// distinct is the sorted distinct values of xs.
func distinct(xs []float64) []float64 {
	u := append([]float64(nil), xs...)
	sort.Float64s(u)
	out := u[:0]
	for i, v := range u {
		if i == 0 || v != u[i-1] {
			out = append(out, v)
		}
	}
	return out
}

var (
	feasibleFill   = color.NRGBA{0x00, 0x9E, 0x73, 0x22} // bluish green, light
	feasibleColour = okabeIto[0]
	infeasibleCol  = okabeIto[3]
)

func feasibleGlyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: feasibleColour, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
}

func infeasibleGlyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: infeasibleCol, Radius: vg.Points(4.5), Shape: boldCross{}}
}

// boldCross is an × drawn with thick strokes (gonum's CrossGlyph is a
// hairline that vanishes beside filled dots).
type boldCross struct{}

func (boldCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 0.8
	ls := draw.LineStyle{Color: sty.Color, Width: vg.Points(2)}
	c.StrokeLine2(ls, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
	c.StrokeLine2(ls, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
}

// viridis is a colour map for heat maps: perceptually uniform, readable
// in grey and by the colour-blind, and never white (which would read as
// an empty cell), built on viridis's control colours.
func viridis() palette.ColorMap {
	cm, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{0x44, 0x01, 0x54, 0xFF},
		color.NRGBA{0x3B, 0x52, 0x8B, 0xFF},
		color.NRGBA{0x21, 0x91, 0x8C, 0xFF},
		color.NRGBA{0x5E, 0xC9, 0x62, 0xFF},
		color.NRGBA{0xFD, 0xE7, 0x25, 0xFF},
	})
	if err != nil {
		// The control colours are constants of increasing luminance.
		panic(err)
	}
	return cm
}

// glyphThumb is a legend swatch for a marker.
type glyphThumb struct{ sty draw.GlyphStyle }

func (t glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(t.sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
}

// xBands shades the x-intervals [lo, hi] of a panel across its height.
type xBands struct {
	spans [][2]float64
	fill  color.Color
}

// Plot implements plot.Plotter.
func (b xBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, s := range b.spans {
		lo, hi := math.Max(s[0], p.X.Min), math.Min(s[1], p.X.Max)
		if hi <= lo {
			continue
		}
		x0, x1 := trX(lo), trX(hi)
		c.FillPolygon(b.fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// curve is one metric against the swept parameter: a point per setting.
type curve struct {
	x        []float64
	ci       []meanCI
	feasible []bool
}

// sweepCurve collects metric m against parameter param, in x order,
// leaving out points without the metric (all repeats failed or missing).
func sweepCurve(pts []*sweepPoint, param, m string) curve {
	type row struct {
		x  float64
		ci meanCI
		ok bool
	}
	var rs []row
	scale := metricScale(m)
	for _, p := range pts {
		x, ok := p.x[param]
		if !ok {
			continue
		}
		vals := make([]float64, len(p.values[m]))
		for i, v := range p.values[m] {
			vals[i] = v * scale
		}
		ci := meanCI95(vals)
		if ci.N == 0 {
			continue
		}
		rs = append(rs, row{x, ci, p.feasible})
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].x < rs[j].x })
	var c curve
	for _, r := range rs {
		c.x = append(c.x, r.x)
		c.ci = append(c.ci, r.ci)
		c.feasible = append(c.feasible, r.ok)
	}
	return c
}

// feasibleSpans are the x-intervals of the settings that met every SLO:
// each feasible point's interval reaches halfway to its neighbours (on
// the axis's scale), and neighbouring intervals merge.
func feasibleSpans(xs []float64, feasible []bool, logX bool) [][2]float64 {
	pos := func(v float64) float64 {
		if logX {
			return math.Log(v)
		}
		return v
	}
	unpos := func(v float64) float64 {
		if logX {
			return math.Exp(v)
		}
		return v
	}
	var spans [][2]float64
	for i := range xs {
		if !feasible[i] {
			continue
		}
		lo, hi := pos(xs[i]), pos(xs[i])
		if i > 0 {
			lo = (pos(xs[i-1]) + pos(xs[i])) / 2
		}
		if i < len(xs)-1 {
			hi = (pos(xs[i]) + pos(xs[i+1])) / 2
		}
		if len(xs) == 1 {
			lo, hi = pos(xs[i])-0.5, pos(xs[i])+0.5
		}
		s := [2]float64{unpos(lo), unpos(hi)}
		if n := len(spans); n > 0 && spans[n-1][1] >= s[0] {
			spans[n-1][1] = s[1]
			continue
		}
		spans = append(spans, s)
	}
	// The outermost feasible points' intervals reach the axis's ends.
	if len(spans) > 0 && feasible[0] {
		spans[0][0] = math.Inf(-1)
	}
	if len(spans) > 0 && feasible[len(feasible)-1] {
		spans[len(spans)-1][1] = math.Inf(1)
	}
	return spans
}

// sweepCurvesFigure draws one panel per metric against the swept
// parameter.
func sweepCurvesFigure(pts []*sweepPoint, param string, metrics []string) *figure {
	var xsAll []float64
	for _, p := range pts {
		if x, ok := p.x[param]; ok {
			xsAll = append(xsAll, x)
		}
	}
	logX := logSpaced(xsAll)
	u := distinct(xsAll)
	if len(u) == 0 {
		return nil
	}
	f := &figure{title: "Response to " + param, width: figWidth}
	repeats, anyInfeasible, anyFeasible, anyBand := 0, false, false, false
	for _, p := range pts {
		repeats = max(repeats, p.repeats)
	}
	var panels []*plot.Plot
	for _, m := range metrics {
		c := sweepCurve(pts, param, m)
		if len(c.x) == 0 {
			continue
		}
		p := newPanel("", "", metricLabel(m))
		addGrid(p)
		if logX {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.TickerFunc(logTicks)
		} else {
			p.X.Tick.Marker = niceTicks(6)
		}
		p.Y.Tick.Marker = niceTicks(5)
		spans := feasibleSpans(c.x, c.feasible, logX)
		if len(spans) > 0 {
			anyFeasible = true
			p.Add(xBands{spans: spans, fill: feasibleFill})
		}
		var band plotter.XYs
		for i := range c.x {
			band = append(band, plotter.XY{X: c.x[i], Y: c.ci[i].Hi})
		}
		for i := len(c.x) - 1; i >= 0; i-- {
			band = append(band, plotter.XY{X: c.x[i], Y: c.ci[i].Lo})
		}
		hasBand := false
		for _, ci := range c.ci {
			hasBand = hasBand || ci.Hi > ci.Lo
		}
		if hasBand && len(c.x) > 1 {
			if poly, err := plotter.NewPolygon(band); err == nil {
				poly.Color = color.NRGBA{0x00, 0x72, 0xB2, 0x33}
				poly.LineStyle.Width = 0
				p.Add(poly)
				anyBand = true
			}
		}
		means := make([]float64, len(c.x))
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, ci := range c.ci {
			means[i] = ci.Mean
			lo, hi = math.Min(lo, ci.Lo), math.Max(hi, ci.Hi)
		}
		p.Add(gappedLine(c.x, means, draw.LineStyle{Color: feasibleColour, Width: vg.Points(1.6)})...)
		var good, bad plotter.XYs
		for i := range c.x {
			pt := plotter.XY{X: c.x[i], Y: means[i]}
			if c.feasible[i] {
				good = append(good, pt)
			} else {
				bad = append(bad, pt)
				anyInfeasible = true
			}
		}
		for _, set := range []struct {
			pts plotter.XYs
			sty draw.GlyphStyle
		}{{good, feasibleGlyph()}, {bad, infeasibleGlyph()}} {
			if len(set.pts) == 0 {
				continue
			}
			if s, err := plotter.NewScatter(set.pts); err == nil {
				s.GlyphStyle = set.sty
				p.Add(s)
			}
		}
		pad := (hi - lo) * 0.08
		if pad == 0 {
			pad = math.Max(math.Abs(hi)*0.05, 1)
		}
		p.Y.Min, p.Y.Max = lo-pad, hi+pad
		if metricScale(m) == 100 {
			p.Y.Max = math.Min(p.Y.Max, 100)
			p.Y.Min = math.Max(p.Y.Min, 0)
			if p.Y.Min >= p.Y.Max {
				p.Y.Min = p.Y.Max - 1
			}
			p.Y.Tick.Marker = capTicks(5, 100)
		}
		setSweepX(p, u, logX)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil
	}
	panels[len(panels)-1].X.Label.Text = param
	for _, p := range panels {
		f.panels = append(f.panels, []*plot.Plot{p})
	}
	f.addLegend("mean over repeats", lineThumb{draw.LineStyle{Color: feasibleColour, Width: vg.Points(2)}})
	if anyBand {
		f.addLegend("95% confidence band", bandThumb{color.NRGBA{0x00, 0x72, 0xB2, 0x33}})
	}
	f.addLegend("met every SLO", glyphThumb{feasibleGlyph()})
	if anyInfeasible {
		f.addLegend("missed an SLO (any repeat)", glyphThumb{infeasibleGlyph()})
	}
	if anyFeasible {
		f.addLegend("SLO-feasible settings", bandThumb{feasibleFill})
	}
	note := fmt.Sprintf("%d points × up to %d repeats with common random numbers; band: mean ± Student's t 95%% interval.", len(u), repeats)
	if repeats <= 1 {
		note = fmt.Sprintf("%d points, one repeat each: no confidence band (run more repeats for one).", len(u))
	}
	if logX {
		note += " Log x: the values are log-spaced."
	}
	f.note = note
	f.height = figChrome + vg.Length(len(panels))*2.6*vg.Inch
	return f
}

// setSweepX fits a sweep panel's x axis to the values u (sorted,
// distinct), with a margin so that the end points' markers show.
func setSweepX(p *plot.Plot, u []float64, logX bool) {
	lo, hi := u[0], u[len(u)-1]
	if logX {
		m := math.Pow(hi/lo, 0.04)
		if lo == hi {
			m = 2
		}
		p.X.Min, p.X.Max = lo/m, hi*m
		return
	}
	pad := (hi - lo) * 0.04
	if pad == 0 {
		pad = math.Max(math.Abs(lo)*0.1, 1)
	}
	p.X.Min, p.X.Max = lo-pad, hi+pad
}

// heatGrid is a GridXYZ over the points of a two-parameter sweep: column
// c and row r are the c-th and r-th values of the parameters, at x = c
// and y = r (cells evenly sized whatever the spacing).
type heatGrid struct {
	z [][]float64 // [c][r]
}

func (g heatGrid) Dims() (int, int)   { return len(g.z), len(g.z[0]) }
func (g heatGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }

// heatData lays metric m of a two-parameter sweep on a grid: the means
// over repeats, NaN where no point or no figure is, with the columns' and
// rows' labels and which cells missed an SLO.
type heatData struct {
	grid               heatGrid
	xLabels, yLabels   []string
	infeasible, filled [][]bool
}

func sweepHeatData(pts []*sweepPoint, px, py, m string) heatData {
	var xs, ys []float64
	for _, p := range pts {
		if x, ok := p.x[px]; ok {
			xs = append(xs, x)
		}
		if y, ok := p.x[py]; ok {
			ys = append(ys, y)
		}
	}
	ux, uy := distinct(xs), distinct(ys)
	d := heatData{xLabels: make([]string, len(ux)), yLabels: make([]string, len(uy))}
	if len(ux) == 0 || len(uy) == 0 {
		return d
	}
	idx := func(u []float64, v float64) int { return sort.SearchFloat64s(u, v) }
	d.grid.z = make([][]float64, len(ux))
	d.infeasible = make([][]bool, len(ux))
	d.filled = make([][]bool, len(ux))
	for c := range ux {
		d.grid.z[c] = make([]float64, len(uy))
		d.infeasible[c] = make([]bool, len(uy))
		d.filled[c] = make([]bool, len(uy))
		for r := range uy {
			d.grid.z[c][r] = math.NaN()
		}
	}
	scale := metricScale(m)
	for _, p := range pts {
		x, okx := p.x[px]
		y, oky := p.x[py]
		if !okx || !oky {
			continue
		}
		c, r := idx(ux, x), idx(uy, y)
		if d.xLabels[c] == "" {
			d.xLabels[c] = paramLabel(p, px, x)
		}
		if d.yLabels[r] == "" {
			d.yLabels[r] = paramLabel(p, py, y)
		}
		d.filled[c][r] = true
		d.infeasible[c][r] = !p.feasible
		if ci := meanCI95(p.values[m]); ci.N > 0 {
			d.grid.z[c][r] = ci.Mean * scale
		}
	}
	return d
}

// paramLabel is how a point's setting reads on an axis: as the scenario
// wrote it, or the number.
func paramLabel(p *sweepPoint, key string, x float64) string {
	if s := p.params[key]; s != "" {
		return s
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// sweepHeatmapFigure draws metric m over the grid of two parameters with
// a colour bar; cells that missed an SLO are crossed, cells without a
// figure are grey.
func sweepHeatmapFigure(pts []*sweepPoint, px, py, m string) *figure {
	d := sweepHeatData(pts, px, py, m)
	if len(d.grid.z) == 0 {
		return nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, col := range d.grid.z {
		for _, v := range col {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return nil
	}
	if hi == lo {
		pad := math.Max(math.Abs(lo)*0.01, 0.5)
		lo, hi = lo-pad, hi+pad
	}
	cm := viridis()
	cm.SetMin(lo)
	cm.SetMax(hi)
	heat := plotter.NewHeatMap(d.grid, cm.Palette(255))
	heat.Min, heat.Max = lo, hi
	heat.NaN = color.NRGBA{0xDD, 0xDD, 0xDD, 0xFF}

	p := newPanel(metricLabel(m), px, py)
	p.Add(heat)
	nominalAxis(&p.X, d.xLabels)
	nominalAxis(&p.Y, d.yLabels)
	var bad plotter.XYs
	anyMissing := false
	for c := range d.grid.z {
		for r := range d.grid.z[c] {
			if d.infeasible[c][r] {
				bad = append(bad, plotter.XY{X: float64(c), Y: float64(r)})
			}
			anyMissing = anyMissing || math.IsNaN(d.grid.z[c][r])
		}
	}
	if len(d.grid.z)*len(d.grid.z[0]) <= 64 {
		p.Add(cellValues{grid: d.grid, cm: cm})
	}
	if len(bad) > 0 {
		p.Add(crossMarks{pts: bad})
	}

	bar := newPanel("", "", metricLabel(m))
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.Y.Min, bar.Y.Max = lo, hi
	bar.Y.Tick.Marker = niceTicks(5)
	if metricScale(m) == 100 && hi > 100 {
		bar.Y.Tick.Marker = capTicks(5, 100)
	}

	f := &figure{
		title:  fmt.Sprintf("%s over %s × %s", metricLabel(m), px, py),
		note:   "Each cell: the mean over the point's repeats.",
		width:  figWidth,
		height: 6 * vg.Inch,
	}
	if len(bad) > 0 {
		f.addLegend("missed an SLO (any repeat)", crossThumb{})
		f.note += " Crossed: a repeat missed an SLO or failed; the uncrossed cells are the SLO-feasible region."
	}
	if anyMissing {
		f.addLegend("no figure", bandThumb{heat.NaN})
	}
	f.body = func(c draw.Canvas) {
		barW := 1.3 * vg.Inch
		heatC := draw.Crop(c, 0, -barW, 0, 0)
		barC := draw.Crop(c, c.Max.X-c.Min.X-barW+vg.Points(14), 0, 0, -vg.Points(panelSize+12))
		p.Draw(heatC)
		bar.Draw(barC)
	}
	return f
}

// cellValues prints each heat map cell's value in it, dark on light
// cells and light on dark ones, below the cell's centre (where a cross
// may stand).
type cellValues struct {
	grid heatGrid
	cm   palette.ColorMap
}

// Plot implements plot.Plotter.
func (v cellValues) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := text.Style{Font: fontOf(noteSize, false), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
	cols, rows := v.grid.Dims()
	for i := range cols {
		for j := range rows {
			z := v.grid.Z(i, j)
			if math.IsNaN(z) {
				continue
			}
			sty.Color = color.White
			if col, err := v.cm.At(z); err == nil {
				r, g, b, _ := col.RGBA()
				if 0.299*float64(r)+0.587*float64(g)+0.114*float64(b) > 0.55*0xFFFF {
					sty.Color = color.Black
				}
			}
			c.FillText(sty, vg.Point{X: trX(float64(i)), Y: trY(float64(j)) - vg.Points(9)}, strconv.FormatFloat(z, 'g', 3, 64))
		}
	}
}

// nominalAxis labels an axis with one name per index 0..n−1.
func nominalAxis(ax *plot.Axis, names []string) {
	ticks := make([]plot.Tick, len(names))
	for i, n := range names {
		ticks[i] = plot.Tick{Value: float64(i), Label: n}
	}
	ax.Tick.Marker = plot.ConstantTicks(ticks)
	ax.Min, ax.Max = -0.5, float64(len(names))-0.5
}

// crossMarks draws a cross over heat map cells, black under white, so it
// shows on any colour.
type crossMarks struct{ pts plotter.XYs }

// Plot implements plot.Plotter.
func (m crossMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, pt := range m.pts {
		drawCross(c, vg.Point{X: trX(pt.X), Y: trY(pt.Y)}, vg.Points(6))
	}
}

func drawCross(c draw.Canvas, at vg.Point, r vg.Length) {
	for _, sty := range []draw.LineStyle{
		{Color: color.Black, Width: vg.Points(3.2)},
		{Color: color.White, Width: vg.Points(1.4)},
	} {
		c.StrokeLine2(sty, at.X-r, at.Y-r, at.X+r, at.Y+r)
		c.StrokeLine2(sty, at.X-r, at.Y+r, at.X+r, at.Y-r)
	}
}

type crossThumb struct{}

func (crossThumb) Thumbnail(c *draw.Canvas) {
	drawCross(*c, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, vg.Points(5))
}

// paretoPoint is a point's objectives (means over repeats, in chart
// units).
type paretoPoint struct {
	a, b     float64
	feasible bool
	label    string
}

// dominates reports whether p is at least as good as q in both objectives
// and better in one; better is larger where max says so.
func dominates(p, q paretoPoint, maxA, maxB bool) bool {
	better := func(x, y float64, mx bool) (ge, gt bool) {
		if mx {
			return x >= y, x > y
		}
		return x <= y, x < y
	}
	geA, gtA := better(p.a, q.a, maxA)
	geB, gtB := better(p.b, q.b, maxB)
	return geA && geB && (gtA || gtB)
}

// paretoFront is the points no other point of pts dominates, sorted by
// the first objective.
func paretoFront(pts []paretoPoint, maxA, maxB bool) []paretoPoint {
	var front []paretoPoint
	for i, p := range pts {
		dominated := false
		for j, q := range pts {
			if i != j && dominates(q, p, maxA, maxB) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, p)
		}
	}
	sort.SliceStable(front, func(i, j int) bool {
		if front[i].a != front[j].a {
			return front[i].a < front[j].a
		}
		return front[i].b < front[j].b
	})
	return front
}

// sweepParetoPoints are the points' objectives, leaving out points
// without both.
func sweepParetoPoints(pts []*sweepPoint, params []string, obj [2]string) []paretoPoint {
	var out []paretoPoint
	for _, p := range pts {
		a, b := meanCI95(p.values[obj[0]]), meanCI95(p.values[obj[1]])
		if a.N == 0 || b.N == 0 {
			continue
		}
		var parts []string
		for _, k := range params {
			if v, ok := p.params[k]; ok {
				parts = append(parts, v)
			} else if x, ok := p.x[k]; ok {
				parts = append(parts, strconv.FormatFloat(x, 'g', 4, 64))
			}
		}
		label := strings.Join(parts, ", ")
		if label == "" {
			label = fmt.Sprintf("point %d", p.point)
		}
		out = append(out, paretoPoint{a: a.Mean * metricScale(obj[0]), b: b.Mean * metricScale(obj[1]), feasible: p.feasible, label: label})
	}
	return out
}

// sweepParetoFigure plots the points by the two objectives, the
// SLO-feasible points apart from the others, and the Pareto front of the
// feasible ones (of all, when none is feasible).
func sweepParetoFigure(pts []*sweepPoint, params []string, obj [2]string) *figure {
	pp := sweepParetoPoints(pts, params, obj)
	if len(pp) == 0 {
		return nil
	}
	maxA, maxB := maximised(obj[0]), maximised(obj[1])
	var feasible []paretoPoint
	for _, p := range pp {
		if p.feasible {
			feasible = append(feasible, p)
		}
	}
	frontOf := feasible
	frontLabel := "Pareto front of the SLO-feasible points"
	if len(feasible) == 0 {
		frontOf = pp
		frontLabel = "Pareto front (no point met every SLO)"
	}
	front := paretoFront(frontOf, maxA, maxB)

	dir := func(m string, mx bool) string {
		if mx {
			return metricLabel(m) + " → better"
		}
		return "better ← " + metricLabel(m)
	}
	p := newPanel("", dir(obj[0], maxA), dir(obj[1], maxB))
	addGrid(p)
	p.X.Tick.Marker = niceTicks(6)
	p.Y.Tick.Marker = niceTicks(5)
	lo := [2]float64{math.Inf(1), math.Inf(1)}
	hi := [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, q := range pp {
		lo[0], hi[0] = math.Min(lo[0], q.a), math.Max(hi[0], q.a)
		lo[1], hi[1] = math.Min(lo[1], q.b), math.Max(hi[1], q.b)
	}
	if len(feasible) > 0 {
		flo := [2]float64{math.Inf(1), math.Inf(1)}
		fhi := [2]float64{math.Inf(-1), math.Inf(-1)}
		for _, q := range feasible {
			flo[0], fhi[0] = math.Min(flo[0], q.a), math.Max(fhi[0], q.a)
			flo[1], fhi[1] = math.Min(flo[1], q.b), math.Max(fhi[1], q.b)
		}
		p.Add(feasibleRegion{lo: flo, hi: fhi})
	}
	var good, bad plotter.XYs
	for _, q := range pp {
		if q.feasible {
			good = append(good, plotter.XY{X: q.a, Y: q.b})
		} else {
			bad = append(bad, plotter.XY{X: q.a, Y: q.b})
		}
	}
	frontSty := draw.LineStyle{Color: okabeIto[1], Width: vg.Points(2.2)}
	if len(front) > 1 {
		var line plotter.XYs
		for i, q := range front {
			if i > 0 {
				// A step through the corner both neighbours dominate:
				// the edge of what the front attains.
				line = append(line, paretoCorner(front[i-1], q, maxA, maxB))
			}
			line = append(line, plotter.XY{X: q.a, Y: q.b})
		}
		if l, err := plotter.NewLine(line); err == nil {
			l.LineStyle = frontSty
			p.Add(l)
		}
	}
	frontGlyph := draw.GlyphStyle{Color: okabeIto[1], Radius: vg.Points(6), Shape: draw.RingGlyph{}}
	for _, set := range []struct {
		pts plotter.XYs
		sty draw.GlyphStyle
	}{{good, feasibleGlyph()}, {bad, infeasibleGlyph()}, {frontXYs(front), frontGlyph}} {
		if len(set.pts) == 0 {
			continue
		}
		if s, err := plotter.NewScatter(set.pts); err == nil {
			s.GlyphStyle = set.sty
			p.Add(s)
		}
	}
	if len(front) <= 8 {
		var labels []string
		for _, q := range front {
			labels = append(labels, q.label)
		}
		if l, err := plotter.NewLabels(plotter.XYLabels{XYs: frontXYs(front), Labels: labels}); err == nil {
			for i := range l.TextStyle {
				l.TextStyle[i].Font = fontOf(noteSize, false)
				l.TextStyle[i].Color = textColor
			}
			l.Offset = vg.Point{X: vg.Points(7), Y: vg.Points(3)}
			p.Add(l)
		}
	}
	for i := range 2 {
		pad := (hi[i] - lo[i]) * 0.08
		if pad == 0 {
			pad = math.Max(math.Abs(hi[i])*0.05, 1)
		}
		mn, mx := lo[i]-pad, hi[i]+pad*2.5 // room for labels
		if metricScale(obj[i]) == 100 {
			mx = math.Min(mx, 100)
			mn = math.Min(mn, mx-1e-3)
		}
		if i == 0 {
			p.X.Min, p.X.Max = mn, mx
		} else {
			p.Y.Min, p.Y.Max = mn, mx
		}
	}
	f := &figure{
		title:  fmt.Sprintf("Trade-off: %s against %s", metricLabel(obj[0]), metricLabel(obj[1])),
		note:   "Each point: one setting, the mean over its repeats. Front: the settings no other (SLO-feasible) setting beats in both.",
		width:  figWidth,
		height: 6.2 * vg.Inch,
		panels: [][]*plot.Plot{{p}},
	}
	if len(good) > 0 {
		f.addLegend("met every SLO", glyphThumb{feasibleGlyph()})
		f.addLegend("SLO-feasible region", bandThumb{feasibleFill})
	}
	if len(bad) > 0 {
		f.addLegend("missed an SLO (any repeat)", glyphThumb{infeasibleGlyph()})
	}
	f.addLegend(frontLabel, markedThumb{line: frontSty, glyph: frontGlyph})
	return f
}

// paretoCorner is the worse of p's and q's value in each objective: the
// corner of the staircase between two neighbours of a front.
func paretoCorner(p, q paretoPoint, maxA, maxB bool) plotter.XY {
	worse := func(x, y float64, mx bool) float64 {
		if mx {
			return math.Min(x, y)
		}
		return math.Max(x, y)
	}
	return plotter.XY{X: worse(p.a, q.a, maxA), Y: worse(p.b, q.b, maxB)}
}

func frontXYs(front []paretoPoint) plotter.XYs {
	out := make(plotter.XYs, len(front))
	for i, q := range front {
		out[i] = plotter.XY{X: q.a, Y: q.b}
	}
	return out
}

// feasibleRegion shades the box the SLO-feasible points span in the
// objectives' plane.
type feasibleRegion struct{ lo, hi [2]float64 }

// Plot implements plot.Plotter.
func (r feasibleRegion) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	padX, padY := vg.Points(8), vg.Points(8)
	x0, x1 := max(trX(r.lo[0])-padX, c.Min.X), min(trX(r.hi[0])+padX, c.Max.X)
	y0, y1 := max(trY(r.lo[1])-padY, c.Min.Y), min(trY(r.hi[1])+padY, c.Max.Y)
	c.FillPolygon(feasibleFill, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	c.StrokeLines(draw.LineStyle{Color: color.NRGBA{0x00, 0x9E, 0x73, 0x99}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}},
		[]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
}

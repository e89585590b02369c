package reports

import (
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// groupedMarks draws one series of a grouped bar (or dot) chart: a mark per
// category at x = 0, 1, 2..., shifted within the category so that nSeries
// series stand side by side, with optional min–max whiskers and value
// labels. gonum's BarChart offsets bars in canvas units, which its error bars
// cannot follow; this draws both in one place.
type groupedMarks struct {
	vals            []Stat
	series, nSeries int
	colour          color.Color
	dots            bool
	whiskers        bool
	// light draws the series as a second reading of the one beside it
	// (a part of the run, e.g. during faults): bars pale with an outline
	// in the colour, dots as triangles.
	light bool
	// label formats a value printed above its mark; nil prints none.
	label func(float64) string
}

var _ plot.Plotter = (*groupedMarks)(nil)
var _ plot.DataRanger = (*groupedMarks)(nil)

func (m *groupedMarks) geometry(c draw.Canvas, p *plot.Plot) (x func(i int) vg.Length, w vg.Length) {
	trX, _ := p.Transforms(&c)
	cat := trX(1) - trX(0)
	w = cat * 0.8 / vg.Length(m.nSeries)
	return func(i int) vg.Length {
		return trX(float64(i)) + (vg.Length(m.series)-vg.Length(m.nSeries-1)/2)*w
	}, w
}

// Plot implements plot.Plotter.
func (m *groupedMarks) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	xAt, w := m.geometry(c, p)
	whisker := draw.LineStyle{Color: color.NRGBA{0x22, 0x22, 0x22, 0xFF}, Width: vg.Points(1)}
	lsty := text.Style{Font: fontOf(noteSize-1, false), Color: textColor, XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
	base := math.Max(p.Y.Min, 0)
	for i, v := range m.vals {
		if math.IsNaN(v.Median) {
			continue
		}
		x := xAt(i)
		y := trY(v.Median)
		top := y
		if m.dots {
			c.DrawGlyph(m.glyph(), vg.Point{X: x, Y: y})
			top = y + vg.Points(4)
		} else {
			m.bar(c, x-w/2, x+w/2, trY(base), y)
		}
		if m.whiskers && v.N > 1 && v.Max > v.Min {
			lo, hi := trY(v.Min), trY(v.Max)
			cw := min(w/3, vg.Points(5))
			c.StrokeLine2(whisker, x, lo, x, hi)
			c.StrokeLine2(whisker, x-cw, lo, x+cw, lo)
			c.StrokeLine2(whisker, x-cw, hi, x+cw, hi)
			top = max(top, hi)
		}
		if m.label != nil {
			c.FillText(lsty, vg.Point{X: x, Y: top + vg.Points(3) + lsty.FontExtents().Descent}, m.label(v.Median))
		}
	}
}

// glyph is the dot of the series.
func (m *groupedMarks) glyph() draw.GlyphStyle {
	if m.light {
		return draw.GlyphStyle{Color: m.colour, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}
	}
	return draw.GlyphStyle{Color: m.colour, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
}

// bar fills the rectangle x0..x1 × y0..y1 in the series' style.
func (m *groupedMarks) bar(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
	rect := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
	if !m.light {
		c.FillPolygon(m.colour, rect)
		return
	}
	r, g, b, _ := m.colour.RGBA()
	c.FillPolygon(color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0x40}, rect)
	// Diagonal hatching, so the two readings differ without colour too.
	hatch := draw.LineStyle{Color: m.colour, Width: vg.Points(0.7)}
	step := vg.Points(5)
	for d := step; d < (x1-x0)+(y1-y0); d += step {
		// The segment of the line x - x0 + (y - y0) = d inside the bar
		// (y0 is the base, y1 the top; either may be the larger).
		lo, hi := min(y0, y1), max(y0, y1)
		ax, ay := x0+d, lo
		if ax > x1 {
			ax, ay = x1, lo+(ax-x1)
		}
		bx, by := x0, lo+d
		if by > hi {
			bx, by = x0+(by-hi), hi
		}
		if ay <= hi && bx <= x1 {
			c.StrokeLine2(hatch, ax, ay, bx, by)
		}
	}
	c.StrokeLines(draw.LineStyle{Color: m.colour, Width: vg.Points(1.2)}, append(rect, rect[0]))
}

// DataRange implements plot.DataRanger.
func (m *groupedMarks) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = -0.5, float64(len(m.vals))-0.5
	ymin, ymax = math.Inf(1), math.Inf(-1)
	if !m.dots {
		ymin = 0
	}
	for _, v := range m.vals {
		if math.IsNaN(v.Median) {
			continue
		}
		ymin = math.Min(ymin, math.Min(v.Min, v.Median))
		ymax = math.Max(ymax, math.Max(v.Max, v.Median))
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 0, 1
	}
	return
}

// Thumbnail implements plot.Thumbnailer.
func (m *groupedMarks) Thumbnail(c *draw.Canvas) {
	if m.dots {
		c.DrawGlyph(m.glyph(), vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
		return
	}
	m.bar(*c, c.Min.X, c.Max.X, c.Min.Y, c.Max.Y)
}

// categoryAxis labels x with the category names so that neighbours never
// run together in a panel about width wide: side by side when they fit,
// else broken into lines at " / " ("sim / peak_ewma" over two lines) when
// that fits, else turned just steeply enough for each label to clear the
// next.
func categoryAxis(p *plot.Plot, names []string, width vg.Length) {
	if len(names) == 0 {
		return
	}
	names, angle := categoryLabels(p.X.Tick.Label, names, width)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	if angle > 0 {
		p.X.Tick.Label.Rotation = angle
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
		if angle > math.Pi/3 {
			p.X.Tick.Label.YAlign = draw.YCenter
		}
		p.Y.Padding = 0
	}
}

// categoryLabels picks categoryAxis's labels and their rotation (0:
// level) for names in a panel about width wide.
func categoryLabels(sty text.Style, names []string, width vg.Length) ([]string, float64) {
	room := width * 0.85 / vg.Length(len(names)) // per category
	widest := func(ns []string) vg.Length {
		var w vg.Length
		for _, n := range ns {
			w = max(w, sty.Width(n))
		}
		return w
	}
	if widest(names) <= room {
		return names, 0
	}
	wrapped := make([]string, len(names))
	for i, n := range names {
		wrapped[i] = strings.ReplaceAll(n, " / ", "\n")
	}
	if widest(wrapped) <= room {
		return wrapped, 0
	}
	// A label turned by θ clears the next one when the categories' spacing
	// times sin θ exceeds its height.
	h := sty.Height("Xg") * 1.15
	sin := float64(h / (width / vg.Length(len(names))))
	angle := math.Pi / 6
	if sin > 0.5 {
		angle = math.Min(math.Asin(math.Min(sin, 1)), math.Pi/2)
	}
	return names, angle
}

// fitMarks sets the y-range of a panel of marks: from 0 for bars, zoomed to
// the data for dots, with room above for value labels.
func fitMarks(p *plot.Plot, marks []*groupedMarks, dots bool) {
	fitMarksTo(p, marks, dots, nil, math.Inf(1))
}

// fitMarksTo is fitMarks that also keeps the values of also (reference
// lines) in view and never lets the axis pass limit (100 for a
// percentage).
func fitMarksTo(p *plot.Plot, marks []*groupedMarks, dots bool, also []float64, limit float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range marks {
		_, _, a, b := m.DataRange()
		lo, hi = math.Min(lo, a), math.Max(hi, b)
	}
	for _, v := range also {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	defer func() {
		if p.Y.Max > limit {
			p.Y.Max = limit
			p.Y.Min = math.Min(p.Y.Min, limit-1e-3)
			p.Y.Tick.Marker = capTicks(5, limit)
		}
	}()
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	p.Y.Tick.Marker = niceTicks(5)
	if !dots {
		p.Y.Min, p.Y.Max = 0, hi*1.15
		if hi <= 0 {
			p.Y.Max = 1
		}
		return
	}
	pad := math.Max((hi-lo)*0.15, math.Max(math.Abs(hi)*1e-4, 1e-3))
	p.Y.Min, p.Y.Max = lo-pad, hi+2*pad
}

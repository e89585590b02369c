package reports

import (
	"image/color"
	"math"

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
			c.DrawGlyph(draw.GlyphStyle{Color: m.colour, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}, vg.Point{X: x, Y: y})
			top = y + vg.Points(4)
		} else {
			y0 := trY(base)
			c.FillPolygon(m.colour, []vg.Point{{X: x - w/2, Y: y0}, {X: x + w/2, Y: y0}, {X: x + w/2, Y: y}, {X: x - w/2, Y: y}})
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
		c.DrawGlyph(draw.GlyphStyle{Color: m.colour, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}},
			vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
		return
	}
	bandThumb{m.colour}.Thumbnail(c)
}

// categoryAxis labels x with the category names, turning them when they
// would not fit side by side in a panel about width wide.
func categoryAxis(p *plot.Plot, names []string, width vg.Length) {
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	var widest vg.Length
	for _, n := range names {
		widest = max(widest, p.X.Tick.Label.Width(n))
	}
	if len(names) > 0 && widest*vg.Length(len(names)) > width*0.85 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
}

// fitMarks sets the y-range of a panel of marks: from 0 for bars, zoomed to
// the data for dots, with room above for value labels.
func fitMarks(p *plot.Plot, marks []*groupedMarks, dots bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range marks {
		_, _, a, b := m.DataRange()
		lo, hi = math.Min(lo, a), math.Max(hi, b)
	}
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

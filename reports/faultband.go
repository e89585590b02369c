package reports

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// faultBands shades a run's warm-up and fault windows across the full height
// of a time-series panel, and optionally names each fault at the top of its
// band. Labels that would collide move down a row; setting aside headroom on
// the y axis (labelRows) keeps them off the data.
type faultBands struct {
	tl     Timeline
	labels bool
}

var _ plot.Plotter = faultBands{}

func faultLabelStyle() text.Style {
	return text.Style{Font: fontOf(noteSize, false), Color: textColor, XAlign: draw.XLeft, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
}

// Plot implements plot.Plotter.
func (b faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	clamp := func(x vg.Length) vg.Length { return max(c.Min.X, min(c.Max.X, x)) }
	fill := func(x0, x1 vg.Length, col color.Color) {
		c.FillPolygon(col, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
	sty := faultLabelStyle()
	lineH := sty.Height("Xg") + 2
	if b.tl.Warmup > 0 {
		x0, x1 := clamp(trX(0)), clamp(trX(b.tl.Warmup.Seconds()))
		fill(x0, x1, warmupFill)
	}
	edge := draw.LineStyle{Color: faultEdge, Width: vg.Points(0.6)}
	var rowFree []vg.Length // x from which each label row is free
	for _, f := range b.tl.Faults {
		x0, x1 := clamp(trX(f.Start.Seconds())), clamp(trX(f.End.Seconds()))
		if x1-x0 < 2 {
			x1 = min(x0+2, c.Max.X)
		}
		fill(x0, x1, faultFill)
		c.StrokeLine2(edge, x0, c.Min.Y, x0, c.Max.Y)
		if x1 > x0+2 {
			c.StrokeLine2(edge, x1, c.Min.Y, x1, c.Max.Y)
		}
		if !b.labels || f.Label == "" {
			continue
		}
		w := sty.Width(f.Label)
		x := x0 + 3
		if x+w > c.Max.X-2 {
			x = max(c.Min.X+2, c.Max.X-2-w)
		}
		row := 0
		for row < len(rowFree) && rowFree[row] > x {
			row++
		}
		if row == len(rowFree) {
			rowFree = append(rowFree, 0)
		}
		rowFree[row] = x + w + 8
		y := c.Max.Y - 3 - vg.Length(row)*lineH
		c.FillPolygon(color.NRGBA{0xFF, 0xFF, 0xFF, 0xC0}, []vg.Point{
			{X: x - 1, Y: y - lineH + 2}, {X: x + w + 1, Y: y - lineH + 2}, {X: x + w + 1, Y: y + 1}, {X: x - 1, Y: y + 1}})
		c.FillText(sty, vg.Point{X: x, Y: y}, f.Label)
	}
}

// labelRows estimates how many rows faultBands needs for its labels on a
// panel whose data area is dataW wide and spans [0, span] seconds, so that
// the caller can reserve headroom before the panel is drawn.
func labelRows(tl Timeline, dataW vg.Length, span float64) int {
	if len(tl.Faults) == 0 || span <= 0 {
		return 0
	}
	sty := faultLabelStyle()
	perS := float64(dataW) / span
	var rowFree []float64
	for _, f := range tl.Faults {
		x := f.Start.Seconds()*perS + 3
		w := float64(sty.Width(f.Label))
		if x+w > float64(dataW) {
			x = math.Max(0, float64(dataW)-w)
		}
		row := 0
		for row < len(rowFree) && rowFree[row] > x {
			row++
		}
		if row == len(rowFree) {
			rowFree = append(rowFree, 0)
		}
		rowFree[row] = x + w + 8
	}
	return len(rowFree)
}

// bandThumb is a legend swatch for a shaded region.
type bandThumb struct{ fill color.Color }

func (t bandThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(t.fill, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// addTimelineLegend adds swatches for the shaded regions that tl has.
func addTimelineLegend(f *figure, tl Timeline) {
	if len(tl.Faults) > 0 {
		f.addLegend("fault window", bandThumb{faultFill})
	}
	if tl.Warmup > 0 {
		f.addLegend("warm-up (not counted)", bandThumb{warmupFill})
	}
}

package reports

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// gappedLine draws y(x) as a line broken wherever y is NaN (a time bucket
// with nothing to measure), so a gap reads as a gap and not as a dive to 0.
// A point with no neighbour is drawn as a dot.
func gappedLine(xs, ys []float64, sty draw.LineStyle) []plot.Plotter {
	var out []plot.Plotter
	var seg plotter.XYs
	flush := func() {
		switch len(seg) {
		case 0:
		case 1:
			s, err := plotter.NewScatter(seg)
			if err == nil {
				s.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: sty.Width, Shape: draw.CircleGlyph{}}
				out = append(out, s)
			}
		default:
			l, err := plotter.NewLine(seg)
			if err == nil {
				l.LineStyle = sty
				out = append(out, l)
			}
		}
		seg = nil
	}
	for i := range xs {
		if math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) {
			flush()
			continue
		}
		seg = append(seg, plotter.XY{X: xs[i], Y: ys[i]})
	}
	flush()
	return out
}

// lineThumb is a legend swatch for a line style.
type lineThumb struct{ sty draw.LineStyle }

func (t lineThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(t.sty, c.Min.X, y, c.Max.X, y)
}

// thickLegend is a line style thickened for its legend swatch, which is
// short and easily misread when thin.
func thickLegend(sty draw.LineStyle) lineThumb {
	sty.Width += vg.Points(0.6)
	return lineThumb{sty}
}

// markerShapes tell series apart where their lines coincide: filled and
// hollow shapes alternate so that two marks on one spot both show.
var markerShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{},
	draw.SquareGlyph{},
	draw.TriangleGlyph{},
	draw.CrossGlyph{},
	draw.RingGlyph{},
	draw.BoxGlyph{},
	draw.PyramidGlyph{},
	draw.PlusGlyph{},
}

// markerStyle is series i's marker, in the colour of its line.
func markerStyle(i int, sty draw.LineStyle) draw.GlyphStyle {
	return draw.GlyphStyle{Color: sty.Color, Radius: vg.Points(3.2), Shape: markerShapes[i%len(markerShapes)]}
}

// stackedWidth is the line width of series i of n drawn in order: earlier
// series are wider, so a later series on the same values leaves a rim of
// every earlier one's colour instead of hiding it.
func stackedWidth(sty draw.LineStyle, i, n int) draw.LineStyle {
	n = min(n, 5)
	if i < n {
		sty.Width += vg.Points(0.9) * vg.Length(n-1-i)
	}
	return sty
}

// markerEvery is the stride between the markers of one series of points
// points, for n series: about a dozen markers per line, and a stride of at
// least n so that each series gets its own offset.
func markerEvery(points, n int) int {
	return max(n, (points+11)/12)
}

// markedLine draws series i of n as gappedLine does, widened by
// stackedWidth, with its marker on every markerEvery-th point, starting at
// an offset that differs per series: where several series run on the same
// values, each one's markers still show on its own points.
func markedLine(xs, ys []float64, sty draw.LineStyle, i, n int) []plot.Plotter {
	out := gappedLine(xs, ys, stackedWidth(sty, i, n))
	every := markerEvery(len(xs), n)
	offset := i * every / max(n, 1)
	var pts plotter.XYs
	for j := offset % every; j < len(xs); j += every {
		if math.IsNaN(ys[j]) || math.IsInf(ys[j], 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: xs[j], Y: ys[j]})
	}
	if len(pts) > 0 {
		if s, err := plotter.NewScatter(pts); err == nil {
			s.GlyphStyle = markerStyle(i, sty)
			out = append(out, s)
		}
	}
	return out
}

// markedThumb is a legend swatch for markedLine's series: the line with
// its marker in the middle.
type markedThumb struct {
	line  draw.LineStyle
	glyph draw.GlyphStyle
}

func (t markedThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(t.line, c.Min.X, y, c.Max.X, y)
	c.DrawGlyph(t.glyph, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y})
}

// markedLegend is the swatch of series i drawn by markedLine.
func markedLegend(sty draw.LineStyle, i int) markedThumb {
	sty.Width += vg.Points(0.6)
	return markedThumb{line: sty, glyph: markerStyle(i, sty)}
}

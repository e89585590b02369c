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

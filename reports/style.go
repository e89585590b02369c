package reports

import (
	"image/color"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// okabeIto is the Okabe–Ito palette (Okabe & Ito, "Color Universal Design",
// 2008), ordered so that neighbours contrast; yellow comes last because it
// reads poorly as a thin line on white.
var okabeIto = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
}

// seriesColor returns the palette colour of series i, cycling.
func seriesColor(i int) color.Color { return okabeIto[i%len(okabeIto)] }

// dashes are line patterns that tell series apart without colour.
var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(8), vg.Points(3), vg.Points(1.5), vg.Points(3)},
}

func dash(i int) []vg.Length { return dashes[i%len(dashes)] }

// lineStyle is series i's line: colour i, and dash d.
func lineStyle(i, d int) draw.LineStyle {
	return draw.LineStyle{Color: seriesColor(i), Width: vg.Points(1.6), Dashes: dash(d)}
}

var (
	faultFill  = color.NRGBA{0x00, 0x00, 0x00, 0x1F}
	faultEdge  = color.NRGBA{0x00, 0x00, 0x00, 0x55}
	warmupFill = color.NRGBA{0x56, 0xB4, 0xE9, 0x26}
	gridColor  = color.NRGBA{0x00, 0x00, 0x00, 0x1A}
	textColor  = color.NRGBA{0x22, 0x22, 0x22, 0xFF}
)

// Font sizes, in points, at the figures' physical size.
const (
	titleSize  = 15
	panelSize  = 12
	labelSize  = 11
	tickSize   = 10
	legendSize = 11
	noteSize   = 9.5
)

// chartFont is the sans-serif face of every chart (gonum's default is a
// serif).
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

func fontOf(size vg.Length, bold bool) font.Font {
	f := chartFont
	if bold {
		f.Weight = xfont.WeightBold
	}
	return font.From(f, size)
}

// newPanel returns a plot with meshbench's text sizes, a light grid and no
// legend of its own (figures draw one legend outside the panels).
func newPanel(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = fontOf(panelSize, true)
	p.Title.TextStyle.Color = textColor
	p.Title.Padding = vg.Points(6)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = fontOf(labelSize, false)
		ax.Label.TextStyle.Color = textColor
		ax.Tick.Label.Font = fontOf(tickSize, false)
		ax.Tick.Label.Color = textColor
		ax.Padding = vg.Points(2)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	return p
}

// addGrid adds light grid lines at the major ticks.
func addGrid(p *plot.Plot) {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColor, gridColor
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(g)
}

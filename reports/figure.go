package reports

import (
	"bufio"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure is one image: a title, a grid of panels, one legend to the right of
// the panels (never over the data) and a note along the bottom. gonum/plot
// draws a plot's legend inside its data area; a figure draws its own instead.
type figure struct {
	title string
	// panels is row-major; a nil panel leaves its tile empty.
	panels [][]*plot.Plot
	legend []legendEntry
	// note is a line of small print under the panels ("shaded: faults").
	note          string
	width, height vg.Length
	// body, when set, draws the area below the title instead of panels
	// (a heat map beside its colour bar).
	body func(c draw.Canvas)
}

type legendEntry struct {
	label  string
	thumbs []plot.Thumbnailer
}

func (f *figure) addLegend(label string, thumbs ...plot.Thumbnailer) {
	f.legend = append(f.legend, legendEntry{label, thumbs})
}

const (
	figPad       = vg.Length(8)
	legendThumbW = vg.Length(26)
	legendGap    = vg.Length(6)
)

func (f *figure) draw(c draw.Canvas) {
	c.FillPolygon(color.White, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})

	var legend *plot.Legend
	legendW := vg.Length(0)
	if len(f.legend) > 0 {
		l := plot.NewLegend()
		l.TextStyle.Font = fontOf(legendSize, false)
		l.TextStyle.Color = textColor
		l.Top, l.Left = true, true
		l.ThumbnailWidth = legendThumbW
		l.Padding = vg.Points(3)
		var textW vg.Length
		for _, e := range f.legend {
			l.Add(e.label, e.thumbs...)
			textW = max(textW, l.TextStyle.Width(e.label))
		}
		legend = &l
		legendW = legendThumbW + legendGap + textW + 2*figPad
	}

	top := vg.Length(0)
	if f.title != "" {
		sty := text.Style{Font: fontOf(titleSize, true), Color: textColor, XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		// Centred over the panels, not over panels and legend.
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X - legendW) / 2, Y: c.Max.Y - figPad}, f.title)
		top = figPad + sty.Height(f.title) + figPad
	}
	bottom := vg.Length(0)
	if f.note != "" {
		sty := text.Style{Font: fontOf(noteSize, false), Color: color.NRGBA{0x55, 0x55, 0x55, 0xFF}, XAlign: draw.XLeft, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler}
		note := wrapText(sty, f.note, c.Max.X-c.Min.X-2*figPad)
		c.FillText(sty, vg.Point{X: c.Min.X + figPad, Y: c.Min.Y + figPad/2}, note)
		bottom = sty.Height(note) + figPad
	}
	if legend != nil {
		// Line the legend up with the top of the first panel's data area.
		lc := draw.Crop(c, c.Max.X-c.Min.X-legendW+figPad, -figPad, bottom, -(top + vg.Points(panelSize) + 2*figPad))
		legend.Draw(lc)
	}

	area := draw.Crop(c, figPad, -legendW-figPad/2, bottom, -top)
	if f.body != nil {
		f.body(area)
		return
	}
	rows := len(f.panels)
	if rows == 0 {
		return
	}
	cols := len(f.panels[0])
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(18), PadY: vg.Points(16)}
	canvases := plot.Align(f.panels, tiles, area)
	for j := range f.panels {
		for i, p := range f.panels[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
}

// wrapText breaks s into lines no wider than width in sty, at spaces,
// keeping the line breaks it has.
func wrapText(sty text.Style, s string, width vg.Length) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && sty.Width(line+" "+w) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Formats of plot files.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

// save writes the figure as dir/name.<format> for each format and returns
// the files' base names.
func (f *figure) save(dir, name string, formats []string, dpi int) ([]string, error) {
	var files []string
	for _, format := range formats {
		var cw vg.CanvasWriterTo
		switch format {
		case FormatPNG:
			cw = fastPNG{vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(dpi))}
		case FormatSVG:
			cw = vgsvg.New(f.width, f.height)
		default:
			return nil, fmt.Errorf("plot format %q: want png or svg", format)
		}
		f.draw(draw.New(cw))
		file := name + "." + format
		if err := writeFileAtomic(filepath.Join(dir, file), cw); err != nil {
			return nil, fmt.Errorf("write %s: %w", file, err)
		}
		files = append(files, file)
	}
	return files, nil
}

// fastPNG encodes a canvas as PNG at zlib's fastest level: half of a
// report's time went into the default level's compression, for files only
// a fifth smaller.
type fastPNG struct{ *vgimg.Canvas }

func (c fastPNG) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	err := enc.Encode(cw, c.Image())
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFileAtomic writes w's output to a temporary file beside path and
// renames it into place, so a reader never sees half an image.
func writeFileAtomic(path string, w io.WriterTo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<16)
	_, err = w.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

package reports

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// instanceFigure shows how each backend × variant spread requests over the
// entry service's replicas, as a share of its answered requests, against
// the even share a perfectly fair balancer would give. Replicas that a
// fault of tl hit are shaded and named with the fault under their label.
func instanceFigure(groups []Group, tl Timeline) *figure {
	set := map[string]bool{}
	type share struct {
		g      Group
		counts map[string]int64
		total  int64
	}
	var shares []share
	for _, g := range groups {
		s := share{g: g, counts: map[string]int64{}}
		for _, r := range g.Runs {
			for inst, n := range r.PerInstance {
				s.counts[inst] += n
				s.total += n
				set[inst] = true
			}
		}
		if s.total > 0 {
			shares = append(shares, s)
		}
	}
	if len(shares) == 0 {
		return nil
	}
	instances := make([]string, 0, len(set))
	for inst := range set {
		instances = append(instances, inst)
	}
	sort.Slice(instances, func(i, j int) bool { return naturalLess(instances[i], instances[j]) })

	width := max(figWidth, vg.Length(len(instances)*len(shares))*0.22*vg.Inch+3*vg.Inch)
	width = min(width, 18*vg.Inch)
	f := &figure{
		title:  "Requests per instance",
		note:   "Share of each backend / variant's answered requests (all repeats) served by each replica of the entry service.",
		width:  width,
		height: 4.6 * vg.Inch,
	}
	hit := faultedInstances(instances, tl)
	names := instanceLabels(instances, hit)
	p := newPanel("", "replica", "share of requests (%)")
	categoryAxis(p, names, width-legendBudget)
	p.Add(hitBands{instances: instances, hit: hit})
	addGrid(p)
	shareGroups := make([]Group, len(shares))
	for i, s := range shares {
		shareGroups[i] = s.g
	}
	colours, _ := seriesStyles(groupKeys(shareGroups))
	var marks []*groupedMarks
	backends := map[string]bool{}
	for _, s := range shares {
		backends[s.g.Key.Backend] = true
	}
	for i, s := range shares {
		vals := make([]Stat, len(instances))
		for j, inst := range instances {
			v := float64(s.counts[inst]) / float64(s.total) * 100
			vals[j] = Stat{Median: v, Min: v, Max: v, N: 1}
		}
		// Several backends share variant colours; tell them apart by
		// giving each series its own colour here, since bars have no dash.
		col := seriesColor(colours[i])
		if len(backends) > 1 {
			col = seriesColor(i)
		}
		m := &groupedMarks{vals: vals, series: i, nSeries: len(shares), colour: col}
		if len(instances)*len(shares) <= 16 {
			m.label = func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
		}
		marks = append(marks, m)
		p.Add(m)
		f.addLegend(s.g.Label(), m)
	}
	fitMarks(p, marks, false)
	even := 100 / float64(len(instances))
	ref, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: even}, {X: float64(len(instances)) - 0.5, Y: even}})
	ref.LineStyle = draw.LineStyle{Color: textColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	p.Add(ref)
	f.addLegend(fmt.Sprintf("even share (%.1f%%)", even), lineThumb{ref.LineStyle})
	if len(hit) > 0 {
		f.addLegend("replica a fault hit", bandThumb{faultFill})
	}
	f.panels = [][]*plot.Plot{{p}}
	if lp := instanceLatencyPanel(shareGroups, instances, names, hit, width, marks); lp != nil {
		f.panels = append(f.panels, []*plot.Plot{lp})
		f.title = "Requests and latency per instance"
		f.note = "Top: share of answered requests per replica of the entry service. Bottom: p99 of each replica's successes (median of repeats)."
		f.height += 3.6 * vg.Inch
	}
	return f
}

// instanceLatencyPanel plots each backend × variant's p99 per replica of
// the entry service (RunSummary.Instances), in the colours of the share
// panel's marks; nil when the summary has no per-instance statistics.
func instanceLatencyPanel(groups []Group, instances, names []string, hit map[string][]string, width vg.Length, shareMarks []*groupedMarks) *plot.Plot {
	any := false
	for _, g := range groups {
		any = any || len(g.Parts(ByInstance)) > 0
	}
	if !any {
		return nil
	}
	p := newPanel("", "replica", "p99 latency (ms)")
	categoryAxis(p, names, width-legendBudget)
	p.Add(hitBands{instances: instances, hit: hit})
	addGrid(p)
	var marks []*groupedMarks
	for i, g := range groups {
		vals := make([]Stat, len(instances))
		for j, inst := range instances {
			vals[j] = g.PartTotals(ByInstance, inst).P99
		}
		m := &groupedMarks{vals: vals, series: i, nSeries: len(groups), colour: shareMarks[i].colour, whiskers: true}
		marks = append(marks, m)
		p.Add(m)
	}
	fitMarks(p, marks, false)
	return p
}

// faultedInstances maps each of instances that a fault of tl targeted to
// what the faults did to it ("slow ×10"): a replica target
// ("payments[1]") hits that replica, a service target ("payments") all of
// its replicas. Zone and route targets name no replica and mark none.
func faultedInstances(instances []string, tl Timeline) map[string][]string {
	hit := map[string][]string{}
	for _, f := range tl.Faults {
		t := f.Target
		if t == "" || strings.Contains(t, ":") {
			continue
		}
		what := strings.TrimSpace(strings.Replace(f.Label, " "+t, "", 1))
		if what == "" {
			what = "fault"
		}
		for _, inst := range instances {
			if inst == t || (!strings.Contains(t, "[") && strings.HasPrefix(inst, t+"[")) {
				if !slices.Contains(hit[inst], what) {
					hit[inst] = append(hit[inst], what)
				}
			}
		}
	}
	return hit
}

// instanceLabels are the category labels of the instance chart: the
// replica's name, and under it what the faults did to it.
func instanceLabels(instances []string, hit map[string][]string) []string {
	out := make([]string, len(instances))
	for i, inst := range instances {
		out[i] = inst
		if h := hit[inst]; len(h) > 0 {
			out[i] += "\n" + strings.Join(h, ", ")
		}
	}
	return out
}

// hitBands shades the columns of the replicas a fault hit.
type hitBands struct {
	instances []string
	hit       map[string][]string
}

// Plot implements plot.Plotter.
func (b hitBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for i, inst := range b.instances {
		if len(b.hit[inst]) == 0 {
			continue
		}
		x0, x1 := trX(float64(i)-0.5), trX(float64(i)+0.5)
		c.FillPolygon(faultFill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// naturalLess orders "payments[2]" before "payments[10]".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, _ := strconv.ParseUint(da, 10, 64)
			nb, _ := strconv.ParseUint(db, 10, 64)
			if na != nb {
				return na < nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		return s
	}
	return s[:i]
}

package reports

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
	"gonum.org/v1/plot/vg"
)

// faultySummary is a run of two variants with a slowdown and errors from
// 30 s to 60 s of 120 s, hedges in the buckets, and SLO verdicts.
func faultySummary() (*bench.Summary, Timeline) {
	s := reportstest.Summary(reportstest.Config{
		Duration: 120 * time.Second, Warmup: 10 * time.Second, Repeats: 2,
		Degraded: []reportstest.Window{{Start: 30 * time.Second, End: 60 * time.Second, Slowdown: 8, ErrorRate: 0.05}},
	})
	for i := range s.Runs {
		r := &s.Runs[i]
		for j := range r.Buckets {
			r.Buckets[j].Hedges = int64(j%7) * int64(i+1)
			r.Hedges += r.Buckets[j].Hedges
		}
		r.SLO = []bench.SLOVerdict{
			{Metric: "p99", Bound: "max", Threshold: 150, Unit: "ms"},
			{Metric: "availability", Bound: "min", Threshold: 0.999, Unit: "ratio"},
		}
	}
	tl := Timeline{Warmup: 10 * time.Second, Duration: 120 * time.Second, Faults: []FaultWindow{
		{Start: 30 * time.Second, End: 60 * time.Second, Label: "slow ×8 payments[1]", Target: "payments[1]"},
	}}
	return s, tl
}

// Every chart of a run renders as a PNG of a sane size.
func TestRenderPlotsPNG(t *testing.T) {
	s, tl := faultySummary()
	dir := t.TempDir()
	plots, err := RenderPlots(dir, s, tl, PlotOptions{Formats: []string{FormatPNG}, DPI: 60})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range plots {
		names = append(names, p.Name)
		checkPNG(t, dir, p.File(FormatPNG))
	}
	for _, want := range []string{"latency-over-time", "availability-over-time", "retries-over-time", "variants", "instances", "latency-spectrum"} {
		if !slices.Contains(names, want) {
			t.Errorf("plots %v lack %s", names, want)
		}
	}
}

func TestComparisonPlotsPNG(t *testing.T) {
	a := reportstest.Summary(reportstest.Config{Variants: []string{"round-robin", "least-request", "peak-ewma", "random"}, Duration: 30 * time.Second})
	b := reportstest.Summary(reportstest.Config{Variants: []string{"round-robin", "least-request", "peak-ewma", "random"}, Duration: 30 * time.Second, LatencyFactor: 1.3})
	c := NewComparison([]ComparedRun{{Label: "a", Summary: a}, {Label: "b", Summary: b}})
	dir := t.TempDir()
	plots, err := c.RenderPlots(dir, PlotOptions{Formats: []string{FormatPNG}, DPI: 60})
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) != 2 {
		t.Fatalf("%d comparison plots, want 2", len(plots))
	}
	for _, p := range plots {
		checkPNG(t, dir, p.File(FormatPNG))
	}
	cats, common := c.categoryNames()
	if common != "Backend: sim" || cats[0] != "round-robin" {
		t.Errorf("categories %v (%q), want the variants with the common backend said once", cats, common)
	}
}

func TestFaultFigures(t *testing.T) {
	tl := Timeline{Faults: []FaultWindow{{Start: 2 * time.Second, End: 4 * time.Second}, {Start: 7500 * time.Millisecond, End: 7500 * time.Millisecond}}}
	mk := func(start float64, req, ok int64, p99 float64) bench.Bucket {
		return bench.Bucket{StartS: start, WidthS: 1, Requests: req, Successes: ok, P50MS: p99 / 4, P99MS: p99, P999MS: p99 * 2}
	}
	r := bench.RunSummary{Buckets: []bench.Bucket{
		mk(0, 100, 100, 10), mk(1, 100, 100, 10),
		mk(2, 100, 90, 100), mk(3, 100, 80, 100), // the fault
		mk(4, 100, 100, 10), mk(5, 100, 100, 10), mk(6, 100, 100, 10),
		mk(7, 100, 70, 100), // the instantaneous fault at 7.5 s
		mk(8, 100, 100, 10),
	}}
	ff, ok := faultFiguresOf(r, tl)
	if !ok || ff.Buckets != 3 || ff.Requests != 300 || ff.Successes != 240 {
		t.Fatalf("fault figures %+v, want buckets 2, 3 and 7", ff)
	}
	if ff.Availability != 0.8 {
		t.Errorf("availability %v, want 0.8", ff.Availability)
	}
	// Every fault bucket has the same distribution: the mixture's p99 is
	// theirs.
	if math.Abs(ff.P99-100) > 0.01 || math.Abs(ff.P50-25) > 0.01 {
		t.Errorf("p50 %v p99 %v, want 25 and 100", ff.P50, ff.P99)
	}
	if _, ok := faultFiguresOf(r, Timeline{}); ok {
		t.Error("fault figures without a fault")
	}
	// Half the successes fast, half slow: the p99 is the slow buckets'
	// p99.8, above a mean of the two p99s.
	mixed := []bench.Bucket{mk(0, 100, 100, 10), mk(1, 100, 100, 1000)}
	if q := mixtureQuantile(mixed, 0.99); q <= (10+1000)/2 || q > 2000 {
		t.Errorf("mixture p99 %v, want above the mean of the buckets' p99s", q)
	}
	if q := mixtureQuantile([]bench.Bucket{{Requests: 5}}, 0.99); !math.IsNaN(q) {
		t.Errorf("no success: %v, want NaN", q)
	}
}

// No availability axis passes 100%: the variants chart's, the
// comparison's and the time series' when no fault label needs headroom.
func TestAvailabilityAxesEndAt100(t *testing.T) {
	s, tl := faultySummary()
	f := variantFigure(Groups(s), tl)
	avail := f.panels[1][1]
	if avail.Y.Max > 100 {
		t.Errorf("variants availability axis ends at %v", avail.Y.Max)
	}
	if len(f.panels) != 3 || f.panels[1][0].Title.Text != "p99.9 latency" {
		t.Fatalf("variants chart has %d rows, want latency, p99.9 and availability, retries and hedges", len(f.panels))
	}
	if f.panels[2][0].Title.Text != "Retries by the gateway" || f.panels[2][1] == nil || f.panels[2][1].Title.Text != "Hedges by the gateway" {
		t.Errorf("variants chart's cost row is wrong")
	}
	var during bool
	for _, e := range f.legend {
		during = during || e.label == "sim: during faults"
	}
	if !during {
		t.Error("variants chart has no during-fault series")
	}
	series, _, _ := timeSeriesOf(Groups(s))
	if lo, hi := availabilityRange(series, 0.1, false); hi != 100 || lo >= 100 {
		t.Errorf("availability range %v..%v, want ..100", lo, hi)
	}
	p50, p99, _, av := variantSLOs(Groups(s), func(Group) int { return 0 })
	if len(p50) != 0 || p99[0][0] != 150 || av[0][0] != 99.9 {
		t.Errorf("SLO bounds p50 %v p99 %v availability %v", p50, p99, av)
	}
}

func TestFaultedInstances(t *testing.T) {
	insts := []string{"payments[0]", "payments[1]", "payments[2]", "ledger[0]"}
	tl := Timeline{Faults: []FaultWindow{
		{Label: "slow ×10 payments[1]", Target: "payments[1]"},
		{Label: "errors 20% (503) ledger", Target: "ledger"},
		{Label: "partition zone:a ↔ zone:b", Target: "zone:a"},
		{Label: "restart payments[1] (down 2s)", Target: "payments[1]"},
	}}
	hit := faultedInstances(insts, tl)
	if got := hit["payments[1]"]; !slices.Equal(got, []string{"slow ×10", "restart (down 2s)"}) {
		t.Errorf("payments[1] hit by %q", got)
	}
	if got := hit["ledger[0]"]; !slices.Equal(got, []string{"errors 20% (503)"}) {
		t.Errorf("ledger[0] hit by %q", got)
	}
	if len(hit) != 2 {
		t.Errorf("hit %v, want payments[1] and ledger[0] only", hit)
	}
	if l := instanceLabels(insts, hit); l[1] != "payments[1]\nslow ×10, restart (down 2s)" || l[0] != "payments[0]" {
		t.Errorf("labels %q", l)
	}
}

func TestMarkedLinesStagger(t *testing.T) {
	if markerEvery(60, 4) != 5 || markerEvery(10, 4) != 4 {
		t.Errorf("markerEvery = %d, %d", markerEvery(60, 4), markerEvery(10, 4))
	}
	p50, p99, p999 := percentileStyles()
	if p50.Color == p99.Color || p99.Color == p999.Color || p50.Color == p999.Color {
		t.Error("percentile colours repeat")
	}
	base := lineStyle(0, 0)
	if w0, w3 := stackedWidth(base, 0, 4).Width, stackedWidth(base, 3, 4).Width; w0 <= w3 || w3 != base.Width {
		t.Errorf("stacked widths %v, %v", w0, w3)
	}
}

func TestCategoryLabels(t *testing.T) {
	p := newPanel("", "", "")
	sty := p.X.Tick.Label
	names, angle := categoryLabels(sty, []string{"a", "b"}, 4*vg.Inch)
	if angle != 0 || names[0] != "a" {
		t.Errorf("short names: %q turned %v", names, angle)
	}
	long := []string{"containers / round_robin", "containers / least_request", "containers / peak_ewma", "local / round_robin"}
	names, angle = categoryLabels(sty, long, 7*vg.Inch)
	if angle != 0 || names[0] != "containers\nround_robin" {
		t.Errorf("backend / variant: %q turned %v, want two lines, level", names, angle)
	}
	many := make([]string, 16)
	for i := range many {
		many[i] = "a-rather-long-variant-name"
	}
	_, angle = categoryLabels(sty, many, 4*vg.Inch)
	if angle < math.Pi/4 {
		t.Errorf("16 long names in 4 in turned only %v rad", angle)
	}
}

func TestLatencySLOs(t *testing.T) {
	r := bench.RunSummary{SLO: []bench.SLOVerdict{{Metric: "p99", Threshold: 60}, {Metric: "availability", Threshold: 0.999}, {Metric: "p999", Threshold: 250}}}
	got := latencySLOs(r)
	if len(got) != 2 || got[0] != (latencySLO{"p99", 60}) || got[1] != (latencySLO{"p999", 250}) {
		t.Errorf("latency SLOs %v", got)
	}
}

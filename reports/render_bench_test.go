package reports

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/meshbench/meshbench/reports/reportstest"
)

// benchRun is a ten-minute run with 1 s buckets: four variants on the
// simulator and on the local backend (so every chart, the prediction
// included, is drawn), at the given offered load.
func benchRun(b *testing.B, rps float64) *Run {
	s := reportstest.Summary(reportstest.Config{
		Backends: []string{"sim", "local"},
		Variants: []string{"round-robin", "least-request", "peak-ewma", "maglev"},
		Duration: 10 * time.Minute, Warmup: 30 * time.Second, RPS: rps,
		Degraded: []reportstest.Window{{Start: 2 * time.Minute, End: 4 * time.Minute, Slowdown: 6, ErrorRate: 0.05}},
	})
	return &Run{Dir: b.TempDir(), Summary: s, Scenario: []byte("name: bench\n"), Timeline: Timeline{
		Warmup: 30 * time.Second, Duration: 10 * time.Minute, Faults: []FaultWindow{
			{Start: 2 * time.Minute, End: 4 * time.Minute, Label: "slow ×6 payments[0]"},
			{Start: 6 * time.Minute, End: 6*time.Minute + 20*time.Second, Label: "kill payments[2]"},
		}}}
}

// BenchmarkRender measures a whole report (plots in PNG and SVG,
// index.html, summary.md, slo.xml) of a ten-minute, eight-run summary. The
// two loads differ a hundredfold in request count; the report's input, and
// so its time, does not.
func BenchmarkRender(b *testing.B) {
	for _, rps := range []float64{500, 50000} {
		run := benchRun(b, rps)
		for _, bc := range []struct {
			name string
			opts Options
		}{
			{"all", Options{}},
			{"png", Options{Plots: PlotOptions{Formats: []string{FormatPNG}}}},
			{"svg", Options{Plots: PlotOptions{Formats: []string{FormatSVG}}}},
			{"noplots", Options{NoPlots: true}},
		} {
			b.Run(fmt.Sprintf("rps=%g/%s", rps, bc.name), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					if err := RenderRun(run, bc.opts); err != nil {
						b.Fatal(err)
					}
				}
				// CPU time, unlike wall time, holds still on a shared
				// machine; with parallel plots it exceeds wall time.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRenderIndependentOfRequestCount checks the property behind the
// benchmark: a hundred times the requests makes the same summary shape, so
// the same charts.
func TestRenderIndependentOfRequestCount(t *testing.T) {
	sizes := map[float64]int{}
	for _, rps := range []float64{100, 10000} {
		s := reportstest.Summary(reportstest.Config{Duration: time.Minute, RPS: rps})
		raw, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sizes[rps] = len(raw)
		dir := t.TempDir()
		plots, err := RenderPlots(dir, s, Timeline{}, PlotOptions{Formats: []string{FormatSVG}})
		if err != nil {
			t.Fatal(err)
		}
		// Retries appear in the buckets only once there are enough
		// failures to retry; every other chart is there at any rate.
		n := 0
		for _, p := range plots {
			if p.Name != "retries-over-time" {
				n++
			}
		}
		if n != 5 {
			t.Errorf("rps=%g: %d plots besides retries-over-time, want 5", rps, n)
		}
		os.RemoveAll(dir)
	}
	// Counts gain digits; nothing grows with the requests themselves.
	if r := float64(sizes[10000]) / float64(sizes[100]); r > 1.2 {
		t.Errorf("summary grew %.2f× for 100× the requests", r)
	}
}

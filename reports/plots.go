package reports

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/meshbench/meshbench/bench"
)

// PlotFile is one chart written to a plots folder.
type PlotFile struct {
	// Name is the file name without extension: "latency-over-time".
	Name  string
	Title string
	// Caption says what the chart shows and how to read it.
	Caption string
	// Files are the written images, relative to the folder that holds
	// plots/ ("plots/latency-over-time.png"), in Formats order.
	Files []string
}

// File returns the image of the given format, or "".
func (p PlotFile) File(format string) string {
	for _, f := range p.Files {
		if path.Ext(f) == "."+format {
			return f
		}
	}
	return ""
}

// PlotOptions says how charts are written.
type PlotOptions struct {
	// Formats lists image formats: "png", "svg" (default both).
	Formats []string
	// DPI is the PNGs' resolution (default 110: a 10-inch chart is 1100
	// pixels wide).
	DPI int
}

func (o PlotOptions) withDefaults() PlotOptions {
	if len(o.Formats) == 0 {
		o.Formats = []string{FormatPNG, FormatSVG}
	}
	if o.DPI == 0 {
		o.DPI = 110
	}
	return o
}

type namedFigure struct {
	name, title, caption string
	fig                  *figure
}

// RenderPlots writes the charts of a run into dir/plots and returns them in
// reading order. Charts with nothing to show (no real backend to set a
// prediction beside, no per-instance counts) are left out.
func RenderPlots(dir string, s *bench.Summary, tl Timeline, opts PlotOptions) ([]PlotFile, error) {
	opts = opts.withDefaults()
	groups := Groups(s)
	spectrum, err := spectrumFigure(groups)
	if err != nil {
		return nil, err
	}
	preds, err := predictionViews(s, groups)
	if err != nil {
		return nil, err
	}
	routes, err := partSpectrumFigure(groups, ByRoute, "Latency percentile spectrum by route")
	if err != nil {
		return nil, err
	}
	workloads, err := partSpectrumFigure(groups, ByWorkload, "Latency percentile spectrum by workload")
	if err != nil {
		return nil, err
	}
	figs := []namedFigure{
		{"latency-over-time", "Latency percentiles over time",
			"p50, p99 and p99.9 of successful requests per time bucket, one panel per backend and variant, fault windows shaded.",
			latencyTimeFigure(groups, tl)},
		{"availability-over-time", "Availability and throughput over time",
			"Share of requests that succeeded, and successful requests per second, per time bucket.",
			availabilityTimeFigure(groups, tl)},
		{"latency-spectrum", "Latency percentile spectrum",
			"Latency against percentile from p50 to p99.99, on HdrHistogram's 1/(1−q) scale.",
			spectrum},
		{"latency-spectrum-routes", "Latency percentile spectrum by route",
			"Each gateway route's latency against percentile, one panel per route, every backend and variant on it.",
			routes},
		{"latency-spectrum-workloads", "Latency percentile spectrum by workload",
			"Each workload's latency against percentile, one panel per workload.",
			workloads},
		{"retries-over-time", "Retries and hedges over time",
			"The gateway's extra attempts per 100 requests in each time bucket: the load that retries and hedges add.",
			retriesTimeFigure(groups, tl)},
		{"variants", "Variants compared",
			"p50, p99, p99.9 and availability of each variant on each backend over the whole run and, when faults were injected, during them, with the SLO thresholds; and the retries and hedges they cost, when there were any.",
			variantFigure(groups, tl)},
		{"instances", "Requests per instance",
			"How each balancer spread requests over the entry service's replicas, and, where the summary has per-instance statistics, the p99 each replica gave; replicas a fault hit are shaded.",
			instanceFigure(groups, tl)},
		{"prediction", "Prediction beside measurement",
			"The simulator's latency distribution over the one measured on a real backend, for the same variant.",
			predictionFigure(preds)},
	}
	return writeFigures(dir, figs, opts)
}

// writeFigures saves figs, several at a time (one per CPU): each figure is
// independent, and rasterising and compressing PNGs is most of a report's
// time.
func writeFigures(dir string, figs []namedFigure, opts PlotOptions) ([]PlotFile, error) {
	out := filepath.Join(dir, PlotsDir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", out, err)
	}
	results := make([]PlotFile, len(figs))
	errs := make([]error, len(figs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, nf := range figs {
		if nf.fig == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			written, err := nf.fig.save(out, nf.name, opts.Formats, opts.DPI)
			if err != nil {
				errs[i] = fmt.Errorf("plot %s: %w", nf.name, err)
				return
			}
			pf := PlotFile{Name: nf.name, Title: nf.title, Caption: nf.caption}
			for _, w := range written {
				pf.Files = append(pf.Files, path.Join(PlotsDir, w))
			}
			results[i] = pf
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var files []PlotFile
	for _, pf := range results {
		if pf.Name != "" {
			files = append(files, pf)
		}
	}
	return files, nil
}

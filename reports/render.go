package reports

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/meshbench/meshbench/bench"
)

// Options configures Render. The zero value renders everything with the
// defaults.
type Options struct {
	// Plots sets image formats and resolution.
	Plots PlotOptions
	// NoPlots skips the charts: summary.md, slo.xml and index.html only.
	NoPlots bool
	// Timeline, when not nil, replaces the warm-up and fault windows read
	// from the folder's scenario.yaml.
	Timeline *Timeline
	// Gate, when not nil, adds the regression gate's checks to slo.xml and
	// its table to index.html.
	Gate       *bench.GateResult
	GateLabels GateLabels
}

// Render reads the run folder dir and writes its report into it:
// plots/*.png and *.svg, index.html, summary.md and slo.xml. It reads
// only summary.json (required), scenario.yaml and environment.json, so a
// report can be rendered again at any time, and rendering takes the same time
// whatever the number of requests the run made.
func Render(dir string, opts Options) error {
	run, err := LoadRun(dir)
	if err != nil {
		return err
	}
	return RenderRun(run, opts)
}

// RenderRun writes the report of run into run.Dir. Each file is written
// whole or not at all; when one part fails the others are still written and
// the errors are joined.
func RenderRun(run *Run, opts Options) error {
	if opts.Timeline != nil {
		run.Timeline = *opts.Timeline
	} else if run.timelineWarning != "" {
		run.Warnings = append(run.Warnings, run.timelineWarning)
	}
	var errs []error
	var plots []PlotFile
	if !opts.NoPlots {
		var err error
		plots, err = RenderPlots(run.Dir, run.Summary, run.Timeline, opts.Plots)
		if err != nil {
			errs = append(errs, err)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, run.Summary); err != nil {
		errs = append(errs, err)
	} else if opts.Gate != nil {
		md.WriteString("\n")
		if err := WriteGateMarkdown(&md, opts.Gate, opts.GateLabels); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, writeBuffer(run.Dir, MarkdownFile, &md))

	var junit bytes.Buffer
	if err := WriteJUnit(&junit, run.Summary, opts.Gate); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeBuffer(run.Dir, JUnitFile, &junit))

	gate := ""
	if opts.Gate != nil {
		var b bytes.Buffer
		if err := WriteGateTable(&b, opts.Gate, opts.GateLabels); err != nil {
			errs = append(errs, err)
		}
		gate = b.String()
	}
	var html bytes.Buffer
	if err := WriteIndex(&html, run, plots, gate); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeBuffer(run.Dir, IndexFile, &html))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("render %s: %w", run.Dir, err)
	}
	return nil
}

func writeBuffer(dir, name string, b *bytes.Buffer) error {
	if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

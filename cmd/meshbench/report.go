package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/meshbench/meshbench/reports"
	"github.com/spf13/cobra"
)

func init() { register(newReportCmd) }

func newReportCmd() *cobra.Command {
	var (
		formats []string
		dpi     int
		noPlots bool
		vegeta  string // --from-vegeta FILE
		name    string // --name, with --from-vegeta
	)
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Render a run folder's report again: plots, index.html, summary.md, slo.xml",
		Long: `report reads a run folder (summary.json, and scenario.yaml and
environment.json when present) and writes its report into it again:
plots/*.png and plots/*.svg, index.html, summary.md and slo.xml.

It reads only the summary's histograms and time buckets, never per-request
results, so it takes the same time whatever the run's request count.

With --from-vegeta FILE it reads a results file of 'vegeta attack' (gob,
JSON or CSV) instead and writes a new run folder RUN_DIR: summary.json for
one backend "vegeta" and one variant (the attack's name), and its report.
Status codes and errors are filed under meshbench's error kinds.`,
		Example: `  meshbench report runs/balancer-brownout-20250101T120000Z
  vegeta attack -rate 100 -duration 10s < targets.txt > results.bin
  meshbench report --from-vegeta results.bin runs/vegeta-baseline`,
		Annotations: map[string]string{argsAnnotation: "a run folder written by meshbench run (with --from-vegeta, the new run folder to write)"},
		Args:        exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if vegeta != "" {
				if err := checkFormats(formats); err != nil {
					return usageErr(err)
				}
				opts := reports.Options{NoPlots: noPlots, Plots: reports.PlotOptions{Formats: formats, DPI: dpi}}
				if err := reportFromVegeta(vegeta, dir, name, opts); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(dir, reports.IndexFile))
				return nil
			}
			if _, err := os.Stat(filepath.Join(dir, reports.SummaryFile)); err != nil {
				return usageErr(fmt.Errorf("%s is not a run folder: %w", dir, err))
			}
			opts := reports.Options{NoPlots: noPlots, Plots: reports.PlotOptions{Formats: formats, DPI: dpi}}
			if err := checkFormats(formats); err != nil {
				return usageErr(err)
			}
			if err := reports.Render(dir, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(dir, reports.IndexFile))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&formats, "format", []string{"png", "svg"}, "plot image `FORMATS` (png, svg)")
	fl.IntVar(&dpi, "dpi", 110, "resolution of PNG plots")
	fl.BoolVar(&noPlots, "no-plots", false, "write summary.md, slo.xml and index.html without plots")
	fl.StringVar(&vegeta, "from-vegeta", "", "summarize vegeta's results `FILE` into the new run folder RUN_DIR and report it")
	fl.StringVar(&name, "name", "vegeta", "with --from-vegeta: the scenario name the summary gives the run")
	return cmd
}

func checkFormats(formats []string) error {
	for _, f := range formats {
		if f != reports.FormatPNG && f != reports.FormatSVG {
			return fmt.Errorf("--format %q: want png or svg", f)
		}
	}
	return nil
}

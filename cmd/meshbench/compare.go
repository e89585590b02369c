package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/meshbench/meshbench/reports"
	"github.com/spf13/cobra"
)

func init() { register(newCompareCmd) }

func newCompareCmd() *cobra.Command {
	var (
		out       string
		noPlots   bool
		routes    []string
		workloads []string
		output    string
	)
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B...",
		Short: "Compare run folders side by side",
		Long: `compare lines up two or more runs (run folders, or summary.json files) by
backend and variant and prints their headline figures side by side, each with
its change against the first run. It writes the same table as comparison.md
and comparison plots (plots/compare-*.png, .svg) into --out, by default
runs/compare-<UTC timestamp>.

--route and --workload add a route's or a workload's figures (from the runs'
per-route and per-workload statistics) below each block; a name no run has
is a usage error. Runs with no backend × variant in common (two unrelated
scenarios) are a usage error too.

-o json or -o yaml prints the same cells for programs: per backend ×
variant, each metric's value, text and change against the first run.

compare describes differences; 'meshbench gate' tests them for significance.`,
		Example: `  meshbench compare runs/baseline runs/current
  meshbench compare runs/a/summary.json runs/b runs/c --out /tmp/abc
  meshbench compare runs/baseline runs/current --route checkout --workload lookups`,
		Annotations: map[string]string{argsAnnotation: "two or more run folders or summary.json files"},
		Args:        minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			labels := reports.RunLabels(args)
			var runs []reports.ComparedRun
			for i, p := range args {
				s, err := reports.ReadSummary(p)
				if err != nil {
					return usageErr(fmt.Errorf("compare: %w", err))
				}
				runs = append(runs, reports.ComparedRun{Label: labels[i], Summary: s})
			}
			c := reports.NewComparison(runs)
			if err := c.CheckCommon(); err != nil {
				return usageErr(fmt.Errorf("compare: %w", err))
			}
			for _, p := range []struct {
				kind  string
				names []string
			}{{reports.ByRoute, routes}, {reports.ByWorkload, workloads}} {
				for _, n := range p.names {
					if err := c.AddPart(p.kind, n); err != nil {
						return usageErr(fmt.Errorf("compare: --%s: %w", p.kind, err))
					}
				}
			}
			dir := out
			if dir == "" {
				dir = filepath.Join("runs", "compare-"+time.Now().UTC().Format("20060102T150405Z"))
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			var md bytes.Buffer
			if err := c.WriteMarkdown(&md); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "comparison.md"), md.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write comparison: %w", err)
			}
			if !noPlots {
				if _, err := c.RenderPlots(dir, reports.PlotOptions{}); err != nil {
					return err
				}
			}
			result := struct {
				Dir string `json:"dir"`
				reports.ComparisonResult
			}{dir, c.Result()}
			return printResult(cmd.OutOrStdout(), output, result, func(w io.Writer) error {
				if err := c.WriteTable(w); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "\ncomparison written to %s\n", dir)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder for comparison.md and plots (`DIR`; default runs/compare-<UTC timestamp>)")
	cmd.Flags().BoolVar(&noPlots, "no-plots", false, "write comparison.md without plots")
	cmd.Flags().StringSliceVar(&routes, "route", nil, "also compare these gateway routes (`NAME`,...)")
	cmd.Flags().StringSliceVar(&workloads, "workload", nil, "also compare these workloads (`NAME`,...)")
	addOutputFlag(cmd, &output, outputTable)
	return cmd
}

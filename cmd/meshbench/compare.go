package main

import (
	"bytes"
	"fmt"
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
is a usage error.

compare describes differences; 'meshbench gate' tests them for significance.`,
		Example: `  meshbench compare runs/baseline runs/current
  meshbench compare runs/a/summary.json runs/b runs/c --out /tmp/abc
  meshbench compare runs/baseline runs/current --route checkout --workload lookups`,
		Annotations: map[string]string{argsAnnotation: "two or more run folders or summary.json files"},
		Args:        minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			if err := c.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
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
			fmt.Fprintf(cmd.OutOrStdout(), "\ncomparison written to %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder for comparison.md and plots (`DIR`; default runs/compare-<UTC timestamp>)")
	cmd.Flags().BoolVar(&noPlots, "no-plots", false, "write comparison.md without plots")
	cmd.Flags().StringSliceVar(&routes, "route", nil, "also compare these gateway routes (`NAME`,...)")
	cmd.Flags().StringSliceVar(&workloads, "workload", nil, "also compare these workloads (`NAME`,...)")
	return cmd
}

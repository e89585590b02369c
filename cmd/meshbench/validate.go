package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

// validation is validate's result for one scenario.
type validation struct {
	Scenario string            `json:"scenario"` // the argument, or a file found in a directory argument
	Name     string            `json:"name,omitempty"`
	OK       bool              `json:"ok"`
	Services int               `json:"services,omitempty"`
	Variants []string          `json:"variants,omitempty"`
	Backends []string          `json:"backends,omitempty"`
	Issues   []scenarios.Issue `json:"issues,omitempty"`
	Error    string            `json:"error,omitempty"` // a problem that is not in the file (no such file)
}

func newValidateCmd() *cobra.Command {
	var (
		output   string
		backends []string
	)
	cmd := &cobra.Command{
		Use:   "validate SCENARIO...",
		Short: "Check scenarios and report every error with file:line:col",
		Long: `validate loads each scenario strictly: unknown keys, wrong types, bad
units and impossible values are errors. Every error of every file is printed,
each with file:line:col, the key path and, where one is near, the valid word
that was probably meant.

A SCENARIO is a file, a directory (every *.yaml and *.yml file in it), or
the name of a shipped scenario. Each scenario is also checked by the
backends its backends key lists, as they would check it when a run starts
(the local and containers fleets run only some topologies); --backend adds
the checks of other backends, as 'meshbench run --backend' would run them.

Exit status 2 when any scenario is invalid.`,
		Example: `  meshbench validate my-scenario.yaml
  meshbench validate scenarios/library retry-storm
  meshbench validate balancer-brownout --backend local,containers -o json`,
		Annotations:       map[string]string{argsAnnotation: "scenario files, directories of them, or names of shipped scenarios"},
		Args:              minArgs(1),
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			for _, b := range backends {
				if _, err := bench.Lookup(b); err != nil {
					return usageErr(fmt.Errorf("--backend: %w", err))
				}
			}
			targets, err := expandScenarioArgs(args)
			if err != nil {
				return usageErr(err)
			}
			var results []validation
			var bad []error
			for _, t := range targets {
				r, err := validateOne(t, backends)
				results = append(results, r)
				if err != nil {
					bad = append(bad, err)
				}
			}
			if err := printResult(cmd.OutOrStdout(), output, results, func(w io.Writer) error {
				for _, r := range results {
					if r.OK {
						fmt.Fprintf(w, "%s: ok (%s: %d services, %d variants; backends %s)\n", r.Scenario, r.Name, r.Services, len(r.Variants), strings.Join(r.Backends, ", "))
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if len(bad) > 0 {
				if output != outputTable {
					return usageErr(fmt.Errorf("%d of %d scenarios are invalid", len(bad), len(targets)))
				}
				return usageErr(errors.Join(bad...))
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&backends, "backend", nil, "also run these backends' start-up checks (`NAME`,...)")
	_ = cmd.RegisterFlagCompletionFunc("backend", completeBackends)
	addOutputFlag(cmd, &output, outputTable)
	return cmd
}

// validateOne loads one scenario and runs the checks of its backends and
// of extra.
func validateOne(arg string, extra []string) (validation, error) {
	r := validation{Scenario: arg}
	file, src, err := scenarios.Open(arg)
	if err != nil {
		r.Error = err.Error()
		return r, fmt.Errorf("%s: %w", arg, err)
	}
	plan, err := scenarios.LoadBytes(file, src)
	if err == nil {
		var more []string
		for _, b := range extra {
			if !slices.Contains(plan.Backends, b) {
				more = append(more, b)
			}
		}
		err = plan.CheckBackends(more)
		r.Name, r.Services = plan.Name, len(plan.Services)
		for _, v := range plan.Variants {
			r.Variants = append(r.Variants, v.Name)
		}
		r.Backends = append(slices.Clone(plan.Backends), more...)
	}
	var ve *scenarios.ValidationError
	switch {
	case errors.As(err, &ve):
		r.Issues = ve.Issues
		return r, err
	case err != nil:
		r.Error = err.Error()
		return r, err
	}
	r.OK = true
	return r, nil
}

// expandScenarioArgs replaces each directory among args by the scenario
// files in it (*.yaml, *.yml, sorted); files and names stay as given.
func expandScenarioArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(a, pattern))
			if err != nil {
				return nil, err
			}
			files = append(files, m...)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: a directory without scenario files (*.yaml, *.yml)", a)
		}
		slices.Sort(files)
		out = append(out, files...)
	}
	return out, nil
}

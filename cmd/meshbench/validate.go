package main

import (
	"errors"
	"fmt"

	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate SCENARIO...",
		Short: "Check scenario files and report every error with file:line:col",
		Long: `validate loads each scenario file strictly: unknown keys, wrong types, bad
units and impossible values are errors. Every error of every file is printed,
each with file:line:col, the key path and, where one is near, the valid word
that was probably meant. Exit status 2 when any file is invalid.`,
		Example: "  meshbench validate scenarios/library/*.yaml",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad []error
			for _, path := range args {
				plan, err := scenarios.Load(path)
				if err != nil {
					bad = append(bad, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s: %d services, %d variants)\n", path, plan.Name, len(plan.Services), len(plan.Variants))
			}
			if len(bad) > 0 {
				return usageErr(errors.Join(bad...))
			}
			return nil
		},
	}
}

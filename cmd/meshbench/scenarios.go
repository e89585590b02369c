package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newScenariosCmd) }

func newScenariosCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "Browse the shipped scenario library",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the shipped scenarios and checks, and the question each answers",
		Long: `list prints the scenario library, then the checks: published results of
queueing theory and load balancing as scenarios, whose descriptions cite
the expected figures (run one with meshbench run NAME).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, e := range scenarios.Library() {
				fmt.Fprintf(w, "%s\t%s\n", e.Name, e.Question)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nchecks (published results):")
			for _, e := range scenarios.Checks() {
				fmt.Fprintf(w, "%s\t%s\n", e.Name, e.Question)
			}
			return w.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:               "show NAME",
		Short:             "Print a shipped scenario's YAML",
		Example:           "  meshbench scenarios show balancer-brownout > my-scenario.yaml",
		Args:              exactArgs(1),
		ValidArgsFunction: completeShippedName,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := scenarios.Shipped(args[0])
			if err != nil {
				return usageErr(err)
			}
			_, err = cmd.OutOrStdout().Write(e.Source)
			return err
		},
	})
	return cmd
}

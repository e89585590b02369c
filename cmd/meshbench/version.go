package main

import (
	"fmt"

	"github.com/meshbench/meshbench/bench"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print meshbench's version, commit and Go version",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := bench.CurrentBuild()
			fmt.Fprintf(cmd.OutOrStdout(), "meshbench %s (commit %s, %s, %s/%s)\n", v.Version, v.Commit, v.GoVersion, v.OS, v.Arch)
			return nil
		},
	}
}

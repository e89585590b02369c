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
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(bench.CurrentBuild()))
			return nil
		},
	}
}

// versionLine is what version and --version print.
func versionLine(v bench.Build) string {
	return fmt.Sprintf("meshbench %s (commit %s, %s, %s/%s)", v.Version, v.Commit, v.GoVersion, v.OS, v.Arch)
}

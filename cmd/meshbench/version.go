package main

import (
	"fmt"
	"io"

	"github.com/meshbench/meshbench/bench"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print meshbench's version, commit and Go version",
		Example: "  meshbench version\n  meshbench --version\n  meshbench version -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			b := bench.CurrentBuild()
			return printResult(cmd.OutOrStdout(), output, b, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, versionLine(b))
				return err
			})
		},
	}
	addOutputFlag(cmd, &output, outputTable)
	return cmd
}

// versionLine is what version and --version print.
func versionLine(v bench.Build) string {
	return fmt.Sprintf("meshbench %s (commit %s, %s, %s/%s)", v.Version, v.Commit, v.GoVersion, v.OS, v.Arch)
}

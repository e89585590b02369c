package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/goccy/go-yaml"
	"github.com/meshbench/meshbench/internal/suggest"
	"github.com/spf13/cobra"
)

// Output formats of -o. A command that prints a result prints it as a
// table for people by default, or as JSON or YAML for programs: the same
// fields, named as in summary.json.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

var outputFormats = []string{outputTable, outputJSON, outputYAML}

// addOutputFlag adds -o/--output to cmd, with def as its default, and
// completes its values.
func addOutputFlag(cmd *cobra.Command, format *string, def string) {
	cmd.Flags().StringVarP(format, "output", "o", def, "print the result as `FORMAT`: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return outputFormats, cobra.ShellCompDirectiveNoFileComp
	})
}

// checkOutput refuses an unknown -o value, suggesting the nearest.
func checkOutput(format string) error {
	if slices.Contains(outputFormats, format) {
		return nil
	}
	return usageErr(fmt.Errorf("-o %q: unknown output format%s", format, suggest.HintOrList(format, outputFormats)))
}

// printResult writes v as JSON or YAML, or calls table for the table.
func printResult(w io.Writer, format string, v any, table func(io.Writer) error) error {
	switch format {
	case outputJSON:
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		_, err = w.Write(append(raw, '\n'))
		return err
	case outputYAML:
		// Through JSON, so that YAML has the same field names and
		// encodings (durations as strings, fractions as numbers).
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		out, err := yaml.JSONToYAML(raw)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		_, err = w.Write(out)
		return err
	}
	return table(w)
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/importer/export"
	"github.com/meshbench/meshbench/importer/istio"
	"github.com/meshbench/meshbench/importer/kong"
	"github.com/meshbench/meshbench/scenarios"
)

func init() { register(newImportCmd) }

type importFlags struct {
	strict  bool
	name    string
	variant string
	out     string
	proxy   string
}

func newImportCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import istio|kong",
		Short: "Turn Istio resources or a Kong decK file into a scenario",
		Long: `import reads Istio resources (VirtualService, DestinationRule, ServiceEntry,
Gateway, PeerAuthentication, AuthorizationPolicy, RequestAuthentication) or
a Kong declarative configuration (decK format 3.x) and writes a scenario:
the topology the configuration implies, and one variant with its policy and
replica weights. Every imported key carries a comment naming the
file:line:col it came from; what the configuration does not say (the
services' work, the load) is marked PLACEHOLDER.

Every field meshbench cannot represent, or represents with other semantics,
is reported on stderr with file:line:col and the resource's name; with
--strict they are errors. Malformed input (bad YAML, unknown kinds, wrong
types) is always an error. Exit status 2 on errors.

The mapping is documented in docs/import.md.`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().BoolVar(&f.strict, "strict", false, "make every field approximated or left out an error (exit 2)")
	cmd.PersistentFlags().StringVar(&f.name, "name", "imported", "the generated scenario's name")
	cmd.PersistentFlags().StringVar(&f.variant, "variant", "imported", "the generated variant's name")
	cmd.PersistentFlags().StringVarP(&f.out, "out", "o", "", "write the scenario to this file (default: stdout)")
	cmd.PersistentFlags().StringVar(&f.proxy, "proxy-config", "", "also write the variant as a configuration for `meshbench proxy` to this FILE")
	cmd.AddCommand(&cobra.Command{
		Use:     "istio FILE|DIR...",
		Short:   "Import Istio resources (files, or directories of *.yaml)",
		Example: "  meshbench import istio scenarios/library/istio-outlier-proposal/production/ -o mesh.yaml",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := istio.Import(args, istio.Options{})
			return writeImport(cmd, res, err, args, f)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "kong FILE",
		Short:   "Import a Kong declarative configuration (decK format 3.x)",
		Example: "  meshbench import kong kong.yaml -o gateway.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := kong.Import(nil, args[0])
			return writeImport(cmd, res, err, args, f)
		},
	})
	return cmd
}

var scenarioNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

func writeImport(cmd *cobra.Command, res *importer.Result, err error, args []string, f importFlags) error {
	if err != nil {
		return usageErr(err)
	}
	if !scenarioNameRE.MatchString(f.name) {
		return usageErr(fmt.Errorf("--name %q: a scenario name is lower-case letters, digits and '-'", f.name))
	}
	if err := res.Findings.Check(f.strict); err != nil {
		return usageErr(err)
	}
	for _, fi := range res.Findings {
		fmt.Fprintln(cmd.ErrOrStderr(), fi)
	}
	text := res.Scenario(f.name, f.variant, args)
	plan, err := scenarios.LoadBytes(f.name+".yaml", []byte(text))
	if err != nil {
		// Written all the same, for the user to fix by hand.
		if werr := writeScenario(cmd, f.out, text); werr != nil {
			return werr
		}
		return usageErr(fmt.Errorf("the generated scenario does not validate:\n%w", err))
	}
	if f.proxy != "" {
		o, err := export.Proxy(plan, f.variant)
		if err != nil {
			return usageErr(fmt.Errorf("--proxy-config: %w", err))
		}
		for _, n := range o.Notes {
			fmt.Fprintf(cmd.ErrOrStderr(), "proxy config: %s\n", n)
		}
		if err := writeFile(f.proxy, o.Text); err != nil {
			return err
		}
	}
	return writeScenario(cmd, f.out, text)
}

func writeScenario(cmd *cobra.Command, out, text string) error {
	if out == "" {
		_, err := io.WriteString(cmd.OutOrStdout(), text)
		return err
	}
	return writeFile(out, text)
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// printImportNotes writes what the imports of a scenario's variants
// (variants[].from) approximated or left out.
func printImportNotes(w io.Writer, plan *scenarios.Plan) {
	if plan == nil || len(plan.Notes) == 0 {
		return
	}
	var b strings.Builder
	for _, n := range plan.Notes {
		b.WriteString(n.String() + "\n")
	}
	fmt.Fprint(w, b.String())
}

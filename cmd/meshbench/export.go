package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/importer/export"
)

func init() { register(newExportCmd) }

func newExportCmd() *cobra.Command {
	var variant, out string
	cmd := &cobra.Command{
		Use:   "export istio|kong|proxy SCENARIO",
		Short: "Write a scenario variant as Istio resources or a Kong decK file",
		Long: `export writes the policy of one variant of a scenario, with the scenario's
gateway routes and replica weights, as Istio resources (Gateway,
VirtualService, DestinationRule per service, PeerAuthentication,
RequestAuthentication) or as a Kong declarative configuration (decK format
3.0), so that a design chosen with meshbench can be reviewed and applied;
or, with proxy, as a configuration for meshbench proxy (the gateway the
local backend runs, with placeholder endpoints on loopback).
Importing the export gives back the variant for every key both sides
represent; what the target cannot represent is listed on stderr.
The mapping is documented in docs/import.md.`,
		Example: "  meshbench export istio scenarios/library/istio-outlier-proposal.yaml --variant proposal -o proposal.yaml\n  meshbench export kong gateway-burst --variant token-bucket",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			if target != "istio" && target != "kong" && target != "proxy" {
				return usageErr(fmt.Errorf("unknown export target %q: istio, kong or proxy", target))
			}
			plan, _, err := loadScenario(args[1])
			if err != nil {
				return usageErr(err)
			}
			var o *export.Output
			switch target {
			case "istio":
				o, err = export.Istio(plan, variant)
			case "kong":
				o, err = export.Kong(plan, variant)
			default:
				o, err = export.Proxy(plan, variant)
			}
			if err != nil {
				return usageErr(err)
			}
			for _, n := range o.Notes {
				fmt.Fprintf(cmd.ErrOrStderr(), "not exported: %s\n", n)
			}
			if out == "" {
				_, err := io.WriteString(cmd.OutOrStdout(), o.Text)
				return err
			}
			return writeFile(out, o.Text)
		},
	}
	cmd.Flags().StringVar(&variant, "variant", "", "the variant to export (NAME; may be left out when the scenario has one)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file (default: stdout)")
	return cmd
}

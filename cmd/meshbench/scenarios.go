package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newScenariosCmd) }

// shippedScenario is one line of scenarios list with -o json|yaml.
type shippedScenario struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // scenario or check
	Question string `json:"question"`
	Path     string `json:"path"`
}

// scenarioOverview is scenarios show's table and the fields it adds to
// the resolved scenario with -o json|yaml.
type scenarioOverview struct {
	Name     string   `json:"name"`
	Question string   `json:"question"`
	Duration string   `json:"duration"`
	Backends []string `json:"backends"`
	Variants []string `json:"variants"`
	Services []string `json:"services"`
}

func newScenariosCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "Browse the shipped scenario library",
	}
	var listOutput string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the shipped scenarios and checks, and the question each answers",
		Long: `list prints the scenario library, then the checks: published results of
queueing theory and load balancing as scenarios, whose descriptions cite
the expected figures (run one with meshbench run NAME).

-o json or -o yaml prints one record per scenario: name, kind (scenario
or check), question and path in the repository.`,
		Example: "  meshbench scenarios list\n  meshbench scenarios list -o json | jq -r '.[].name'",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(listOutput); err != nil {
				return err
			}
			var all []shippedScenario
			for _, part := range []struct {
				kind    string
				entries []scenarios.Entry
			}{{"scenario", scenarios.Library()}, {"check", scenarios.Checks()}} {
				for _, e := range part.entries {
					all = append(all, shippedScenario{Name: e.Name, Kind: part.kind, Question: e.Question, Path: e.Path})
				}
			}
			return printResult(cmd.OutOrStdout(), listOutput, all, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				checks := false
				for _, s := range all {
					if s.Kind == "check" && !checks {
						if err := w.Flush(); err != nil {
							return err
						}
						fmt.Fprintln(out, "\nchecks (published results):")
						checks = true
					}
					fmt.Fprintf(w, "%s\t%s\n", s.Name, s.Question)
				}
				return w.Flush()
			})
		},
	}
	addOutputFlag(list, &listOutput, outputTable)
	cmd.AddCommand(list)

	var showOutput string
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a shipped scenario's YAML",
		Long: `show prints a shipped scenario or check as its file is written (-o yaml,
the default), resolved as a run would see it, defaults filled in and every
variant's policy merged (-o json, as a run folder's plan.json), or as an
overview (-o table): its question, duration, backends, variants and
services.`,
		Example: `  meshbench scenarios show balancer-brownout > my-scenario.yaml
  meshbench scenarios show retry-storm -o table`,
		Annotations:       map[string]string{argsAnnotation: "the name of a shipped scenario: see meshbench scenarios list"},
		Args:              exactArgs(1),
		ValidArgsFunction: completeShippedName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(showOutput); err != nil {
				return err
			}
			e, err := scenarios.Shipped(args[0])
			if err != nil {
				return usageErr(err)
			}
			if showOutput == outputYAML {
				_, err = cmd.OutOrStdout().Write(e.Source)
				return err
			}
			plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			if err != nil {
				return fmt.Errorf("shipped scenario %s: %w", e.Name, err)
			}
			if showOutput == outputJSON {
				return printResult(cmd.OutOrStdout(), outputJSON, plan, nil)
			}
			o := scenarioOverview{Name: plan.Name, Question: plan.Question(), Duration: plan.Duration.String(), Backends: plan.Backends}
			for _, v := range plan.Variants {
				o.Variants = append(o.Variants, v.Name)
			}
			for _, s := range plan.Services {
				o.Services = append(o.Services, fmt.Sprintf("%s×%d", s.Name, s.Replicas))
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, row := range [][2]string{
				{"name", o.Name}, {"question", o.Question}, {"duration", o.Duration},
				{"backends", strings.Join(o.Backends, ", ")}, {"variants", strings.Join(o.Variants, ", ")}, {"services", strings.Join(o.Services, ", ")},
			} {
				fmt.Fprintf(w, "%s\t%s\n", row[0], row[1])
			}
			return w.Flush()
		},
	}
	addOutputFlag(show, &showOutput, outputYAML)
	cmd.AddCommand(show)
	return cmd
}

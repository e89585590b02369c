package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

// Shell completion (meshbench completion bash|zsh|fish|powershell):
// scenario arguments complete to shipped names and scenario files,
// --backend to the backends of this build, --variant to the variants of
// the scenario on the command line, -o to the output formats.

// scenarioExts are the extensions of scenario files.
var scenarioExts = []string{"yaml", "yml"}

// completeScenarios completes any number of scenario arguments (validate).
func completeScenarios(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return scenarioCandidates(toComplete)
}

// completeScenario completes the one scenario argument of run.
func completeScenario(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return scenarioCandidates(toComplete)
}

// completeShippedName completes the name of a shipped scenario (scenarios show).
func completeShippedName(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return shippedNames(), cobra.ShellCompDirectiveNoFileComp
}

func shippedNames() []string {
	var names []string
	for _, e := range append(scenarios.Library(), scenarios.Checks()...) {
		names = append(names, e.Name+"\t"+e.Question)
	}
	return names
}

// scenarioCandidates: once the word is a path (it holds a separator or
// starts with '.'), the shell completes files with a scenario extension
// and directories; before that, the shipped names and the scenario files
// and directories of the working directory.
func scenarioCandidates(toComplete string) ([]string, cobra.ShellCompDirective) {
	if strings.ContainsRune(toComplete, os.PathSeparator) || strings.HasPrefix(toComplete, ".") {
		return scenarioExts, cobra.ShellCompDirectiveFilterFileExt
	}
	names := shippedNames()
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case e.IsDir():
			names = append(names, name+string(os.PathSeparator))
		case isScenarioFile(name):
			names = append(names, name)
		}
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	directive := cobra.ShellCompDirectiveNoFileComp
	if len(out) == 1 && strings.HasSuffix(out[0], string(os.PathSeparator)) {
		directive |= cobra.ShellCompDirectiveNoSpace // go on into the directory
	}
	return out, directive
}

func isScenarioFile(name string) bool {
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	return ext == scenarioExts[0] || ext == scenarioExts[1]
}

// completeBackends completes --backend with the backends of this build.
func completeBackends(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return bench.BackendNames(), cobra.ShellCompDirectiveNoFileComp
}

// completeVariants completes --variant with the variants of the scenario
// given as the first argument.
func completeVariants(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	plan, _, err := loadScenario(args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var names []string
	for _, v := range plan.Variants {
		names = append(names, v.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// Command meshbench runs service-mesh and API-gateway scenarios on a
// simulator or a real proxy and payment fleet, and reports what they measure.
//
// The command is thin: each subcommand parses flags and calls the packages
// that do the work (scenarios, bench, sim, reports).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/meshbench/meshbench/bench"
	"github.com/spf13/cobra"
)

// Exit codes. Usage and validation errors exit 2 so that scripts can tell a
// broken scenario from a failed measurement.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitInternal = 3
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or validation error (exit 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// failErr marks err as a failed check (exit 1): an SLO or a regression gate.
func failErr(err error) error { return &exitError{code: exitFailure, err: err} }

// commands lists the constructors of the root command's children; each
// command's file adds itself in an init function.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshbench",
		Short: "Measure service-mesh and API-gateway designs on a payment platform",
		Long: `meshbench compares gateway and mesh policies (balancers, rate limits,
circuit breakers, retries, outlier detection) on a payment platform, in a
discrete-event simulator and on a real proxy in front of a real fleet.

A scenario file describes the fleet, the policies to compare, the load, the
faults and the SLOs; 'meshbench run' measures it and writes a run folder.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(flagError)
	build := bench.CurrentBuild()
	root.Version = build.Version
	root.SetVersionTemplate(versionLine(build) + "\n")
	for _, c := range commands {
		root.AddCommand(c())
	}
	requireSubcommands(root)
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the process exit code. The
// first Ctrl-C (or SIGTERM) cancels the context: a run stops and writes what
// it measured.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, args, os.Stdout, os.Stderr)
}

// execute runs the command tree with args and returns the exit code; tests
// call it with their own context and writers.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	err = rewordUnknownCommand(root, err)
	fmt.Fprintln(stderr, "meshbench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// cobra reports unknown commands and flags as plain errors.
	if isCobraUsageError(err) {
		return exitUsage
	}
	return exitFailure
}

package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshbench/meshbench/internal/book"
	"github.com/meshbench/meshbench/scenarios"
	"github.com/spf13/cobra"
)

func init() { register(newBookCmd) }

type bookFlags struct {
	out       string
	backend   string
	check     bool
	duration  time.Duration
	scenarios []string
}

func newBookCmd() *cobra.Command {
	var f bookFlags
	cmd := &cobra.Command{
		Use:   "book",
		Short: "Regenerate the results book (docs/results) from the scenario library",
		Long: `book writes the results book: for every shipped scenario a page with its
question, an answer written from the figures, the tables and the key plots.

--backend sim (the default) writes the simulator part: every scenario that
lists the simulator, at full length with its own seed, byte-identical on
any machine. With --check it regenerates that part into a temporary folder
instead and exits 1, naming the files, when it differs from --out.

--backend local writes the local part (OUT/local): each scenario that lists
the local backend, run on this machine and on the simulator at the same
duration, with the machine facts. --duration rescales every timeline, and
--scenario picks scenarios (the local index lists every result present).`,
		Example: `  meshbench book --out docs/results
  meshbench book --out docs/results --check
  meshbench book --out docs/results --backend local --duration 20s --scenario balancer-brownout`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runBook(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "docs/results", "the book's folder (`DIR`)")
	fl.StringVar(&f.backend, "backend", "sim", "which part to write: sim or local (`NAME`)")
	fl.BoolVar(&f.check, "check", false, "regenerate the simulator part into a temporary folder and fail when --out differs")
	fl.DurationVar(&f.duration, "duration", 0, "local part: rescale every scenario's timeline to this `duration` (default: full length)")
	fl.StringSliceVar(&f.scenarios, "scenario", nil, "local part: only these shipped scenarios (`NAME`,...)")
	return cmd
}

func runBook(cmd *cobra.Command, f bookFlags) error {
	stderr := cmd.ErrOrStderr()
	log := book.Log(func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) })
	// The library and the published-result checks: both are shipped, and
	// the checks' pages show the published figures beside the simulator's.
	entries := slices.Concat(scenarios.Library(), scenarios.Checks())
	switch f.backend {
	case "sim":
		if f.duration != 0 || len(f.scenarios) > 0 {
			return usageErr(errors.New("--duration and --scenario apply to --backend local only: the simulator part is always the whole library at full length"))
		}
		start := time.Now()
		if f.check {
			drift, err := book.Check(cmd.Context(), f.out, entries, log)
			if err != nil {
				return err
			}
			if len(drift) > 0 {
				book.WriteDrift(stderr, f.out, drift)
				return failErr(fmt.Errorf("the results book is out of date (%d files)", len(drift)))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "book: the simulator part of %s is up to date (%d scenarios, %s)\n", f.out, len(entries), time.Since(start).Round(time.Millisecond))
			return nil
		}
		if err := book.WriteSim(cmd.Context(), f.out, entries, log); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "book: wrote the simulator part of %s (%d scenarios, %s)\n", f.out, len(entries), time.Since(start).Round(time.Millisecond))
		return nil
	case "local":
		if f.check {
			return usageErr(errors.New("--check applies to the simulator part only: a real machine's figures move from run to run"))
		}
		if f.duration < 0 {
			return usageErr(fmt.Errorf("--duration must be positive, got %s", f.duration))
		}
		if len(f.scenarios) > 0 {
			var picked []scenarios.Entry
			for _, n := range f.scenarios {
				e, err := scenarios.LibraryScenario(n)
				if err != nil {
					return usageErr(err)
				}
				picked = append(picked, e)
			}
			entries = picked
		}
		start := time.Now()
		if err := book.GenerateLocal(cmd.Context(), f.out, entries, book.LocalOptions{Duration: f.duration, Log: log}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "book: wrote the local part of %s (%s)\n", f.out, time.Since(start).Round(time.Second))
		return nil
	}
	return usageErr(fmt.Errorf("--backend must be sim or local, got %q", f.backend))
}

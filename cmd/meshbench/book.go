package main

import (
	"errors"
	"fmt"
	"path/filepath"
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
	calib     string
	anyCalib  bool
	hostCores int
	repeat    int
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
--scenario picks scenarios (the local index lists every result present).
--calibration FILE makes the simulator charge a profile from
` + "`meshbench calibrate`" + `, and --host-cores N adds the host model with the
profile's CPU per request, as run's flags of the same names do; the pages
say what the simulator was given. --repeat N runs each variant N times on
both backends, as run --repeat does: the pages give medians over the
repeats and the local backend's spread beside each error, so that an
error within the machine's own run-to-run noise shows as such.`,
		Example: `  meshbench book --out docs/results
  meshbench book --out docs/results --check
  meshbench book --out docs/results --backend local --duration 20s --scenario balancer-brownout
  meshbench book --out docs/results --backend local --calibration calibration.yaml --host-cores 2
  meshbench book --out docs/results --backend local --scenario mtls-cost --repeat 3 --calibration calibration.yaml --host-cores 2`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runBook(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "docs/results", "the book's folder (`DIR`)")
	fl.StringVar(&f.backend, "backend", "sim", "which part to write: sim or local (`NAME`)")
	fl.BoolVar(&f.check, "check", false, "regenerate the simulator part into a temporary folder and fail when --out differs")
	fl.DurationVar(&f.duration, "duration", 0, "local part: rescale every scenario's timeline to this `duration` (default: full length)")
	fl.StringSliceVar(&f.scenarios, "scenario", nil, "local part: only these shipped scenarios (`NAME`,...)")
	fl.StringVar(&f.calib, "calibration", "", "local part: the simulator charges this calibration profile (`FILE`, from meshbench calibrate)")
	fl.BoolVar(&f.anyCalib, "calibration-any-machine", false, "local part: apply a calibration profile measured on another machine")
	fl.IntVar(&f.repeat, "repeat", 1, "local part: run each variant `N` times on both backends; pages give medians and the local spread")
	fl.IntVar(&f.hostCores, "host-cores", 0, "local part: the simulator models a host of `N` cores with the profile's CPU per request (needs --calibration)")
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
		if f.duration != 0 || len(f.scenarios) > 0 || f.calib != "" || f.hostCores != 0 || cmd.Flags().Changed("repeat") {
			return usageErr(errors.New("--duration, --scenario, --calibration, --host-cores and --repeat apply to --backend local only: the simulator part is always the whole library at full length, uncalibrated, one run per variant"))
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
		if f.repeat < 1 {
			return usageErr(fmt.Errorf("--repeat must be at least 1, got %d", f.repeat))
		}
		index := entries
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
		opts := book.LocalOptions{Duration: f.duration, Repeat: f.repeat, Log: log, HostCores: f.hostCores, Index: index}
		if err := bookCalibration(cmd, f, &opts); err != nil {
			return err
		}
		start := time.Now()
		if err := book.GenerateLocal(cmd.Context(), f.out, entries, opts); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "book: wrote the local part of %s (%s)\n", f.out, time.Since(start).Round(time.Second))
		return nil
	}
	return usageErr(fmt.Errorf("--backend must be sim or local, got %q", f.backend))
}

// bookCalibration checks --calibration and --host-cores once, up front,
// and has the local part apply them to every scenario's plan.
func bookCalibration(cmd *cobra.Command, f bookFlags, opts *book.LocalOptions) error {
	if cmd.Flags().Changed("host-cores") && f.calib == "" {
		return usageErr(errors.New("--host-cores needs --calibration: the host model takes its CPU per request from the profile"))
	}
	if f.calib == "" {
		return nil
	}
	backends := []string{scenarios.BackendSim, scenarios.BackendLocal}
	probe := &scenarios.Plan{}
	if err := applyCalibration(probe, f.calib, f.anyCalib, backends); err != nil {
		return usageErr(fmt.Errorf("--calibration: %w", err))
	}
	warnDisturbed(cmd.ErrOrStderr(), probe)
	if cmd.Flags().Changed("host-cores") {
		if _, err := probe.WithHostCores(f.hostCores); err != nil {
			return usageErr(fmt.Errorf("--host-cores: %w", err))
		}
	}
	opts.Calibration = fmt.Sprintf("%s (measured %s)", filepath.Base(f.calib), probe.Profile.Measured.At)
	opts.Prepare = func(p *scenarios.Plan) (*scenarios.Plan, error) {
		p.Profile, p.ProfileBackend = probe.Profile, probe.ProfileBackend
		if f.hostCores > 0 {
			return p.WithHostCores(f.hostCores)
		}
		return p, nil
	}
	return nil
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/scenarios"
)

// applyCalibration loads the calibration profile the run asks for (file,
// from --calibration, or else the scenario's calibration key, relative to
// the scenario file) into the plan, for the simulator to charge. The
// simulator charges the section of the run's real backend: containers when
// the run has containers and not local, else local. A profile of another
// machine is refused unless anyMachine.
func applyCalibration(plan *scenarios.Plan, file string, anyMachine bool, backends []string) error {
	if file == "" && plan.Calibration != "" {
		file = plan.Calibration
		if !filepath.IsAbs(file) && plan.Path != "" {
			file = filepath.Join(filepath.Dir(plan.Path), file)
		}
	}
	if file == "" {
		return nil
	}
	p, err := calibration.Load(file)
	if err != nil {
		return err
	}
	if !anyMachine {
		if diff := p.Machine.Differs(calibration.ThisMachine()); len(diff) > 0 {
			return fmt.Errorf("calibration profile %s was measured on another machine (%s); measure this one with `meshbench calibrate`, or pass --calibration-any-machine to apply it anyway",
				file, strings.Join(diff, "; "))
		}
	}
	backend := calibration.BackendLocal
	if slices.Contains(backends, scenarios.BackendContainers) && !slices.Contains(backends, scenarios.BackendLocal) {
		backend = calibration.BackendContainers
	}
	if _, _, ok := p.Section(backend); !ok {
		return fmt.Errorf("calibration profile %s has no %s section: measure it with `meshbench calibrate --backend local,%s`", file, backend, backend)
	}
	plan.Profile = p
	plan.ProfileBackend = backend
	return nil
}

// warnDisturbed tells w when the profile the plan applies was measured on
// a disturbed machine (calibration.Profile.Disturbed): it is applied all
// the same, as the user asked for it.
func warnDisturbed(w io.Writer, plan *scenarios.Plan) {
	if plan.Profile == nil {
		return
	}
	if why := plan.Profile.Disturbed(); why != "" {
		fmt.Fprintf(w, "meshbench: warning: the calibration profile (measured %s) looks disturbed: %s; its predictions are likely biased: measure it again with `meshbench calibrate` on a quiet machine\n",
			plan.Profile.Measured.At, why)
	}
}

// warnBusyRuns tells w of every real run whose machine was busy with
// other work while it was measured (bench.CPU.Disturbed): its figures are
// kept, and so is every prediction's error against them, but both carry
// that work.
func warnBusyRuns(w io.Writer, sum *bench.Summary) {
	for _, r := range sum.Runs {
		if why := r.CPU.Disturbed(); why != "" {
			fmt.Fprintf(w, "meshbench: warning: %s/%s repeat %d: %s; its figures, and the predictions' errors against them, likely carry that work\n",
				r.Backend, r.Variant, r.Repeat, why)
		}
	}
}

// writeCalibration keeps the profile a run's simulator charged in the run
// folder (calibration.yaml), so that the run can be told and repeated.
func writeCalibration(dir string, plan *scenarios.Plan) error {
	if plan.Profile == nil {
		return nil
	}
	b, err := plan.Profile.Marshal()
	if err != nil {
		return fmt.Errorf("encode calibration: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calibration.yaml"), b, 0o644); err != nil {
		return fmt.Errorf("write run folder: %w", err)
	}
	return nil
}

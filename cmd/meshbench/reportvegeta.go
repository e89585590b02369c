package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/reports"
)

// reportFromVegeta summarizes the vegeta results file at file as one run of
// backend "vegeta" (load.SummarizeVegeta) into the new run folder dir, then
// renders its report there like any run's.
func reportFromVegeta(file, dir, name string, opts reports.Options) error {
	if _, err := os.Stat(filepath.Join(dir, reports.SummaryFile)); err == nil {
		return usageErr(fmt.Errorf("%s is already a run folder; give --from-vegeta a new folder to write the report into", dir))
	}
	st, err := os.Stat(file)
	if err != nil {
		return usageErr(fmt.Errorf("--from-vegeta: %w", err))
	}
	if !st.Mode().IsRegular() {
		return usageErr(fmt.Errorf("--from-vegeta %s: not a regular file (the results file is read twice)", file))
	}
	sum, err := load.SummarizeVegeta(file, load.VegetaOptions{Scenario: name})
	if err != nil {
		return usageErr(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := sum.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, reports.SummaryFile), raw, 0o644); err != nil {
		return err
	}
	if err := reports.Render(dir, opts); err != nil {
		return errors.Join(fmt.Errorf("report of %s", file), err)
	}
	return nil
}

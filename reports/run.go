package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/meshbench/meshbench/bench"
)

// The files of a run folder, as `meshbench run` writes them.
const (
	ScenarioFile    = "scenario.yaml"
	PlanFile        = "plan.json"
	SummaryFile     = "summary.json"
	EnvironmentFile = "environment.json"
	IndexFile       = "index.html"
	MarkdownFile    = "summary.md"
	JUnitFile       = "slo.xml"
	PlotsDir        = "plots"
)

// Run is a run folder read back: the summary and whatever else is there to
// describe it. Only summary.json is required; a folder copied without its
// scenario still renders, without fault windows.
type Run struct {
	// Dir is the run folder.
	Dir     string
	Summary *bench.Summary
	// Environment is nil when environment.json is absent.
	Environment *bench.Environment
	// Scenario is the exact scenario text; nil when absent.
	Scenario []byte
	// Description is the scenario's description (its first sentence is
	// Summary.Question).
	Description string
	// Timeline is the scenario's warm-up and fault windows.
	Timeline Timeline
	// Warnings say what could not be read, for the report to show.
	Warnings []string
	// timelineWarning says why Timeline is empty; Render drops it when its
	// caller supplies the timeline.
	timelineWarning string
}

// LoadRun reads the run folder dir.
func LoadRun(dir string) (*Run, error) {
	sum, err := bench.ReadSummary(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("run folder %s: %w", dir, err)
	}
	run := &Run{Dir: dir, Summary: sum}
	if raw, err := os.ReadFile(filepath.Join(dir, EnvironmentFile)); err == nil {
		var env bench.Environment
		if err := json.Unmarshal(raw, &env); err != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf("%s: %v", EnvironmentFile, err))
		} else {
			run.Environment = &env
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		run.Warnings = append(run.Warnings, err.Error())
	}
	src, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
	switch {
	case err == nil:
		run.Scenario = src
		desc, tl, err := scenarioTimeline(filepath.Join(dir, ScenarioFile), src)
		if err != nil {
			run.timelineWarning = fmt.Sprintf("fault windows not shown: %v", err)
		}
		run.Description, run.Timeline = desc, tl
	case errors.Is(err, fs.ErrNotExist):
		run.timelineWarning = "no scenario.yaml in the run folder: fault windows not shown"
	default:
		run.Warnings = append(run.Warnings, err.Error())
	}
	return run, nil
}

// SummaryPath resolves a run folder or a summary.json path to the summary
// file's path.
func SummaryPath(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		p := filepath.Join(path, SummaryFile)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s is not a run folder: %w", path, err)
		}
		return p, nil
	}
	return path, nil
}

// ReadSummary reads a summary from a run folder or a summary.json path.
func ReadSummary(path string) (*bench.Summary, error) {
	p, err := SummaryPath(path)
	if err != nil {
		return nil, err
	}
	return bench.ReadSummary(p)
}

// Timeline is what happens on a run's time axis besides the load.
type Timeline struct {
	// Warmup is the start of the run not counted in the totals.
	Warmup time.Duration
	// Duration is the scenario's timeline length (0 when unknown).
	Duration time.Duration
	Faults   []FaultWindow
}

// FaultWindow is a fault injected over [Start, End) of a run's timeline.
// An instantaneous fault has End == Start.
type FaultWindow struct {
	Start, End time.Duration
	// Label names the fault in a few words: "kill payments[0]".
	Label string
	// Target is what the fault hit, in the scenario's target syntax:
	// "payments[1]", "payments" (every replica), "zone:a", "route:pay".
	// Empty when unknown.
	Target string
}

package reports

import (
	"fmt"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// scenarioTimeline reads the description, warm-up and fault windows of a
// scenario file. The plan is loaded as `meshbench run` loads it, so the
// windows are the ones the backends injected.
func scenarioTimeline(name string, src []byte) (string, Timeline, error) {
	plan, err := scenarios.LoadBytes(name, src)
	if err != nil {
		return "", Timeline{}, fmt.Errorf("load %s: %w", name, err)
	}
	return plan.Description, PlanTimeline(plan), nil
}

// PlanTimeline returns the warm-up and fault windows of plan, with the
// scenario format's semantics: a fault without `for` lasts to the end of
// the timeline, and a restart is down for its downtime.
func PlanTimeline(plan *scenarios.Plan) Timeline {
	tl := Timeline{Warmup: plan.Warmup, Duration: plan.Duration}
	for _, f := range plan.Faults {
		end := plan.Duration
		switch {
		case f.Action == scenarios.ActionRestart:
			end = f.At + f.Downtime
		case f.For > 0:
			end = f.At + f.For
		}
		tl.Faults = append(tl.Faults, FaultWindow{Start: f.At, End: max(end, f.At), Label: faultLabel(f), Target: f.Target.String()})
	}
	return tl
}

// faultLabel names a fault in a few words, parameters first: "slow ×5
// payments[0]", "errors 20% (503) ledger", "partition zone:a ↔ zone:b".
func faultLabel(f scenarios.Fault) string {
	target := f.Target.String()
	switch f.Action {
	case scenarios.ActionSlow:
		return fmt.Sprintf("slow ×%s %s", strconv.FormatFloat(f.Factor, 'f', -1, 64), target)
	case scenarios.ActionErrors:
		status := f.Status
		if status == 0 {
			status = 503
		}
		return fmt.Sprintf("errors %s%% (%d) %s", strconv.FormatFloat(f.Rate.Float64()*100, 'f', -1, 64), status, target)
	case scenarios.ActionLatency:
		if f.Add != nil && f.Add.Type == "constant" {
			return fmt.Sprintf("latency +%s %s", f.Add.Value, target)
		}
		if f.Add != nil {
			return fmt.Sprintf("latency +%s %s", f.Add.Type, target)
		}
	case scenarios.ActionPartition:
		if f.Peer != nil {
			return fmt.Sprintf("partition %s ↔ %s", target, f.Peer.String())
		}
	case scenarios.ActionRestart:
		if f.Downtime > 0 {
			return fmt.Sprintf("restart %s (down %s)", target, f.Downtime.Round(time.Millisecond))
		}
	}
	return f.Action + " " + target
}

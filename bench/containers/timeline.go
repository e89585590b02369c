package containers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Op is what a Step does to a replica.
type Op string

// The operations of a fault timeline.
const (
	OpKill     Op = "kill"      // Docker kill (SIGKILL)
	OpStop     Op = "stop"      // Docker stop (SIGTERM, SIGKILL after stopGrace)
	OpStart    Op = "start"     // Docker start
	OpRestart  Op = "restart"   // Docker restart
	OpPause    Op = "pause"     // Docker pause (cgroup freezer)
	OpUnpause  Op = "unpause"   // Docker unpause
	OpSetFault Op = "set-fault" // POST /admin/fault with Patch
	OpCut      Op = "cut"       // the data plane cuts a partition's hops (Fleet.Partitions)
	OpRestore  Op = "restore"   // the data plane restores them
)

// Partitioner cuts and restores the network hops of the data plane in
// front of the fleet for the plan's partition fault number fault: every
// hop from the gateway or a sidecar (on the host) into a container
// between the fault's target and its peer. local.Mesh is one: it carries
// every call between replicas, so cutting its hops partitions the fleet
// as the local backend does, without a packet filter in the containers.
type Partitioner interface {
	Partition(fault int) (cut, restore func() error, err error)
}

// Step is one operation of a fault timeline on one replica.
type Step struct {
	// At is when the step runs, from the start of the run.
	At time.Duration
	// Fault is the index of the scenario fault the step belongs to.
	Fault int
	// Op is what the step does; Patch is the /admin/fault body of
	// OpSetFault.
	Op    Op
	Patch []byte
	// Replica is the target; nil for OpCut and OpRestore, which act on
	// the data plane.
	Replica *Replica

	net func() error // OpCut, OpRestore
}

// Timeline turns a plan's faults into the steps that inject and end them
// on f's replicas, sorted by time; at equal times a fault's end comes
// before another's start, so back-to-back faults hand over cleanly. The
// actions map as follows (the simulator's semantics, sim/fault.go):
//
//	kill      Docker kill at at; Docker start at at+for when for is set
//	pause     Docker pause at at; unpause at at+for when for is set
//	restart   Docker restart at at (downtime 0), or stop at at and start
//	          at at+downtime
//	slow      /admin/fault {"slow": factor}, cleared at at+for
//	errors    /admin/fault {"errorRate", "errorStatus"}, cleared at at+for
//	latency   /admin/fault {"latency": add}, cleared at at+for
//
//	partition the data plane cuts the hops between target and peer at at
//	          (toxiproxy's timeout toxic, as on the local backend; every
//	          call between containers crosses it) and restores them at
//	          at+for; refused when the fleet has no Partitions
//
// Steps at or after
// the plan's end are left out; faults left on at the end are undone by
// Heal before the audit.
func Timeline(plan *scenarios.Plan, f *Fleet) ([]Step, error) {
	type timed struct {
		Step
		end bool
	}
	var steps []timed
	var errs []error
	add := func(at time.Duration, fi int, op Op, patch []byte, reps []*Replica, end bool) {
		if at >= plan.Duration {
			return // past the end: Heal undoes what is left
		}
		for _, r := range reps {
			steps = append(steps, timed{Step{At: at, Fault: fi, Op: op, Patch: patch, Replica: r}, end})
		}
	}
	for fi, ft := range plan.Faults {
		reps := f.Targets(ft.Target)
		if len(reps) == 0 {
			errs = append(errs, fmt.Errorf("fault %d (%s %s): the target matches no replica", fi, ft.Action, ft.Target))
			continue
		}
		ends := ft.For > 0
		end := ft.At + ft.For
		switch ft.Action {
		case scenarios.ActionKill:
			add(ft.At, fi, OpKill, nil, reps, false)
			if ends {
				add(end, fi, OpStart, nil, reps, true)
			}
		case scenarios.ActionPause:
			add(ft.At, fi, OpPause, nil, reps, false)
			if ends {
				add(end, fi, OpUnpause, nil, reps, true)
			}
		case scenarios.ActionRestart:
			if ft.Downtime <= 0 {
				add(ft.At, fi, OpRestart, nil, reps, false)
			} else {
				add(ft.At, fi, OpStop, nil, reps, false)
				add(ft.At+ft.Downtime, fi, OpStart, nil, reps, true)
			}
		case scenarios.ActionSlow, scenarios.ActionErrors, scenarios.ActionLatency:
			set, clear, err := faultPatches(ft)
			if err != nil {
				errs = append(errs, fmt.Errorf("fault %d (%s %s): %w", fi, ft.Action, ft.Target, err))
				continue
			}
			add(ft.At, fi, OpSetFault, set, reps, false)
			if ends {
				add(end, fi, OpSetFault, clear, reps, true)
			}
		case scenarios.ActionPartition:
			if f.Partitions == nil {
				errs = append(errs, fmt.Errorf("fault %d (partition %s): no data plane to partition (Fleet.Partitions): a scratch image has no packet filter, so partitions cut the mesh's hops", fi, ft.Target))
				continue
			}
			cut, restore, err := f.Partitions.Partition(fi)
			if err != nil {
				errs = append(errs, fmt.Errorf("fault %d (partition %s): %w", fi, ft.Target, err))
				continue
			}
			addNet := func(at time.Duration, op Op, do func() error, end bool) {
				if at < plan.Duration {
					steps = append(steps, timed{Step{At: at, Fault: fi, Op: op, net: do}, end})
				}
			}
			addNet(ft.At, OpCut, cut, false)
			if ends {
				addNet(end, OpRestore, restore, true)
			}
		default:
			errs = append(errs, fmt.Errorf("fault %d: unknown action %q", fi, ft.Action))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(steps, func(a, b timed) int { return CompareSteps(a.At, b.At, a.end, b.end) })
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = s.Step
	}
	return out, nil
}

// faultPatches returns the /admin/fault bodies that set and clear a
// behaviour fault.
func faultPatches(ft scenarios.Fault) (set, clear []byte, err error) {
	var on, off map[string]any
	switch ft.Action {
	case scenarios.ActionSlow:
		on = map[string]any{"slow": ft.Factor}
		off = map[string]any{"slow": nil}
	case scenarios.ActionErrors:
		status := ft.Status
		if status == 0 {
			status = 503
		}
		on = map[string]any{"errorRate": float64(ft.Rate), "errorStatus": status}
		off = map[string]any{"errorRate": nil, "errorStatus": nil}
	case scenarios.ActionLatency:
		if ft.Add == nil {
			return nil, nil, fmt.Errorf("latency fault without add")
		}
		on = map[string]any{"latency": distributionJSON(*ft.Add)}
		off = map[string]any{"latency": nil}
	}
	if set, err = json.Marshal(on); err != nil {
		return nil, nil, err
	}
	clear, err = json.Marshal(off)
	return set, clear, err
}

// distributionJSON is a distribution as /admin/fault reads it: a duration
// string for a constant, the JSON object of fleet.FormatDistribution
// otherwise.
func distributionJSON(d scenarios.DistributionSpec) json.RawMessage {
	s := fleet.FormatDistribution(d)
	if d.Type == scenarios.DistConstant {
		b, _ := json.Marshal(s) // a string always marshals
		return b
	}
	return json.RawMessage(s)
}

// Apply runs one step.
func (f *Fleet) Apply(ctx context.Context, s Step) error {
	switch s.Op {
	case OpKill:
		return f.Kill(ctx, s.Replica)
	case OpStop:
		return f.Stop(ctx, s.Replica)
	case OpStart:
		return f.Start(ctx, s.Replica)
	case OpRestart:
		return f.Restart(ctx, s.Replica)
	case OpPause:
		return f.Pause(ctx, s.Replica)
	case OpUnpause:
		return f.Unpause(ctx, s.Replica)
	case OpSetFault:
		return f.SetFault(ctx, s.Replica, s.Patch)
	case OpCut, OpRestore:
		if s.net == nil {
			return fmt.Errorf("step %s of fault %d without the data plane's network", s.Op, s.Fault)
		}
		return s.net()
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

// RunTimeline runs steps, each at epoch+At on the wall clock, until they
// are done or ctx ends. Steps due at the same time run concurrently, so a
// zone's replicas fail together. A step that fails does not stop the
// others; the errors are returned together.
func (f *Fleet) RunTimeline(ctx context.Context, epoch time.Time, steps []Step) error {
	return RunSteps(ctx, epoch, steps, func(s Step) time.Duration { return s.At }, f.Apply)
}

// RunSteps runs a fault timeline: steps, sorted by at, each applied at
// epoch+at(step) on the wall clock, until they are done or ctx ends.
// Steps due at the same time are applied concurrently; a step that fails
// does not stop the others, and the errors, each prefixed with its time,
// are returned together. The containers and kubernetes backends run
// their timelines with it.
func RunSteps[S any](ctx context.Context, epoch time.Time, steps []S, at func(S) time.Duration, apply func(context.Context, S) error) error {
	var errs []error
	var mu sync.Mutex
	for i := 0; i < len(steps); {
		j := i
		for j < len(steps) && at(steps[j]) == at(steps[i]) {
			j++
		}
		if err := sleepUntil(ctx, epoch.Add(at(steps[i]))); err != nil {
			return errors.Join(errs...)
		}
		var wg sync.WaitGroup
		for _, s := range steps[i:j] {
			wg.Go(func() {
				if err := apply(ctx, s); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("at %v: %w", at(s), err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		i = j
	}
	return errors.Join(errs...)
}

// sleepUntil waits for the wall clock to reach t, or ctx to end.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CompareSteps orders a fault timeline's steps for a stable sort: by
// time, and at the same instant the ends of faults before the starts, so
// back-to-back faults hand over cleanly. The kubernetes backend's timeline
// sorts with it too.
func CompareSteps(aAt, bAt time.Duration, aEnd, bEnd bool) int {
	if aAt != bAt {
		return cmp.Compare(aAt, bAt)
	}
	switch {
	case aEnd && !bEnd:
		return -1
	case !aEnd && bEnd:
		return 1
	}
	return 0
}

// FaultPatches returns the /admin/fault bodies that set and clear a
// behaviour fault (slow, errors, latency), for the backends that send
// them to a replica another way (bench/kubernetes, through the API
// server's pod proxy).
func FaultPatches(ft scenarios.Fault) (set, clear []byte, err error) { return faultPatches(ft) }

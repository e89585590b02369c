package local

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// step is one change on the fault timeline.
type step struct {
	at    time.Duration
	order int // ties: in fault order, starts before ends
	what  string
	apply func() error
}

// timeline lists the plan's faults as steps, applied for real:
//
//	kill       the replicas crash (requests in flight reset, connections
//	           refused, the hops into them closed); with for, they start
//	           again on the same address (the ledger on the same file)
//	restart    they crash, and start again after downtime
//	pause      they hang: requests are accepted and not answered, health
//	           checks included (the fleet's hang fault), until for ends
//	slow       their service time is multiplied by factor
//	errors     rate of their answers are status
//	latency    add is added to every hop into them, on the way in (a
//	           delay toxic on the toxiproxy of each such hop)
//	partition  every hop between target and peer (or everything else)
//	           drops its traffic, held open (toxiproxy's timeout toxic)
//	abort,     the gateway's fault filter on the target route aborts
//	delay      or delays percentage of its requests (edge.go)
//
// A zone target takes every replica in the zone, and for partitions the
// gateway too when it is in the zone, as in the simulator. Steps at or
// after the end of the timeline are left out.
func (e *env) timeline() ([]step, error) {
	var steps []step
	add := func(at time.Duration, order int, what string, apply func() error) {
		if at < e.plan.Duration {
			steps = append(steps, step{at: at, order: order, what: what, apply: apply})
		}
	}
	for i, f := range e.plan.Faults {
		if f.HTTPFault() {
			e.routeFaultSteps(i, add)
			continue
		}
		if err := e.faultSteps(i, f, add); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.order - b.order
	})
	return steps, nil
}

// faultSteps adds the steps of fault i, f.
func (e *env) faultSteps(i int, f scenarios.Fault, add func(at time.Duration, order int, what string, apply func() error)) error {
	reps := e.targets(f.Target)
	if len(reps) == 0 {
		return fmt.Errorf("fault %d: target %s matches no replica", i, f.Target)
	}
	what := fmt.Sprintf("fault %d (%s %s)", i, f.Action, f.Target)
	start, end := 2*i, 2*i+1
	switch f.Action {
	case scenarios.ActionKill:
		add(f.At, start, what, func() error { return e.kill(reps) })
		if f.For > 0 {
			add(f.At+f.For, end, what+" end", func() error { return e.revive(reps) })
		}
	case scenarios.ActionRestart:
		add(f.At, start, what, func() error { return e.kill(reps) })
		add(f.At+f.Downtime, end, what+" end", func() error { return e.revive(reps) })
	case scenarios.ActionPause, scenarios.ActionSlow, scenarios.ActionErrors:
		var ff fleet.Fault
		switch f.Action {
		case scenarios.ActionPause:
			ff.Hang = true
		case scenarios.ActionSlow:
			ff.Slow = f.Factor
		case scenarios.ActionErrors:
			ff.ErrorRate, ff.ErrorStatus = float64(f.Rate), f.Status
		}
		add(f.At, start, what, func() error { return setFaults(reps, i, ff, true) })
		if f.For > 0 {
			add(f.At+f.For, end, what+" end", func() error { return setFaults(reps, i, ff, false) })
		}
	case scenarios.ActionLatency:
		on, off, err := e.latencyFault(i, f, reps)
		if err != nil {
			return err
		}
		add(f.At, start, what, on)
		if f.For > 0 {
			add(f.At+f.For, end, what+" end", off)
		}
	case scenarios.ActionPartition:
		on, off, err := e.partition(i, f)
		if err != nil {
			return err
		}
		add(f.At, start, what, on)
		if f.For > 0 {
			add(f.At+f.For, end, what+" end", off)
		}
	default:
		return fmt.Errorf("fault %d: action %q is not supported on the local backend", i, f.Action)
	}
	return nil
}

// runTimeline applies steps at their times from epoch until ctx ends. It
// goes on after a step fails and reports every failure.
func runTimeline(ctx context.Context, epoch time.Time, steps []step) error {
	var errs []error
	for _, s := range steps {
		t := time.NewTimer(time.Until(epoch.Add(s.at)))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(errs...)
		case <-t.C:
		}
		if err := s.apply(); err != nil {
			errs = append(errs, fmt.Errorf("%s at %s: %w", s.what, s.at, err))
		}
	}
	return errors.Join(errs...)
}

// targets resolves a fault target to replicas.
func (e *env) targets(t scenarios.Target) []*replica {
	var out []*replica
	for _, r := range e.plan.Topology.Replicas(t) {
		if s := e.byName[r.Service]; s != nil && r.Index < len(s.reps) {
			out = append(out, s.reps[r.Index])
		}
	}
	return out
}

// kill crashes replicas and closes the hops into them, so that callers
// are refused as by a dead process.
func (e *env) kill(reps []*replica) error {
	var errs []error
	for _, r := range reps {
		if e.net != nil {
			for _, l := range e.net.to(r) {
				l.stop()
			}
		}
		if e.reg != nil {
			e.reg.down(r.name)
		}
		errs = append(errs, r.kill())
	}
	return errors.Join(errs...)
}

// revive starts killed replicas again, fresh, on their addresses.
func (e *env) revive(reps []*replica) error {
	var errs []error
	for _, r := range reps {
		if err := r.start(); err != nil {
			errs = append(errs, err)
			continue
		}
		if e.reg != nil {
			errs = append(errs, e.reg.up(r.name))
		}
		if e.net != nil {
			for _, l := range e.net.to(r) {
				errs = append(errs, l.start())
			}
		}
	}
	return errors.Join(errs...)
}

func setFaults(reps []*replica, id int, f fleet.Fault, on bool) error {
	var errs []error
	for _, r := range reps {
		errs = append(errs, r.setFault(id, f, on))
	}
	return errors.Join(errs...)
}

// latencyFault adds f's latency to every hop into reps, on the way in,
// as the simulator adds it to every hop into the target.
func (e *env) latencyFault(id int, f scenarios.Fault, reps []*replica) (on, off func() error, err error) {
	if f.Add == nil || e.net == nil {
		return nil, nil, fmt.Errorf("fault %d: latency without add, or without a network", id)
	}
	if err := checkDelay(*f.Add); err != nil {
		return nil, nil, fmt.Errorf("fault %d: %w", id, err)
	}
	name := fmt.Sprintf("fault%d_latency", id)
	var links []*link
	for _, r := range reps {
		links = append(links, e.net.to(r)...)
	}
	on = func() error {
		var errs []error
		for _, l := range links {
			errs = append(errs, l.addToxic(delayToxicFor(name, "upstream", f.Add, 0)))
		}
		return errors.Join(errs...)
	}
	off = func() error {
		for _, l := range links {
			l.removeToxic(name)
		}
		return nil
	}
	return on, off, nil
}

// partition cuts the hops between f's target and its peer (or everything
// else) in both directions.
func (e *env) partition(id int, f scenarios.Fault) (on, off func() error, err error) {
	if e.net == nil {
		return nil, nil, fmt.Errorf("fault %d: partition without a network", id)
	}
	a := e.nodes(f.Target)
	var b map[string]bool
	if f.Peer != nil {
		b = e.nodes(*f.Peer)
	}
	inB := func(n string) bool {
		if b == nil {
			return !a[n]
		}
		return b[n]
	}
	var cut []*link
	for _, l := range e.net.links {
		if (a[l.from] && inB(l.to.name)) || (inB(l.from) && a[l.to.name]) {
			cut = append(cut, l)
		}
	}
	up, down := fmt.Sprintf("fault%d_partition_up", id), fmt.Sprintf("fault%d_partition_down", id)
	on = func() error {
		var errs []error
		for _, l := range cut {
			errs = append(errs, l.addToxic(partitionToxic(up, "upstream")), l.addToxic(partitionToxic(down, "downstream")))
		}
		return errors.Join(errs...)
	}
	off = func() error {
		for _, l := range cut {
			l.removeToxic(up)
			l.removeToxic(down)
		}
		return nil
	}
	return on, off, nil
}

// nodes is the set of network nodes a target names: its replicas, and the
// gateway for a zone target naming the gateway's zone.
func (e *env) nodes(t scenarios.Target) map[string]bool {
	set := map[string]bool{}
	for _, r := range e.targets(t) {
		set[r.name] = true
	}
	if t.Zone != "" && t.Zone == e.plan.Gateway.Zone {
		set[gatewayNode] = true
	}
	return set
}

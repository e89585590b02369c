package sim

import (
	"fmt"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/scenarios"
)

// specFromPlan resolves variant of plan, seeded with seed, into a spec.
// Plans from scenarios.Load have every default applied; specFromPlan reads
// them as they are.
func specFromPlan(p *scenarios.Plan, variant int, seed uint64) (*spec, error) {
	if variant < 0 || variant >= len(p.Variants) {
		return nil, fmt.Errorf("variant %d out of range: the plan has %d", variant, len(p.Variants))
	}
	// The variant's protocol, if any, is every service's (ForVariant is
	// the plan a job already has; applying it again changes nothing).
	p = p.ForVariant(variant)
	s := &spec{seed: seed, duration: p.Duration, gateway: gatewaySpec{zone: p.Gateway.Zone}, host: hostOf(p), hostCurve: curveOf(p)}
	var err error
	dist := func(what string, d scenarios.DistributionSpec) distribution {
		if err != nil {
			return nil
		}
		var built scenarios.Distribution
		if built, err = d.Build(); err != nil {
			err = fmt.Errorf("%s: %w", what, err)
			return nil
		}
		return built
	}

	sets := consumer.ForPlan(p.Load, seed)
	held := consumer.GatewayKeys(&p.Topology, p.Load, sets)
	for _, r := range p.Gateway.Routes {
		rs := routeSpec{
			name:    r.Name,
			service: r.Service,
			timeout: r.Timeout,
		}
		match, merr := r.Match.Compile()
		if merr != nil {
			return nil, fmt.Errorf("route %q: pathRegex: %w", r.Name, merr)
		}
		rs.match = match
		if r.Auth != nil && r.Auth.Type != scenarios.AuthNone {
			rs.auth = &authSpec{typ: r.Auth.Type, header: r.Auth.Header, keys: r.Auth.Keys, held: len(held[r.Name]) > 0}
		}
		rs.rateLimit = r.RateLimit
		rs.cache = p.Variants[variant].Policy.CacheOf(r.Name)
		if gerr := buildGuards(p, &p.Variants[variant].Policy, &rs, &r, dist); gerr != nil {
			return nil, gerr
		}
		s.gateway.routes = append(s.gateway.routes, rs)
	}

	for _, sv := range p.Services {
		ss := serviceSpec{
			name:        sv.Name,
			replicas:    sv.Replicas,
			concurrency: sv.Concurrency,
			queue:       sv.Queue,
			serviceTime: dist("service "+sv.Name+": serviceTime", sv.ServiceTime),
			errorRate:   float64(sv.ErrorRate),
			zones:       sv.Zones,
			grpc:        sv.GRPC(),
		}
		if len(ss.zones) == 0 && sv.Zone != "" {
			ss.zones = []string{sv.Zone}
		}
		if sv.Weighted() {
			ss.weights = make([]int, sv.Replicas)
			for i := range ss.weights {
				ss.weights[i] = sv.ReplicaWeight(i)
			}
		}
		ss.calls = callGroups(sv.Stages())
		for _, op := range sv.Operations {
			match, merr := op.Match.Compile()
			if merr != nil {
				return nil, fmt.Errorf("service %q: operation %q: pathRegex: %w", sv.Name, op.Name, merr)
			}
			ss.operations = append(ss.operations, operationSpec{
				name:        op.Name,
				match:       match,
				serviceTime: dist("service "+sv.Name+": operation "+op.Name+": serviceTime", op.ServiceTime),
				calls:       callGroups(op.Stages()),
			})
		}
		s.services = append(s.services, ss)
	}

	n := &p.Network
	s.network = networkSpec{latency: dist("network.latency", n.Latency), loss: float64(n.Loss)}
	if len(n.Zones) > 0 {
		s.network.zones = map[string]linkSpec{}
		for z := range n.Zones {
			h := n.Between(z, z)
			s.network.zones[z] = linkSpec{latency: dist("network.zones."+z, h.Latency), loss: h.Loss}
		}
	}
	if n.CrossZone != nil {
		h := n.Between("a", "b") // any two distinct zones
		s.network.crossZone = &linkSpec{latency: dist("network.crossZone", h.Latency), loss: h.Loss}
	}

	for i, w := range p.Load {
		ls := loadSpec{
			name:     w.Name,
			method:   w.Target.Method,
			path:     w.Target.Path,
			host:     w.Target.Host,
			headers:  w.Target.Headers,
			keySpace: w.Target.KeySpace,
			poisson:  w.Arrival != scenarios.ArrivalConstant,
			start:    w.Start,
			grpc:     w.GRPC(),
		}
		if w.For > 0 {
			ls.end = w.Start + w.For
		}
		ls.consumers = sets[i]
		switch {
		case w.Users != nil:
			ls.users = w.Users.Count
			ls.think = dist("load "+w.Name+": thinkTime", w.Users.ThinkTime)
		case w.Shape != nil:
			ls.shape = shapeFrom(w.Shape)
		default:
			ls.shape = rateShape{kind: shapeConstant, rate: float64(w.Rate)}
		}
		s.loads = append(s.loads, ls)
	}

	s.policy = p.Variants[variant].Policy

	for i, f := range p.Faults {
		fs := faultSpec{
			at:       f.At,
			dur:      f.For,
			action:   f.Action,
			target:   targetFrom(f.Target),
			factor:   f.Factor,
			rate:     float64(f.Rate),
			status:   f.Status,
			downtime: f.Downtime,
		}
		if f.Add != nil {
			fs.add = dist(fmt.Sprintf("faults[%d].add", i), *f.Add)
		}
		if f.Peer != nil {
			t := targetFrom(*f.Peer)
			fs.peer = &t
		}
		if f.HTTPFault() {
			fs.http = &p.Faults[i]
		}
		s.faults = append(s.faults, fs)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func targetFrom(t scenarios.Target) targetSpec {
	return targetSpec{service: t.Service, index: t.Replica, zone: t.Zone}
}

func shapeFrom(sh *scenarios.Shape) rateShape {
	switch sh.Type {
	case scenarios.ShapeRamp:
		return rateShape{kind: shapeRamp, from: float64(sh.From), to: float64(sh.To)}
	case scenarios.ShapeStep:
		rs := rateShape{kind: shapeStep}
		for _, st := range sh.Steps {
			rs.steps = append(rs.steps, rateStep{at: st.At, rate: float64(st.Rate)})
		}
		return rs
	case scenarios.ShapeSine:
		return rateShape{kind: shapeSine, mean: float64(sh.Mean), amplitude: float64(sh.Amplitude), period: sh.Period}
	}
	return rateShape{kind: shapeConstant, rate: float64(sh.Rate)}
}

// callGroups names the callees of each stage of calls.
func callGroups(stages [][]scenarios.Call) [][]string {
	var groups [][]string
	for _, stage := range stages {
		var grp []string
		for _, c := range stage {
			grp = append(grp, c.Service)
		}
		groups = append(groups, grp)
	}
	return groups
}

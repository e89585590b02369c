package sim

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/health"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
	"github.com/meshbench/meshbench/scenarios"
)

// hedgeFallbackDelay is the hedging delay used in percentile mode until the
// hedger has seen enough latencies: a scenario's hedging block names either
// a delay or a percentile, and retry.Hedger needs a positive fallback.
const hedgeFallbackDelay = 50 * time.Millisecond

// noTimeout stands for "no limit" (a timeout written as 0): far beyond any
// run, yet safe to add to a virtual time.
const noTimeout = time.Duration(1 << 60)

// specFromPlan resolves variant of plan, seeded with seed, into a spec.
// Plans from scenarios.Load have every default applied; specFromPlan reads
// them as they are.
func specFromPlan(p *scenarios.Plan, variant int, seed uint64) (*spec, error) {
	if variant < 0 || variant >= len(p.Variants) {
		return nil, fmt.Errorf("variant %d out of range: the plan has %d", variant, len(p.Variants))
	}
	s := &spec{seed: seed, duration: p.Duration, gateway: gatewaySpec{zone: p.Gateway.Zone}}
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
			rs.auth = &authSpec{typ: r.Auth.Type, header: r.Auth.Header, keys: r.Auth.Keys}
		}
		if r.RateLimit != nil {
			rs.rateLimit = rateLimitFrom(r.RateLimit)
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
		}
		if len(ss.zones) == 0 && sv.Zone != "" {
			ss.zones = []string{sv.Zone}
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

	for _, w := range p.Load {
		ls := loadSpec{
			name:     w.Name,
			method:   w.Target.Method,
			path:     w.Target.Path,
			host:     w.Target.Host,
			headers:  w.Target.Headers,
			keySpace: w.Target.KeySpace,
			poisson:  w.Arrival != scenarios.ArrivalConstant,
			start:    w.Start,
		}
		if w.For > 0 {
			ls.end = w.Start + w.For
		}
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

	if s.policy, err = policyFrom(&p.Variants[variant].Policy); err != nil {
		return nil, fmt.Errorf("variant %q: %w", p.Variants[variant].Name, err)
	}

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

func rateLimitFrom(r *scenarios.RateLimit) *rateLimitSpec {
	return &rateLimitSpec{
		key: r.Key,
		cfg: ratelimit.Config{
			Type:     r.Type,
			Rate:     float64(r.Rate),
			Burst:    r.Burst,
			Window:   r.Window,
			Limit:    r.Limit,
			MinLimit: r.MinLimit,
			MaxLimit: r.MaxLimit,
		},
	}
}

// orNone maps a scenario's "0 turns it off" to the outlier package's
// explicit zero.
func orNone(n int) int {
	if n == 0 {
		return outlier.None
	}
	return n
}

// policyFrom translates a merged scenario policy into the policy packages'
// configurations.
func policyFrom(p *scenarios.Policy) (policySpec, error) {
	b := p.Balancer
	ps := policySpec{
		balancer: balancer.Config{
			Type:        b.Type,
			Choices:     b.Choices,
			DecayTime:   b.DecayTime,
			MinRingSize: b.MinRingSize,
			MaxRingSize: b.MaxRingSize,
			TableSize:   b.TableSize,
			SlowStart: balancer.SlowStart{
				Window:           b.SlowStart.Window,
				Aggression:       b.SlowStart.Aggression,
				MinWeightPercent: b.SlowStart.MinWeightPercent,
			},
			Locality: balancer.Locality{
				Enabled:                b.Locality.Enabled,
				OverprovisioningFactor: b.Locality.OverprovisioningFactor,
			},
		},
		hashKey:        balancer.HashKey{Header: b.HashKey.Header, Cookie: b.HashKey.Cookie, SourceIP: b.HashKey.SourceIP},
		connectTimeout: p.Timeouts.Connect,
		perTryTimeout:  p.PerTryTimeout(),
		requestTimeout: p.Timeouts.Request,
	}
	if ps.requestTimeout == 0 {
		ps.requestTimeout = noTimeout
	}
	if r := p.Retries; r != nil {
		ps.retry = &retry.Policy{
			Attempts:             r.Attempts,
			RetryOn:              r.RetryOn,
			RetriableStatusCodes: r.RetriableStatusCodes,
			PerTryTimeout:        p.PerTryTimeout(),
			Backoff:              retry.Backoff{Base: r.Backoff.Base, Max: r.Backoff.Max},
		}
		if err := ps.retry.Validate(); err != nil {
			return ps, fmt.Errorf("retries: %w", err)
		}
		if bu := r.Budget; bu != nil {
			ps.budget = &retry.BudgetConfig{Ratio: float64(bu.Ratio), MinPerSecond: bu.MinPerSecond, TTL: bu.TTL}
		}
		if h := r.Hedging; h != nil {
			hc := retry.HedgeConfig{Delay: h.Delay, MaxHedges: h.MaxHedges}
			if h.Percentile > 0 {
				hc.Percentile = 100 * float64(h.Percentile)
				if hc.Delay <= 0 {
					hc.Delay = hedgeFallbackDelay
				}
			}
			ps.hedge = &hc
		}
	}
	if cb := p.CircuitBreaker; cb != nil {
		ps.breaker = &breaker.Config{
			FailureRatio:        float64(cb.FailureRatio),
			MinRequests:         cb.MinRequests,
			ConsecutiveFailures: cb.ConsecutiveFailures,
			Window:              cb.Window,
			Buckets:             cb.Buckets,
			SleepWindow:         cb.SleepWindow,
			HalfOpenProbes:      cb.HalfOpenProbes,
		}
		ps.thresholds = &breaker.Thresholds{
			MaxConnections: cb.MaxConnections,
			MaxPending:     cb.MaxPending,
			MaxRequests:    cb.MaxRequests,
			MaxRetries:     cb.MaxRetries,
		}
	}
	if od := p.OutlierDetection; od != nil {
		oc := &outlier.Config{
			Interval:                  od.Interval,
			BaseEjectionTime:          od.BaseEjectionTime,
			MaxEjectionTime:           od.MaxEjectionTime,
			MaxEjectionPercent:        orNone(od.MaxEjectionPercent),
			Consecutive5xx:            orNone(od.Consecutive5xx),
			ConsecutiveGatewayFailure: orNone(od.ConsecutiveGatewayFailure),
			// The scenario's blocks are on when present and off when absent.
			SuccessRate:       outlier.SuccessRate{Enforcing: outlier.None},
			FailurePercentage: outlier.FailurePercentage{Enforcing: outlier.None},
		}
		if od.ConsecutiveGatewayFailure > 0 {
			oc.EnforcingConsecutiveGatewayFailure = 100
		}
		if sr := od.SuccessRate; sr != nil {
			oc.SuccessRate = outlier.SuccessRate{
				StdevFactor:   sr.StdevFactor,
				MinimumHosts:  sr.MinimumHosts,
				RequestVolume: sr.RequestVolume,
				Enforcing:     100,
			}
		}
		if fp := od.FailurePercentage; fp != nil {
			oc.FailurePercentage = outlier.FailurePercentage{
				Threshold:     fp.Threshold,
				MinimumHosts:  fp.MinimumHosts,
				RequestVolume: fp.RequestVolume,
				Enforcing:     100,
			}
		}
		if err := oc.Validate(); err != nil {
			return ps, fmt.Errorf("outlierDetection: %w", err)
		}
		ps.outlier = oc
	}
	if rl := p.RateLimit; rl != nil {
		ps.rateLimit = rateLimitFrom(rl)
	}
	if hc := p.HealthCheck; hc != nil {
		ps.health = &health.Config{
			Interval:           hc.Interval,
			Timeout:            hc.Timeout,
			Jitter:             float64(hc.Jitter),
			HealthyThreshold:   hc.HealthyThreshold,
			UnhealthyThreshold: hc.UnhealthyThreshold,
			Path:               hc.Path,
			StartHealthy:       true,
		}
	}
	return ps, nil
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

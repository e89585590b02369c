package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Validation of what happens during a run: workloads, faults and SLOs.

func (v *validator) workloads() {
	s := v.s
	for i, w := range s.Load {
		path := fmt.Sprintf("load[%d]", i)
		kinds := 0
		for _, k := range []string{"rate", "shape", "users"} {
			if v.d.has(path + "." + k) {
				kinds++
			}
		}
		switch {
		case kinds == 0 && v.ok(path+".rate", path+".shape", path+".users"):
			v.errorf(path, "give the load as rate, shape or users")
		case kinds > 1:
			v.errorf(path, "give one of rate, shape and users, not several")
		}
		if w.Users != nil && v.d.has(path+".arrival") {
			v.errorf(path+".arrival", "arrival applies to open-loop load (rate or shape), not to users")
		}
		if v.d.has(path+".rate") && kinds == 1 && w.Shape != nil && w.Shape.Rate <= 0 {
			v.errorf(path+".rate", "must be greater than 0")
		}
		if v.ok("duration", path+".start", path+".for") && s.Duration > 0 {
			switch {
			case w.Start >= s.Duration:
				v.errorf(path+".start", "starts at %s, at or after the end of the scenario (%s)", w.Start, s.Duration)
			case w.For <= 0:
				v.errorf(path+".for", "must be greater than 0")
			case w.Start+w.For > s.Duration:
				v.errorf(path+".for", "ends at %s, after the end of the scenario (%s)", w.Start+w.For, s.Duration)
			}
		}
		if w.Shape != nil && v.d.has(path+".shape") {
			v.shape(path+".shape", w.Shape, w.For)
		}
		v.target(path+".target", w.Target)
	}
}

func (v *validator) shape(path string, sh *Shape, window time.Duration) {
	params, known := shapeParams[sh.Type]
	if !known {
		return
	}
	for _, k := range []string{"rate", "from", "to", "steps", "mean", "amplitude", "period"} {
		p := path + "." + k
		if v.d.has(p) && !slices.Contains(params, k) {
			v.errorf(p, "%q is not a parameter of a %s shape (parameters: %s)", k, sh.Type, strings.Join(params, ", "))
		}
	}
	for _, k := range params {
		if !v.d.has(path+"."+k) && v.ok(path+"."+k) {
			v.errorf(path, "a %s shape needs %q", sh.Type, k)
		}
	}
	switch sh.Type {
	case ShapeConstant:
		if v.d.has(path+".rate") && sh.Rate <= 0 {
			v.errorf(path+".rate", "must be greater than 0")
		}
	case ShapeStep:
		if v.d.has(path+".steps") && len(sh.Steps) == 0 {
			v.errorf(path+".steps", "needs at least one step")
		}
		for j, st := range sh.Steps {
			sp := fmt.Sprintf("%s.steps[%d].at", path, j)
			if j > 0 && st.At <= sh.Steps[j-1].At && v.ok(sp) {
				v.errorf(sp, "steps must be in time order (%s after %s)", st.At, sh.Steps[j-1].At)
			}
			if window > 0 && st.At >= window {
				v.errorf(sp, "at %s is at or after the end of the load's window (%s)", st.At, window)
			}
		}
	case ShapeSine:
		if sh.Amplitude > sh.Mean {
			v.errorf(path+".amplitude", "amplitude (%s) exceeds the mean (%s): the rate would go negative", sh.Amplitude, sh.Mean)
		}
		if v.d.has(path+".period") && sh.Period <= 0 {
			v.errorf(path+".period", "must be greater than 0")
		}
	}
}

// target checks that a workload's request matches a route of the gateway.
func (v *validator) target(path string, r Request) {
	if r.Path == "" || len(v.s.Gateway.Routes) == 0 {
		return
	}
	for _, route := range v.s.Gateway.Routes {
		if route.Match.matches(r) {
			return
		}
	}
	routes := names(v.s.Gateway.Routes, func(r Route) string { return r.Name })
	v.errorf(path, "%s %s matches no gateway route (routes: %s)", r.Method, r.Path, strings.Join(routes, ", "))
}

func (v *validator) faults() {
	s := v.s
	for i, f := range s.Faults {
		path := fmt.Sprintf("faults[%d]", i)
		if v.ok("duration", path+".at") && s.Duration > 0 && f.At >= s.Duration {
			v.errorf(path+".at", "at %s is at or after the end of the scenario (%s)", f.At, s.Duration)
		} else if v.ok("duration", path+".at", path+".for") && s.Duration > 0 && f.At+f.For > s.Duration {
			v.errorf(path+".for", "ends at %s, after the end of the scenario (%s)", f.At+f.For, s.Duration)
		}
		params, known := faultParams[f.Action]
		if !known {
			continue
		}
		for _, k := range []string{"factor", "rate", "status", "add", "peer", "downtime"} {
			if v.d.has(path+"."+k) && !slices.Contains(params, k) {
				v.errorf(path+"."+k, "%q does not apply to action %s%s", k, f.Action, paramsNote(params))
			}
		}
		switch f.Action {
		case ActionSlow:
			if !v.d.has(path+".factor") && v.ok(path+".factor") {
				v.errorf(path, "action slow needs \"factor\" (service time multiplier, e.g. 10)")
			}
		case ActionErrors:
			if !v.d.has(path + ".rate") {
				v.errorf(path, "action errors needs \"rate\" (the fraction of requests that fail, e.g. 0.3)")
			} else if f.Rate <= 0 {
				v.errorf(path+".rate", "must be greater than 0")
			}
		case ActionLatency:
			if f.Add == nil && v.ok(path+".add") {
				v.errorf(path, "action latency needs \"add\" (a distribution)")
			}
		case ActionPartition:
			if f.Peer == nil && v.ok(path+".peer") {
				v.errorf(path, "action partition needs \"peer\" (the other side, in target syntax)")
			} else if f.Peer != nil {
				v.targetMatches(path+".peer", *f.Peer)
			}
		case ActionRestart:
			if v.d.has(path + ".for") {
				v.errorf(path+".for", "a restart is an event, not a period: use downtime")
			}
		}
		if v.d.has(path + ".target") {
			v.targetMatches(path+".target", f.Target)
		}
	}
}

func paramsNote(params []string) string {
	if len(params) == 0 {
		return " (it takes no parameters)"
	}
	return " (its parameters: " + strings.Join(params, ", ") + ")"
}

// targetMatches reports a fault target that selects no replica.
func (v *validator) targetMatches(path string, t Target) {
	if !v.ok(path) {
		return
	}
	if t.Zone != "" {
		zones := v.s.Zones()
		switch {
		case len(zones) == 0:
			v.errorf(path, "zone %q matches no replica: no service names a zone", t.Zone)
		case len(v.s.Replicas(t)) == 0:
			v.errorf(path, "zone %q matches no replica%s", t.Zone, hintOrList(t.Zone, zones))
		}
		return
	}
	svc, ok := v.s.Service(t.Service)
	if !ok {
		v.errorf(path, "unknown service %q%s", t.Service, hintOrList(t.Service, v.serviceNames()))
		return
	}
	if t.Replica != AllReplicas && t.Replica >= svc.Replicas && svc.Replicas > 0 {
		v.errorf(path, "replica index %d out of range: %s has %d replica(s), indexed 0 to %d", t.Replica, svc.Name, svc.Replicas, svc.Replicas-1)
	}
}

func (v *validator) slos() {
	variants := names(v.s.Variants, func(x Variant) string { return x.Name })
	for i, slo := range v.s.SLO {
		path := fmt.Sprintf("slo[%d]", i)
		switch {
		case slo.Max != nil && slo.Min != nil:
			v.errorf(path, "give max or min, not both")
		case slo.Max == nil && slo.Min == nil && v.ok(path+".max", path+".min"):
			v.errorf(path, "give a bound: max or min")
		}
		want, known := metricKind[slo.Metric]
		for _, b := range []struct {
			key string
			t   *Threshold
		}{{"max", slo.Max}, {"min", slo.Min}} {
			if b.t == nil || !known || b.t.Kind == want {
				continue
			}
			v.errorf(path+"."+b.key, "%s needs %s, got %s %s", slo.Metric, thresholdExample[want], b.t.Kind, b.t)
		}
		if slo.Variant != "" && !slices.Contains(variants, slo.Variant) {
			v.errorf(path+".variant", "unknown variant %q%s", slo.Variant, hintOrList(slo.Variant, variants))
		}
		backends := []string{BackendSim, BackendLocal, BackendContainers}
		if slo.Backend != "" && !slices.Contains(backends, slo.Backend) {
			v.errorf(path+".backend", "unknown backend %q%s", slo.Backend, hintOrList(slo.Backend, backends))
		}
	}
}

var thresholdExample = map[ThresholdKind]string{
	ThresholdDuration: `a duration such as "250ms"`,
	ThresholdFraction: `a fraction such as 0.999 or "99.9%"`,
	ThresholdRate:     `a rate such as "400/s"`,
}

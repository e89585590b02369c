package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validation of what happens during a run: workloads, faults and SLOs.

// workloadKeys locates the keys of one workload being checked, by key
// path relative to the workload ("rate", "shape.steps[1].at"; "" is the
// workload itself): whether the key counts as written, whether its value
// failed to decode, and where an issue about it goes.
type workloadKeys struct {
	has    func(rel string) bool
	failed func(rel string) bool
	report reportFunc
}

// relPath joins a key path relative to a block to the block's path.
func relPath(path, rel string) string {
	if rel == "" {
		return path
	}
	return joinPath(path, rel)
}

func (v *validator) workloads() {
	for i, w := range v.s.Load {
		v.checkWorkload(w, v.scenarioLoadKeys(i, v.errorf))
	}
	v.variantLoads()
}

// scenarioLoadKeys are the keys of the scenario's workload i, reporting
// with errorf.
func (v *validator) scenarioLoadKeys(i int, errorf func(path, format string, args ...any)) workloadKeys {
	path := fmt.Sprintf("load[%d]", i)
	return workloadKeys{
		has:    func(rel string) bool { return v.d.has(relPath(path, rel)) },
		failed: func(rel string) bool { return v.failed(relPath(path, rel)) },
		report: func(rel, format string, args ...any) { errorf(relPath(path, rel), format, args...) },
	}
}

// variantLoads checks each variant's load overrides: the workload they
// name exists, they do not rename it, and the merged workload is as valid
// as a workload of the scenario. An issue of the merged workload is
// reported at the override, unless the scenario's workload has it too: it
// is then reported there once, and not again for each variant.
func (v *validator) variantLoads() {
	loads := names(v.s.Load, func(w Workload) string { return w.Name })
	for i, x := range v.s.Variants {
		for _, name := range slices.Sorted(maps.Keys(x.Load)) {
			path := variantLoadPath(i, name)
			j := slices.Index(loads, name)
			if j < 0 {
				v.d.errorf(path, "unknown load %q%s", name, hintOrList(name, loads))
				continue
			}
			w := x.Load[name]
			if v.d.has(path+".name") && w.Name != name && !v.failed(path+".name") {
				v.errorf(path+".name", "a variant cannot rename a load: this entry overrides %q", name)
			}
			// What the scenario's workload is told, by key and message.
			base := fmt.Sprintf("load[%d]", j)
			inherited := map[string]bool{}
			v.checkWorkload(v.s.Load[j], v.scenarioLoadKeys(j, func(path, format string, args ...any) {
				inherited[path+"\x00"+fmt.Sprintf(format, args...)] = true
			}))
			keys := v.overrideKeys(path, base)
			report := keys.report
			keys.report = func(rel, format string, args ...any) {
				if msg := fmt.Sprintf(format, args...); !inherited[relPath(base, rel)+"\x00"+msg] {
					report(rel, "%s", msg)
				}
			}
			v.checkWorkload(w, keys)
		}
	}
}

// overrideKeys are the keys of a merged workload: those the override at
// path writes, and those of the scenario's workload at base that it does
// not replace (writing rate, shape or users replaces all three, and users
// replaces arrival). Issues go to the override's keys.
func (v *validator) overrideKeys(path, base string) workloadKeys {
	replaced := func(rel string) bool {
		top := rel
		if i := strings.IndexAny(rel, ".["); i >= 0 {
			top = rel[:i]
		}
		switch top {
		case "rate", "shape", "users":
			return slices.ContainsFunc(loadKinds, func(k string) bool { return v.d.has(path + "." + k) })
		case "arrival":
			return v.d.has(path + ".users")
		}
		return false
	}
	return workloadKeys{
		has: func(rel string) bool {
			return v.d.has(relPath(path, rel)) || (!replaced(rel) && v.d.has(relPath(base, rel)))
		},
		failed: func(rel string) bool {
			return v.failed(relPath(path, rel)) || (!replaced(rel) && v.failed(relPath(base, rel)))
		},
		report: func(rel, format string, args ...any) { v.errorf(relPath(path, rel), format, args...) },
	}
}

// checkWorkload checks one workload: its kind, its window on the timeline,
// its shape and its target.
func (v *validator) checkWorkload(w Workload, k workloadKeys) {
	s := v.s
	kinds := 0
	for _, kind := range loadKinds {
		if k.has(kind) {
			kinds++
		}
	}
	switch {
	case kinds == 0 && !k.failed("rate") && !k.failed("shape") && !k.failed("users"):
		k.report("", "give the load as rate, shape or users")
	case kinds > 1:
		k.report("", "give one of rate, shape and users, not several")
	}
	if w.Users != nil && k.has("arrival") {
		k.report("arrival", "arrival applies to open-loop load (rate or shape), not to users")
	}
	if w.Users != nil && w.Users.Count < 1 && !k.failed("users") {
		k.report("users", "closed-loop users need \"count\" (at least 1)")
	}
	if k.has("rate") && kinds == 1 && w.Shape != nil && w.Shape.Rate <= 0 {
		k.report("rate", "must be greater than 0")
	}
	if v.ok("duration") && !k.failed("start") && !k.failed("for") && s.Duration > 0 {
		switch {
		case w.Start >= s.Duration:
			k.report("start", "starts at %s, at or after the end of the scenario (%s)", w.Start, s.Duration)
		case w.For <= 0:
			k.report("for", "must be greater than 0")
		case w.Start+w.For > s.Duration:
			k.report("for", "ends at %s, after the end of the scenario (%s)", w.Start+w.For, s.Duration)
		}
	}
	if w.Shape != nil && k.has("shape") {
		v.shape(w.Shape, w.For, k)
	}
	v.target(w.Target, k)
	v.consumers(w, k)
}

// shape checks a workload's shape: its type's parameters and their values.
func (v *validator) shape(sh *Shape, window time.Duration, k workloadKeys) {
	params, known := shapeParams[sh.Type]
	if !known {
		return
	}
	for _, p := range []string{"rate", "from", "to", "steps", "mean", "amplitude", "period"} {
		if k.has("shape."+p) && !slices.Contains(params, p) {
			k.report("shape."+p, "%q is not a parameter of a %s shape (parameters: %s)", p, sh.Type, strings.Join(params, ", "))
		}
	}
	for _, p := range params {
		if !k.has("shape."+p) && !k.failed("shape."+p) {
			k.report("shape", "a %s shape needs %q", sh.Type, p)
		}
	}
	switch sh.Type {
	case ShapeConstant:
		if k.has("shape.rate") && sh.Rate <= 0 {
			k.report("shape.rate", "must be greater than 0")
		}
	case ShapeStep:
		if k.has("shape.steps") && len(sh.Steps) == 0 {
			k.report("shape.steps", "needs at least one step")
		}
		for j, st := range sh.Steps {
			at := fmt.Sprintf("shape.steps[%d].at", j)
			if j > 0 && st.At <= sh.Steps[j-1].At && !k.failed(at) {
				k.report(at, "steps must be in time order (%s after %s)", st.At, sh.Steps[j-1].At)
			}
			if window > 0 && st.At >= window {
				k.report(at, "at %s is at or after the end of the load's window (%s)", st.At, window)
			}
		}
	case ShapeSine:
		if sh.Amplitude > sh.Mean {
			k.report("shape.amplitude", "amplitude (%s) exceeds the mean (%s): the rate would go negative", sh.Amplitude, sh.Mean)
		}
		if k.has("shape.period") && sh.Period <= 0 {
			k.report("shape.period", "must be greater than 0")
		}
	}
}

// target checks that a workload's request matches a route of the gateway;
// a path with PaymentPlaceholder must match one as written (the simulator
// sends it so) and with a payment id in place (the real backends do).
func (v *validator) target(r Request, k workloadKeys) {
	if r.Path == "" || len(v.s.Gateway.Routes) == 0 {
		return
	}
	routes := names(v.s.Gateway.Routes, func(r Route) string { return r.Name })
	if !v.routed(r) {
		k.report("target", "%s %s matches no gateway route (routes: %s)", r.Method, r.Path, strings.Join(routes, ", "))
		return
	}
	if strings.Contains(r.Path, PaymentPlaceholder) {
		withID := r
		withID.Path = strings.ReplaceAll(r.Path, PaymentPlaceholder, examplePaymentID)
		if !v.routed(withID) {
			k.report("target", "%s %s matches no gateway route once %s is a payment id such as %s (routes: %s)",
				r.Method, r.Path, PaymentPlaceholder, examplePaymentID, strings.Join(routes, ", "))
		}
		// The simulator picks a service's operation by the path as
		// written, the real backends by the path with an id: both must
		// pick the same one.
		for i := range v.s.Services {
			svc := &v.s.Services[i]
			asWritten, withAnID := operationName(svc.OperationFor(r)), operationName(svc.OperationFor(withID))
			if asWritten != withAnID {
				k.report("target", "%s %s gets %s of service %s as written (the simulator sends it so) but %s once %s is a payment id such as %s (the real backends): make the operation's match take both",
					r.Method, r.Path, asWritten, svc.Name, withAnID, PaymentPlaceholder, examplePaymentID)
			}
		}
	}
}

// operationName names an operation in messages; nil is the service's own
// work.
func operationName(o *Operation) string {
	if o == nil {
		return "the default work"
	}
	return "operation " + strconv.Quote(o.Name)
}

// routed reports whether some route of the gateway matches r.
func (v *validator) routed(r Request) bool {
	for _, route := range v.s.Gateway.Routes {
		if mt, err := route.Match.Compile(); err == nil && mt.Matches(r) {
			return true
		}
	}
	return false
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
		for _, k := range []string{"factor", "rate", "status", "add", "peer", "downtime", "percentage", "delay"} {
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
		if v.httpFault(path, i, f) {
			continue
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
	if t.Route != "" {
		v.errorf(path, "a route target (%s) applies to the gateway's HTTP faults abort and delay only", t)
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
	workloads := names(v.s.Load, func(w Workload) string { return w.Name })
	for i, slo := range v.s.SLO {
		path := fmt.Sprintf("slo[%d]", i)
		switch {
		case slo.Max != nil && slo.Min != nil:
			v.errorf(path, "give max or min, not both")
		case slo.Max == nil && slo.Min == nil && v.ok(path+".max", path+".min"):
			v.errorf(path, "give a bound: max or min")
		}
		want, known := metricKind[slo.Metric]
		v.unitlessBounds(path, slo.Metric)
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
		if slo.Workload != "" && !slices.Contains(workloads, slo.Workload) {
			v.errorf(path+".workload", "unknown workload %q%s", slo.Workload, hintOrList(slo.Workload, workloads))
		}
	}
}

var thresholdExample = map[ThresholdKind]string{
	ThresholdDuration: `a duration such as "250ms"`,
	ThresholdFraction: `a fraction such as 0.999 or "99.9%"`,
	ThresholdRate:     `a rate such as "400/s"`,
}

// unitlessBounds rewrites the message of an SLO bound written as a number
// in a string ("99.9") or as a number that is not a fraction (250), which
// decoding could not place, to name the unit
// the SLO's metric needs: "99.9%" for availability, "99.9ms" for p99.
func (v *validator) unitlessBounds(path, metric string) {
	if _, known := metricKind[metric]; !known {
		return
	}
	for _, key := range []string{"max", "min"} {
		bp := path + "." + key
		s := scalarOf(v.d.nodes[bp])
		written := s.kind == kindString && isBareNumber(s.text)
		number := (s.kind == kindInt || s.kind == kindFloat) && v.failed(bp)
		if !written && !number {
			continue
		}
		for i := range v.d.issues {
			if v.d.issues[i].Path == bp {
				shown := s.text
				if written {
					shown = strconv.Quote(s.text)
				}
				v.d.issues[i].Msg = fmt.Sprintf("%s has no unit: %s", shown, thresholdHint(metric, s.text))
			}
		}
	}
}

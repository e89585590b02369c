package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// validate checks what decoding cannot: relations between values (warmup
// before the end, p99 above the median), references (calls, routes, fault
// targets, SLO variants) and the call graph. A value that already failed to
// decode is not checked again, so one mistake gives one message.
func validate(d *decoder, s *Scenario) {
	v := &validator{d: d, s: s}
	v.timeline()
	v.uniqueNames()
	v.topology()
	v.consumerGroups()
	v.weights()
	v.labels()
	v.calls()
	v.operations()
	v.network()
	v.workloads()
	v.consumerBackends()
	v.protocols()
	v.policies()
	v.security()
	v.faults()
	v.slos()
	v.backends()
}

type validator struct {
	d *decoder
	s *Scenario
}

// errorf reports an issue at path unless path already failed to decode.
func (v *validator) errorf(path, format string, args ...any) {
	if v.failed(path) {
		return
	}
	v.d.errorf(path, format, args...)
}

// failed reports whether the value at path, or one inside it, failed to
// decode (or is a missing required key): checking it would only repeat
// that message in other words.
func (v *validator) failed(path string) bool {
	for p := range v.d.bad {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// ok reports whether none of paths failed to decode.
func (v *validator) ok(paths ...string) bool {
	for _, p := range paths {
		if v.failed(p) {
			return false
		}
	}
	return true
}

func (v *validator) timeline() {
	s := v.s
	if v.ok("duration") && s.Duration <= 0 {
		v.errorf("duration", "must be greater than 0")
	}
	if v.ok("duration", "warmup") && s.Duration > 0 && s.Warmup >= s.Duration {
		v.errorf("warmup", "warmup (%s) must be shorter than duration (%s)", s.Warmup, s.Duration)
	}
}

// uniqueNames reports the second and later uses of a name in each list.
func (v *validator) uniqueNames() {
	unique := func(list string, names []string) {
		seen := map[string]int{}
		for i, n := range names {
			if n == "" {
				continue
			}
			if first, dup := seen[n]; dup {
				v.errorf(fmt.Sprintf("%s[%d].name", list, i), "duplicate name %q (first used by %s[%d])", n, list, first)
				continue
			}
			seen[n] = i
		}
	}
	unique("topology.services", names(v.s.Services, func(s Service) string { return s.Name }))
	for i, svc := range v.s.Services {
		unique(fmt.Sprintf("topology.services[%d].operations", i), names(svc.Operations, func(o Operation) string { return o.Name }))
	}
	unique("topology.gateway.routes", names(v.s.Gateway.Routes, func(r Route) string { return r.Name }))
	unique("load", names(v.s.Load, func(w Workload) string { return w.Name }))
	if v.d.has("variants") {
		unique("variants", names(v.s.Variants, func(x Variant) string { return x.Name }))
	}
	seen := map[string]bool{}
	for i, b := range v.s.Backends {
		if seen[b] {
			v.errorf(fmt.Sprintf("backends[%d]", i), "duplicate backend %q", b)
		}
		seen[b] = true
	}
}

func names[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = name(x)
	}
	return out
}

func (v *validator) serviceNames() []string {
	return names(v.s.Services, func(s Service) string { return s.Name })
}

// serviceRef checks a reference to a service by name.
func (v *validator) serviceRef(path, name string) bool {
	if name == "" {
		return false
	}
	if _, ok := v.s.Service(name); !ok {
		v.errorf(path, "unknown service %q%s", name, hintOrList(name, v.serviceNames()))
		return false
	}
	return true
}

func (v *validator) topology() {
	for i, svc := range v.s.Services {
		path := fmt.Sprintf("topology.services[%d]", i)
		if svc.Zone != "" && len(svc.Zones) > 0 {
			v.errorf(path+".zones", "give zone or zones, not both")
		}
		seen := map[string]bool{}
		for j, z := range svc.Zones {
			if seen[z] {
				v.errorf(fmt.Sprintf("%s.zones[%d]", path, j), "zone %q is listed twice", z)
			}
			seen[z] = true
		}
	}
	for i, r := range v.s.Gateway.Routes {
		path := fmt.Sprintf("topology.gateway.routes[%d]", i)
		v.serviceRef(path+".service", r.Service)
		v.match(path+".match", r.Match)
		if r.Auth != nil {
			v.auth(path+".auth", r.Auth)
			v.introspection(path+".auth", r.Auth)
		}
		v.routeAccess(path, r)
		if r.RateLimit != nil {
			checkRateLimit(r.RateLimit, func(rel, format string, args ...any) {
				v.errorf(joinPath(path+".rateLimit", rel), format, args...)
			})
		}
	}
}

func (v *validator) match(path string, m Match) {
	set := 0
	for _, s := range []string{m.Path, m.PathPrefix, m.PathRegex} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		v.errorf(path, "give one of path, pathPrefix and pathRegex")
	}
	for key, p := range map[string]string{"path": m.Path, "pathPrefix": m.PathPrefix} {
		if p != "" && !strings.HasPrefix(p, "/") {
			v.errorf(path+"."+key, "must start with \"/\", got %q", p)
		}
	}
	if m.PathRegex != "" {
		if _, err := compileMatch(m.PathRegex); err != nil {
			v.errorf(path+".pathRegex", "invalid regular expression: %v", err)
		}
	}
}

func (v *validator) auth(path string, a *Auth) {
	if !a.Bearer() && (a.Issuer != "" || a.Audience != "") {
		v.errorf(path, "issuer and audience apply to auth types jwt and introspection, not %s", a.Type)
	}
	if a.Type != AuthAPIKey && (a.Header != "" || len(a.Keys) > 0) {
		v.errorf(path, "header and keys apply to auth type apiKey, not %s", a.Type)
	}
}

// calls checks call targets and looks for cycles in the call graph, which
// would make a request recurse forever. An operation's calls are edges of
// the graph as the service's own are: a request that enters through an
// operation and comes back to its service is refused too.
func (v *validator) calls() {
	index := map[string]int{}
	for i, s := range v.s.Services {
		if _, dup := index[s.Name]; !dup {
			index[s.Name] = i
		}
	}
	type edge struct {
		callee int
		name   string
		path   string // where the call is written
	}
	edges := make([][]edge, len(v.s.Services))
	add := func(i int, prefix string, calls []Call) {
		for j, c := range calls {
			path := fmt.Sprintf("%s.calls[%d].service", prefix, j)
			if !v.serviceRef(path, c.Service) {
				continue
			}
			edges[i] = append(edges[i], edge{callee: index[c.Service], name: c.Service, path: path})
		}
	}
	for i, s := range v.s.Services {
		prefix := fmt.Sprintf("topology.services[%d]", i)
		add(i, prefix, s.Calls)
		for k, op := range s.Operations {
			if v.d.has(fmt.Sprintf("%s.operations[%d].calls", prefix, k)) {
				add(i, fmt.Sprintf("%s.operations[%d]", prefix, k), op.Calls)
			}
		}
	}
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(v.s.Services))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, e := range edges[i] {
			switch state[e.callee] {
			case onStack:
				start := slices.Index(stack, e.callee)
				cycle := make([]string, 0, len(stack)-start+1)
				for _, x := range stack[start:] {
					cycle = append(cycle, v.s.Services[x].Name)
				}
				cycle = append(cycle, e.name)
				v.errorf(e.path, "call cycle: %s", strings.Join(cycle, " → "))
			case unvisited:
				visit(e.callee)
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range v.s.Services {
		if state[i] == unvisited {
			visit(i)
		}
	}
}

func (v *validator) network() {
	zones := v.s.Zones()
	keys := make([]string, 0, len(v.s.Network.Zones))
	for z := range v.s.Network.Zones {
		keys = append(keys, z)
	}
	slices.Sort(keys)
	for _, z := range keys {
		if !slices.Contains(zones, z) {
			v.errorf("network.zones."+z, "unknown zone %q: no service or gateway runs there%s", z, didYouMean(z, zones))
		}
	}
}

// policies checks the effective policy of every variant (the scenario's
// policy when there are no variants). An issue is reported where the value
// at fault was written: in the variant when it set the key, in the
// scenario's policy when the variant inherited it.
func (v *validator) policies() {
	declared := v.d.has("variants")
	for i := range v.s.Variants {
		prefix := fmt.Sprintf("variants[%d].policy", i)
		if !declared {
			prefix = "policy"
		}
		report := func(rel, format string, args ...any) {
			path := joinPath(prefix, rel)
			if declared && !v.d.has(path) && v.d.has(joinPath("policy", rel)) {
				path = joinPath("policy", rel)
			}
			v.errorf(path, format, args...)
		}
		checkPolicy(&v.s.Variants[i].Policy, report)
		v.policyEdge(&v.s.Variants[i].Policy, report)
		v.checkQuota(&v.s.Variants[i].Policy, report)
	}
}

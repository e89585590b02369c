package bench

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Scopes a gate check can read a metric from besides the run's totals: the
// statistics of one route or one workload (RunSummary.Routes, Workloads).
const (
	ScopeRoute    = "route"
	ScopeWorkload = "workload"
)

// ScopedTolerance is an allowed regression of one metric of one route or
// workload, as --max-regression spells it: "checkout.p99=10%" (a route or a
// workload named checkout), or "route:checkout.p99=10%" and
// "workload:pay.p99=10%" to say which. Only the metrics named this way are
// checked for a route or workload; the run's totals keep their defaults.
type ScopedTolerance struct {
	// Kind is ScopeRoute, ScopeWorkload, or "" for whichever of the two
	// has the name (Gate resolves it against the summaries).
	Kind string
	// Name is the route's or workload's name.
	Name   string
	Metric GateMetric
	Tolerance
}

// Label is how checks of the scope show the metric: "checkout.p99", with
// the kind in front when it was given.
func (s ScopedTolerance) Label() string {
	if s.Kind == "" {
		return s.Name + "." + s.Metric.Name
	}
	return s.Kind + ":" + s.Name + "." + s.Metric.Name
}

// ParseRegressions parses a --max-regression value: comma-separated
// KEY=AMOUNT pairs, where KEY is a metric of the run's totals ("p99",
// ParseTolerances) or a metric of one route or workload ("checkout.p99",
// "route:checkout.p99", "workload:pay.availability"). It returns the
// totals' tolerances (defaults filled in) and the scoped ones in the order
// given.
func ParseRegressions(spec string) (map[string]Tolerance, []ScopedTolerance, error) {
	var plain []string
	var scoped []ScopedTolerance
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return nil, nil, fmt.Errorf("%q: want METRIC=AMOUNT, e.g. p99=10%% or checkout.p99=10%%", item)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if _, ok := LookupGateMetric(key); ok {
			plain = append(plain, item)
			continue
		}
		st, err := parseScopedKey(key)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", item, err)
		}
		if seen[st.Label()] {
			return nil, nil, fmt.Errorf("%q: %s given twice", item, st.Label())
		}
		seen[st.Label()] = true
		tol, err := gateParseAmount(val, st.Metric)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", item, err)
		}
		st.Tolerance = tol
		scoped = append(scoped, st)
	}
	tols, err := ParseTolerances(strings.Join(plain, ","))
	if err != nil {
		return nil, nil, err
	}
	return tols, scoped, nil
}

// parseScopedKey splits "[route:|workload:]NAME.METRIC"; NAME may itself
// hold dots (route names do), so the metric is the longest known suffix.
func parseScopedKey(key string) (ScopedTolerance, error) {
	var st ScopedTolerance
	rest := key
	if kind, name, ok := strings.Cut(key, ":"); ok {
		if kind != ScopeRoute && kind != ScopeWorkload {
			return st, fmt.Errorf("unknown scope %q: want route:NAME.METRIC or workload:NAME.METRIC", kind)
		}
		st.Kind, rest = kind, name
	}
	names := append(gateMetricNames(), "p99.9")
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, m := range names {
		if name, ok := strings.CutSuffix(rest, "."+m); ok && name != "" {
			st.Name = name
			st.Metric, _ = LookupGateMetric(m)
			return st, nil
		}
	}
	return st, fmt.Errorf("unknown metric %q (metrics: %s; a route's or workload's as NAME.METRIC, e.g. checkout.p99)",
		key, strings.Join(gateMetricNames(), ", "))
}

// scopeStats returns the statistics of a route or workload in one run.
func scopeStats(r RunSummary, kind, name string) (Stats, bool) {
	m := r.Routes
	if kind == ScopeWorkload {
		m = r.Workloads
	}
	st, ok := m[name]
	return st, ok && st.Requests > 0
}

// resolveScopes gives every scoped tolerance its kind, from the routes and
// workloads the summaries hold: an unknown name, a name that is both a
// route and a workload (give route: or workload:), or summaries written
// before per-route statistics existed are errors.
func resolveScopes(scoped []ScopedTolerance, sums ...*Summary) ([]ScopedTolerance, error) {
	if len(scoped) == 0 {
		return nil, nil
	}
	routes, workloads := map[string]bool{}, map[string]bool{}
	for _, s := range sums {
		for _, r := range s.Runs {
			for k := range r.Routes {
				routes[k] = true
			}
			for k := range r.Workloads {
				workloads[k] = true
			}
		}
	}
	list := func(m map[string]bool) string {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		slices.Sort(names)
		if len(names) == 0 {
			return "none"
		}
		return strings.Join(names, ", ")
	}
	out := make([]ScopedTolerance, len(scoped))
	for i, st := range scoped {
		if len(routes) == 0 && len(workloads) == 0 {
			return nil, fmt.Errorf("%s: the summaries have no per-route or per-workload statistics (written by an older meshbench)", st.Label())
		}
		inRoute, inWorkload := routes[st.Name], workloads[st.Name]
		switch st.Kind {
		case ScopeRoute:
			if !inRoute {
				return nil, fmt.Errorf("%s: unknown route %q (routes: %s)", st.Label(), st.Name, list(routes))
			}
		case ScopeWorkload:
			if !inWorkload {
				return nil, fmt.Errorf("%s: unknown workload %q (workloads: %s)", st.Label(), st.Name, list(workloads))
			}
		default:
			switch {
			case inRoute && inWorkload:
				return nil, fmt.Errorf("%s: %q is both a route and a workload: write route:%s.%s or workload:%s.%s",
					st.Label(), st.Name, st.Name, st.Metric.Name, st.Name, st.Metric.Name)
			case inRoute:
				st.Kind = ScopeRoute
			case inWorkload:
				st.Kind = ScopeWorkload
			default:
				return nil, fmt.Errorf("%s: unknown route or workload %q (routes: %s; workloads: %s)", st.Label(), st.Name, list(routes), list(workloads))
			}
		}
		out[i] = st
	}
	return out, nil
}

// scopedMetric is the gate metric that reads st's metric from its route's
// or workload's statistics instead of the run's totals; its name is the
// key as given ("checkout.p99").
func scopedMetric(st ScopedTolerance, label string) GateMetric {
	m := st.Metric
	base := m.Value
	kind, name := st.Kind, st.Name
	m.Name = label
	m.Value = func(r RunSummary) float64 {
		s, _ := scopeStats(r, kind, name)
		return base(RunSummary{Stats: s})
	}
	return m
}

// scopedRuns keeps the runs in which the scope had requests.
func scopedRuns(runs []RunSummary, st ScopedTolerance) []RunSummary {
	var out []RunSummary
	for _, r := range runs {
		if _, ok := scopeStats(r, st.Kind, st.Name); ok {
			out = append(out, r)
		}
	}
	return out
}

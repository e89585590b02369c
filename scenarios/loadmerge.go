package scenarios

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/goccy/go-yaml/ast"
)

// A variant may change the load as well as the policy: variants[i].load
// maps workload names to overrides, each deep-merged over the scenario's
// workload of that name the way a variant's policy is merged over the
// scenario's (see merge.go). One rule is the load's own: rate, shape and
// users are one choice, the kind and size of the load, so an override that
// writes any of them replaces the workload's; and a shape is taken whole,
// since which keys it has depends on its type (as with distributions).

var (
	workloadType = reflect.TypeFor[Workload]()
	// mergedKeyByKey are the types a load override may write in part:
	// their required keys come from the workload it is merged over.
	mergedKeyByKey = map[reflect.Type]bool{
		workloadType:               true,
		reflect.TypeFor[Request](): true,
		reflect.TypeFor[Users]():   true,
	}
)

// loadKinds are the keys that choose a workload's kind; exactly one is given.
var loadKinds = []string{"rate", "shape", "users"}

// variantLoadPath is the key path of variant i's override of load name.
func variantLoadPath(i int, name string) string {
	return fmt.Sprintf("variants[%d].load.%s", i, name)
}

// decodeNode decodes a variant's load overrides: a mapping of workload
// names to workloads given in part, each decoded onto a workload's
// defaults so that its keys are checked where they are written. The merge
// over the scenario's workloads comes later (mergeVariantLoads), once they
// have their names.
func (o *LoadOverrides) decodeNode(d *decoder, n ast.Node, path string) bool {
	if _, null := n.(*ast.NullNode); null || n == nil {
		*o = nil
		return true
	}
	es, ok := d.entries(n, path)
	if !ok {
		return d.mismatch(n, path, "a mapping of load names to overrides", scalarOf(n))
	}
	partial := d.partial
	d.partial = true
	defer func() { d.partial = partial }()
	out := make(LoadOverrides, len(es))
	good := true
	for _, e := range es {
		sub := joinPath(path, e.key)
		d.recordValue(sub, e.keyPos, e.value)
		w := newValue(workloadType).Elem()
		if !d.value(e.value, sub, w) {
			good = false
		}
		out[e.key] = w.Interface().(Workload)
	}
	*o = out
	return good
}

// mergeVariantLoads replaces each variant's load overrides by the
// workloads they describe: a deep copy of the scenario's workload of that
// name with the override's keys decoded onto it, then completed as
// finalize completes a workload. It runs after finalize, when every
// workload has its name and window. An override of a workload that does
// not exist is left as decoded, for validation to report.
//
// The override's keys were already decoded once, onto defaults, with
// issues reported; this second decoding is silent.
func mergeVariantLoads(d *decoder, s *Scenario) {
	index := map[string]int{}
	for i, w := range s.Load {
		if _, dup := index[w.Name]; !dup {
			index[w.Name] = i
		}
	}
	for i := range s.Variants {
		for _, name := range slices.Sorted(maps.Keys(s.Variants[i].Load)) {
			j, known := index[name]
			path := variantLoadPath(i, name)
			n, written := d.nodes[path]
			if !known || !written {
				continue
			}
			wrote := func(key string) bool { return d.has(joinPath(path, key)) }
			w := deepCopy(s.Load[j])
			if slices.ContainsFunc(loadKinds, wrote) {
				w.Rate, w.Shape = 0, nil
				if !wrote("users") {
					w.Users = nil
				}
			}
			if wrote("users") && !wrote("arrival") {
				w.Arrival = "" // arrivals are the users' own business
			}
			d.silent, d.partial = true, true
			d.value(n, path, reflect.ValueOf(&w).Elem())
			d.silent, d.partial = false, false

			if wrote("rate") && w.Shape == nil && w.Users == nil {
				w.Shape = &Shape{Type: ShapeConstant, Rate: w.Rate}
				w.Rate = 0
			}
			if w.Users == nil && w.Arrival == "" {
				w.Arrival = ArrivalPoisson // an open loop made of a closed one
			}
			if !wrote("for") && !d.has(fmt.Sprintf("load[%d].for", j)) {
				w.For = 0
				if s.Duration > w.Start {
					w.For = s.Duration - w.Start
				}
			}
			s.Variants[i].Load[name] = w
		}
	}
}

// ForVariant returns the plan as variant i runs it: its Load is the
// variant's, the scenario's workloads in their order with the variant's
// overrides in place of those it names. Everything else is the plan's,
// Variants included, so i still indexes Variants. Backends run the plan a
// job gives them; the runner gives each job its variant's plan. When the
// variant overrides no workload (or i is out of range) the result is p
// itself. A variant with a protocol runs every service and workload with
// it, and a variant with weights gives its services those replica weights.
func (p *Plan) ForVariant(i int) *Plan {
	if i < 0 || i >= len(p.Variants) || len(p.Variants[i].Load) == 0 && p.Variants[i].Protocol == "" && len(p.Variants[i].Weights) == 0 {
		return p
	}
	c := deepCopy(*p)
	for j, w := range c.Load {
		if o, ok := c.Variants[i].Load[w.Name]; ok {
			c.Load[j] = o
		}
	}
	if proto := c.Variants[i].Protocol; proto != "" {
		for j := range c.Services {
			c.Services[j].Protocol = proto
		}
		for j := range c.Load {
			c.Load[j].Protocol = proto
		}
	}
	c.applyVariantWeights(i)
	return &c
}

package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// Override sets the setting at a sweep key path to a value as a scenario
// writes it.
type Override struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// sweepRoots are the first keys a sweep path may start with.
var sweepRoots = []string{"policy", "load", "topology.services"}

// checkSweepPath reports whether path names one setting the sweep may
// change, with a did-you-mean for a misspelt key.
func (p *Plan) checkSweepPath(path string) error {
	_, t, rest, err := p.sweepTarget(path)
	if err != nil {
		return err
	}
	return walkKeys(t, rest, strings.TrimSuffix(path, strings.Join(rest, ".")))
}

// sweepTarget splits path into its root, the type the rest walks and the
// rest's keys: policy.K… walks Policy, load.NAME.K… a Workload,
// topology.services.NAME.K… a Service.
func (p *Plan) sweepTarget(path string) (root string, t reflect.Type, rest []string, err error) {
	keys := strings.Split(path, ".")
	for _, k := range keys {
		if k == "" {
			return "", nil, nil, fmt.Errorf("invalid key path %q: empty key", path)
		}
	}
	switch {
	case keys[0] == "policy":
		return "policy", reflect.TypeFor[Policy](), keys[1:], nil
	case keys[0] == "load":
		if len(keys) < 3 {
			return "", nil, nil, fmt.Errorf("key path %q: write load.WORKLOAD.KEY, e.g. load.%s.rate", path, p.Load[0].Name)
		}
		if !slices.Contains(p.loadNames(), keys[1]) {
			return "", nil, nil, fmt.Errorf("key path %q: unknown workload %q%s", path, keys[1], hintOrList(keys[1], p.loadNames()))
		}
		return "load", workloadType, keys[2:], nil
	case keys[0] == "topology" && len(keys) > 1 && keys[1] == "services":
		if len(keys) < 4 {
			return "", nil, nil, fmt.Errorf("key path %q: write topology.services.SERVICE.KEY, e.g. topology.services.%s.replicas", path, p.Services[0].Name)
		}
		if _, ok := p.Service(keys[2]); !ok {
			names := names(p.Services, func(s Service) string { return s.Name })
			return "", nil, nil, fmt.Errorf("key path %q: unknown service %q%s", path, keys[2], hintOrList(keys[2], names))
		}
		return "topology.services", reflect.TypeFor[Service](), keys[3:], nil
	}
	return "", nil, nil, fmt.Errorf("key path %q: a sweep changes policy.KEY…, load.WORKLOAD.KEY… or topology.services.SERVICE.KEY…%s",
		path, didYouMean(keys[0], sweepRoots))
}

func (p *Plan) loadNames() []string { return names(p.Load, func(w Workload) string { return w.Name }) }

// walkKeys follows keys through struct type t by their JSON names; it must
// end on one setting (a scalar, a duration, a rate, a distribution).
func walkKeys(t reflect.Type, keys []string, prefix string) error {
	walked := strings.TrimSuffix(prefix, ".")
	for i, k := range keys {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Map:
			t = t.Elem()
		case t.Kind() == reflect.Struct && !isLeafType(t):
			info := infoOf(t)
			j, ok := info.byName[k]
			if !ok {
				return fmt.Errorf("unknown key %q in %s%s", k, walked, hintOrList(k, info.names))
			}
			t = t.Field(info.fields[j].index).Type
		default:
			return fmt.Errorf("%s is a single setting: %q cannot follow it", walked, strings.Join(keys[i:], "."))
		}
		walked = joinPath(walked, k)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && !isLeafType(t) {
		return fmt.Errorf("%s is a block; sweep one of its keys: %s", walked, strings.Join(infoOf(t).names, ", "))
	}
	return nil
}

// isLeafType reports whether struct type t is written as one value (a
// distribution, a target).
func isLeafType(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(nodeDecoderType) || pt.Implements(scalarDecoderType)
}

// Point returns the plan of one point of a sweep: the scenario with only
// the variant named (the first when empty), the overrides set, the SLOs
// that apply to that variant, and backends (nil: [sim]). The result is
// loaded as a file would be, so every value is checked; the error is then
// a *ValidationError about the generated scenario. Plan.Profile carries
// over.
func (p *Plan) Point(variant string, set []Override, backends []string) (*Plan, error) {
	vi := 0
	if variant != "" {
		if vi = p.variantIndex(variant); vi < 0 {
			return nil, fmt.Errorf("unknown variant %q%s", variant, hintOrList(variant, p.variantNames()))
		}
	}
	raw, err := marshalJSON(p.Scenario)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("sweep point: %w", err)
	}
	delete(doc, "sweep")
	delete(doc, "calibration")
	if backends == nil {
		backends = []string{BackendSim}
	}
	doc["backends"] = backends
	vname := p.Variants[vi].Name
	doc["variants"] = []any{doc["variants"].([]any)[vi]}
	slos := []any{}
	for i, s := range p.SLO {
		if s.Variant == "" || s.Variant == vname {
			slos = append(slos, doc["slo"].([]any)[i])
		}
	}
	doc["slo"] = slos
	v0 := doc["variants"].([]any)[0].(map[string]any)
	for _, o := range set {
		if err := p.override(doc, v0, o); err != nil {
			return nil, err
		}
	}
	src, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	out, err := LoadBytes(p.Path, src)
	if err != nil {
		return nil, err
	}
	out.Profile, out.ProfileBackend = p.Profile, p.ProfileBackend
	return out, nil
}

// override sets one key path in the scenario's JSON document doc, whose
// only variant is v0.
func (p *Plan) override(doc, v0 map[string]any, o Override) error {
	root, _, rest, err := p.sweepTarget(o.Path)
	if err != nil {
		return err
	}
	var value any
	if err := yaml.Unmarshal([]byte(o.Value), &value); err != nil {
		return fmt.Errorf("%s: value %q: %w", o.Path, o.Value, err)
	}
	switch root {
	case "policy":
		jsonSetIn(jsonMapAt(v0, "policy"), rest, value)
	case "load":
		name := strings.Split(o.Path, ".")[1]
		loads := doc["load"].([]any)
		for j, w := range p.Load {
			if w.Name != name {
				continue
			}
			// The variant's own override of the workload is the workload
			// as the variant runs it: make it the scenario's, then set.
			if vl, ok := v0["load"].(map[string]any); ok {
				if ow, ok := vl[name]; ok {
					loads[j] = ow
					delete(vl, name)
				}
			}
			wm := loads[j].(map[string]any)
			if len(rest) == 1 && slices.Contains(loadKinds, rest[0]) {
				for _, k := range loadKinds {
					delete(wm, k)
				}
			}
			jsonSetIn(wm, rest, value)
		}
	case "topology.services":
		name := strings.Split(o.Path, ".")[2]
		svcs := jsonMapAt(doc, "topology")["services"].([]any)
		for i, s := range p.Services {
			if s.Name == name {
				jsonSetIn(svcs[i].(map[string]any), rest, value)
			}
		}
	}
	return nil
}

// jsonMapAt returns m[k] as a mapping, making one where it is absent or null.
func jsonMapAt(m map[string]any, k string) map[string]any {
	if sub, ok := m[k].(map[string]any); ok {
		return sub
	}
	sub := map[string]any{}
	m[k] = sub
	return sub
}

func jsonSetIn(m map[string]any, keys []string, value any) {
	for _, k := range keys[:len(keys)-1] {
		m = jsonMapAt(m, k)
	}
	m[keys[len(keys)-1]] = value
}

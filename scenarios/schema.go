package scenarios

import (
	_ "embed"
	"encoding/json"
	"reflect"
	"slices"

	"github.com/invopop/jsonschema"
)

//go:generate go test -run TestSchemaUpToDate -update .

// schemaFile is scenario.schema.json, generated from the Go types by
// generateSchema; TestSchemaUpToDate fails when it is stale and rewrites it
// with -update.
//
//go:embed scenario.schema.json
var schemaFile []byte

// Schema returns the JSON Schema (draft 2020-12) of scenario format v1,
// for editors and other tools. It is looser than Load: relations between
// values and references (calls, fault targets) are checked only by Load.
func Schema() []byte { return slices.Clone(schemaFile) }

// SchemaID is the $id of the generated schema.
const SchemaID = "https://meshbench.dev/schemas/scenario-v1.json"

// generateSchema reflects the Scenario type into a JSON Schema. srcDir,
// when not empty, is this package's source directory: the doc comments
// found there become the schema's descriptions. Defaults are read from the
// setDefaults methods, so defaults.go stays their only definition.
func generateSchema(srcDir string) ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if t == durationType {
				return &jsonschema.Schema{Ref: "#/$defs/Duration"}
			}
			return nil
		},
	}
	if srcDir != "" {
		if err := r.AddGoComments("github.com/meshbench/meshbench/scenarios", srcDir); err != nil {
			return nil, err
		}
	}
	s := r.Reflect(&Scenario{})
	s.Definitions["Duration"] = durationSchema()
	s.ID = SchemaID
	s.Title = "meshbench scenario (format v1)"
	if err := addDefaults(s, reflect.TypeFor[Scenario](), map[reflect.Type]bool{}); err != nil {
		return nil, err
	}
	addOverrideDefs(s.Definitions)
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// addDefaults sets "default" on the properties of t (and of every struct
// type reachable from it) whose default value is not zero.
func addDefaults(s *jsonschema.Schema, t reflect.Type, seen map[reflect.Type]bool) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || reflect.PointerTo(t).Implements(customSchemaType) {
		return nil
	}
	seen[t] = true
	def := s.Definitions[t.Name()]
	v := newValue(t).Elem()
	for _, f := range infoOf(t).fields {
		if err := addDefaults(s, t.Field(f.index).Type, seen); err != nil {
			return err
		}
		fv := v.Field(f.index)
		if def == nil || fv.IsZero() || (fv.Kind() == reflect.Struct && !reflect.PointerTo(fv.Type()).Implements(customSchemaType)) {
			continue
		}
		prop, ok := def.Properties.Get(f.name)
		if !ok {
			continue
		}
		raw, err := marshalJSON(fv.Interface())
		if err != nil {
			return err
		}
		var val any
		if err := json.Unmarshal(raw, &val); err != nil {
			return err
		}
		prop.Default = val
	}
	return nil
}

// addOverrideDefs adds "<Type>Override", a copy of the definition of each
// type a variant's load override may write in part (mergedKeyByKey), with
// no required keys and no defaults, since what an override leaves out
// comes from the workload it overrides, and referring to each other.
func addOverrideDefs(defs jsonschema.Definitions) {
	refs := map[string]string{}
	for t := range mergedKeyByKey {
		refs["#/$defs/"+t.Name()] = "#/$defs/" + t.Name() + "Override"
	}
	for t := range mergedKeyByKey {
		def, ok := defs[t.Name()]
		if !ok {
			continue
		}
		c := *def
		c.Required = nil
		c.Description = def.Description + " In a variant's load override every key is optional: what it leaves out comes from the workload it overrides."
		c.Properties = jsonschema.NewProperties()
		for key, prop := range def.Properties.FromOldest() {
			p := *prop
			p.Default = nil
			if r, ok := refs[p.Ref]; ok {
				p.Ref = r
			}
			c.Properties.Set(key, &p)
		}
		defs[t.Name()+"Override"] = &c
	}
}

var customSchemaType = reflect.TypeFor[interface{ JSONSchema() *jsonschema.Schema }]()

// durationPattern matches Go durations ("250ms", "1m30s", "200µs").
const durationPattern = `^([0-9]*\.?[0-9]+(ns|us|µs|μs|ms|s|m|h))+$|^0$`

func durationSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A duration in Go syntax: "250ms", "1m30s", "200us".`,
		OneOf: []*jsonschema.Schema{
			{Type: "string", Pattern: durationPattern},
			{Type: "integer", Const: 0},
		},
	}
}

// JSONSchema describes a rate: "500/s", "30/m", "7200/h".
func (Rate) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^[0-9]*\.?[0-9]+/[smh]$`,
		Description: `A rate: a number of events per second, minute or hour, e.g. "500/s", "30/m", "1.5/s".`,
	}
}

// JSONSchema describes a fraction: 0.999 or "99.9%".
func (Fraction) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A fraction between 0 and 1, as a number (0.999) or a percentage ("99.9%").`,
		OneOf: []*jsonschema.Schema{
			{Type: "number", Minimum: "0", Maximum: "1"},
			{Type: "string", Pattern: `^(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%$`},
		},
	}
}

// JSONSchema describes a percentile: p95, p99.9, 0.95 or "95%".
func (Percentile) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A percentile: p95, p99.9, p999, 0.95 or "95%".`,
		OneOf: []*jsonschema.Schema{
			{Type: "number", ExclusiveMinimum: "0", ExclusiveMaximum: "1"},
			{Type: "string", Pattern: `^(p[0-9]+(\.[0-9]+)?|[0-9]{1,2}(\.[0-9]+)?%)$`},
		},
	}
}

// JSONSchema describes an SLO threshold.
func (Threshold) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `An SLO bound: a duration ("250ms") for latency metrics, a fraction (0.999 or "99.9%") for availability and error_rate, a rate ("400/s") for throughput.`,
		OneOf: []*jsonschema.Schema{
			{Ref: "#/$defs/Duration"},
			Fraction(0).JSONSchema().OneOf[0],
			Fraction(0).JSONSchema().OneOf[1],
			Rate(0).JSONSchema(),
		},
	}
}

// JSONSchema describes a variant's load overrides: workload names mapped
// to workloads given in part (WorkloadOverride, see addOverrideDefs).
func (LoadOverrides) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		PropertyNames:        &jsonschema.Schema{Pattern: `^[a-z0-9_-]+$`},
		AdditionalProperties: &jsonschema.Schema{Ref: "#/$defs/WorkloadOverride"},
		Description:          "Workloads of the scenario's load, by name, with what this variant changes in them.",
	}
}

// JSONSchema describes a fault target.
func (Target) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^([a-z0-9-]+(\[([0-9]+|\*)\])?|zone:.+)$`,
		Description: `Replicas: "payments[0]", "payments[*]", "payments" or "zone:b".`,
	}
}

// JSONSchema describes a distribution: a duration (a constant) or a
// mapping whose keys depend on its type.
func (DistributionSpec) JSONSchema() *jsonschema.Schema {
	dur := func() *jsonschema.Schema { return &jsonschema.Schema{Ref: "#/$defs/Duration"} }
	num := func() *jsonschema.Schema { return &jsonschema.Schema{Type: "number"} }
	point := withProps(&jsonschema.Schema{
		Type:                 "object",
		Required:             []string{"q", "value"},
		AdditionalProperties: jsonschema.FalseSchema,
	}, "q", &jsonschema.Schema{Type: "number", Minimum: "0", Maximum: "1"}, "value", dur())
	kind := func(typ string, required []string, kv ...any) *jsonschema.Schema {
		return withProps(&jsonschema.Schema{
			Type:                 "object",
			Required:             append([]string{"type"}, required...),
			AdditionalProperties: jsonschema.FalseSchema,
		}, append([]any{"type", &jsonschema.Schema{Const: typ}}, kv...)...)
	}
	lognormal := kind(DistLognormal, nil, "median", dur(), "p99", dur(), "mu", num(), "sigma", &jsonschema.Schema{Type: "number", ExclusiveMinimum: "0"})
	lognormal.OneOf = []*jsonschema.Schema{{Required: []string{"median", "p99"}}, {Required: []string{"mu", "sigma"}}}
	return &jsonschema.Schema{
		Description: "A distribution of durations: a duration for a constant, or a mapping with a type and its parameters. lognormal's mu and sigma are in ln-seconds.",
		OneOf: []*jsonschema.Schema{
			dur(),
			kind(DistConstant, []string{"value"}, "value", dur()),
			kind(DistExponential, []string{"mean"}, "mean", dur()),
			kind(DistUniform, []string{"min", "max"}, "min", dur(), "max", dur()),
			kind(DistNormal, []string{"mean", "stddev"}, "mean", dur(), "stddev", dur()),
			lognormal,
			kind(DistPareto, []string{"scale", "shape"}, "scale", dur(), "shape", &jsonschema.Schema{Type: "number", ExclusiveMinimum: "0"}),
			kind(DistEmpirical, []string{"quantiles"}, "quantiles", &jsonschema.Schema{Type: "array", Items: point, MinItems: ptr(uint64(1))}),
		},
	}
}

// withProps sets s's properties, in order, from name, schema pairs.
func withProps(s *jsonschema.Schema, kv ...any) *jsonschema.Schema {
	s.Properties = jsonschema.NewProperties()
	for i := 0; i+1 < len(kv); i += 2 {
		s.Properties.Set(kv[i].(string), kv[i+1].(*jsonschema.Schema))
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// JSONSchema describes a sweep's params: key paths mapped to a list of
// values or a range.
func (SweepParams) JSONSchema() *jsonschema.Schema {
	value := &jsonschema.Schema{AnyOf: []*jsonschema.Schema{{Type: "string"}, {Type: "number"}, {Type: "boolean"}}}
	rng := withProps(&jsonschema.Schema{
		Type:                 "object",
		Required:             []string{"from", "to"},
		AdditionalProperties: jsonschema.FalseSchema,
	}, "from", value, "to", value, "step", value,
		"steps", &jsonschema.Schema{Type: "integer", Minimum: "2"},
		"scale", &jsonschema.Schema{Enum: []any{ScaleLinear, ScaleLog}})
	return &jsonschema.Schema{
		Type:          "object",
		MinProperties: ptr(uint64(1)),
		PropertyNames: &jsonschema.Schema{Pattern: `^(policy|load|topology\.services)\.[A-Za-z0-9_.-]+$`},
		AdditionalProperties: &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			{Type: "array", Items: value, MinItems: ptr(uint64(1))},
			rng,
		}},
		Description: "Key paths (policy.…, load.WORKLOAD.…, topology.services.SERVICE.…) mapped to a list of values or a range {from, to, step | steps, scale}.",
	}
}

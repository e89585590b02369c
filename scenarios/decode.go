package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// The decoder turns goccy/go-yaml's AST into the types of this package. It
// does not stop at the first problem: every unknown key, wrong type, bad
// unit and broken constraint becomes an Issue at the line and column of the
// offending key or value, and decoding goes on with the next key.

// nodeBudget bounds the nodes one file may expand to, so that alias bombs
// ("billion laughs") fail fast instead of exhausting memory.
const nodeBudget = 200_000

type decoder struct {
	file    string
	issues  []Issue
	silent  bool                // drop issues (re-decoding for variant merges)
	partial bool                // required keys may be left out (a variant's load overrides)
	pos     map[string]position // where each key path was written
	nodes   map[string]ast.Node // the value node of each key path
	anchors map[string]ast.Node
	active  map[string]bool // anchors being expanded, to catch alias cycles
	budget  int
	bad     map[string]bool // key paths whose value failed to decode
	frozen  bool            // decoding is over: issues no longer mark paths bad
	// imported holds, per variant index, the policy imported by its from: (imported.go).
	imported map[int]ast.Node
	// notes are what imports report without failing the load (imported.go).
	notes []Issue
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:     file,
		pos:      map[string]position{},
		nodes:    map[string]ast.Node{},
		anchors:  map[string]ast.Node{},
		active:   map[string]bool{},
		budget:   nodeBudget,
		bad:      map[string]bool{},
		imported: map[int]ast.Node{},
	}
}

// defaulter is implemented by types with defaults (all set in defaults.go).
// The decoder calls setDefaults on every value it creates (list items,
// blocks that turn a feature on) before decoding the file's keys onto it.
type defaulter interface{ setDefaults() }

// scalarDecoder is implemented by types written as one scalar with units.
// The returned error's text becomes the issue's message.
type scalarDecoder interface{ decodeScalar(s scalar) error }

// nodeDecoder is implemented by types with their own YAML form
// (DistributionSpec: a duration string or a mapping whose keys depend on type).
type nodeDecoder interface {
	decodeNode(d *decoder, n ast.Node, path string) bool
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	scalarDecoderType = reflect.TypeFor[scalarDecoder]()
	nodeDecoderType   = reflect.TypeFor[nodeDecoder]()
)

// value decodes node n, written at path, into v. It reports what is wrong
// and returns whether v now holds the node's value.
func (d *decoder) value(n ast.Node, path string, v reflect.Value) bool {
	return d.withResolved(n, path, func(n ast.Node) bool { return d.resolvedValue(n, path, v) })
}

func (d *decoder) resolvedValue(n ast.Node, path string, v reflect.Value) bool {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if _, null := n.(*ast.NullNode); null || n == nil {
			v.SetZero() // null removes an optional block (useful in variants)
			return true
		}
		if v.IsNil() {
			nv := newValue(t.Elem())
			ok := d.resolvedValue(n, path, nv.Elem())
			v.Set(nv)
			return ok
		}
		return d.resolvedValue(n, path, v.Elem())
	}
	if reflect.PointerTo(t).Implements(nodeDecoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
	}
	s := scalarOf(n)
	if t == durationType {
		dur, err := decodeDuration(s)
		if err != nil {
			d.issueAt(nodePos(n), path, "%s", err)
			return false
		}
		v.SetInt(int64(dur))
		return true
	}
	if reflect.PointerTo(t).Implements(scalarDecoderType) {
		if err := v.Addr().Interface().(scalarDecoder).decodeScalar(s); err != nil {
			d.issueAt(nodePos(n), path, "%s", err)
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.structValue(n, path, v, nil)
	case reflect.Slice:
		return d.listValue(n, path, v)
	case reflect.Map:
		return d.mapValue(n, path, v)
	case reflect.String:
		if s.kind != kindString {
			return d.mismatch(n, path, "a string", s)
		}
		v.SetString(s.text)
	case reflect.Bool:
		if s.kind != kindBool {
			return d.mismatch(n, path, "true or false", s)
		}
		v.SetBool(s.text == "true")
	case reflect.Int, reflect.Int64, reflect.Int32:
		if s.kind != kindInt {
			return d.mismatch(n, path, "an integer", s)
		}
		i, err := strconv.ParseInt(s.text, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.issueAt(nodePos(n), path, "integer %s out of range", s.text)
			return false
		}
		v.SetInt(i)
	case reflect.Uint64, reflect.Uint:
		if s.kind != kindInt {
			return d.mismatch(n, path, "a non-negative integer", s)
		}
		u, err := strconv.ParseUint(s.text, 10, 64)
		if err != nil {
			d.issueAt(nodePos(n), path, "expected a non-negative integer, got %s", s.text)
			return false
		}
		v.SetUint(u)
	case reflect.Float64:
		if s.kind != kindInt && s.kind != kindFloat {
			return d.mismatch(n, path, "a number", s)
		}
		f, err := strconv.ParseFloat(s.text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.issueAt(nodePos(n), path, "expected a finite number, got %s", s.text)
			return false
		}
		v.SetFloat(f)
	default:
		panic("scenarios: cannot decode into " + t.String()) // a type this package should not declare
	}
	return true
}

func (d *decoder) mismatch(n ast.Node, path, want string, got scalar) bool {
	hint := ""
	if want == "a string" && (got.kind == kindInt || got.kind == kindFloat || got.kind == kindBool) {
		hint = fmt.Sprintf(" (quote it: \"%s\")", got.text)
	}
	d.issueAt(nodePos(n), path, "expected %s, got %s%s", want, got.describe(), hint)
	return false
}

// newValue allocates a T with its defaults set.
func newValue(t reflect.Type) reflect.Value {
	nv := reflect.New(t)
	if df, ok := nv.Interface().(defaulter); ok {
		df.setDefaults()
	}
	return nv
}

// keyFilter may reject a key that exists on the struct but does not apply
// in context (a distribution parameter of another type); it returns the
// message, or "" to accept.
type keyFilter func(key string) string

// structValue decodes a mapping onto struct v: only the keys written are
// set, so decoding onto a value that holds defaults (or a base policy)
// leaves the rest as it was.
func (d *decoder) structValue(n ast.Node, path string, v reflect.Value, filter keyFilter) bool {
	es, ok := d.entries(n, path)
	if !ok {
		return d.mismatch(n, path, "a mapping", scalarOf(n))
	}
	info := infoOf(v.Type())
	seen := make(map[string]bool, len(es))
	good := true
	for _, e := range es {
		i, found := info.byName[e.key]
		if !found {
			d.issueAt(e.keyPos, path, "unknown key %q%s", e.key, didYouMean(e.key, info.names))
			good = false
			continue
		}
		if filter != nil {
			if msg := filter(e.key); msg != "" {
				d.issueAt(e.keyPos, path, "%s", msg)
				good = false
				continue
			}
		}
		seen[e.key] = true
		f := &info.fields[i]
		sub := joinPath(path, e.key)
		d.recordValue(sub, e.keyPos, e.value)
		if !d.field(e.value, sub, v.Field(f.index), f) {
			good = false
		}
	}
	for i := range info.fields {
		if f := &info.fields[i]; f.required && !seen[f.name] && !(d.partial && mergedKeyByKey[v.Type()]) {
			d.issueAt(d.posOf(path), path, "missing required key %q", f.name)
			d.bad[joinPath(path, f.name)] = true
			good = false
		}
	}
	return good
}

// field decodes one struct field and checks its tag constraints.
func (d *decoder) field(n ast.Node, path string, v reflect.Value, f *fieldInfo) bool {
	if !d.value(n, path, v) {
		return false
	}
	if v.Kind() == reflect.Slice {
		if v.Len() < f.minItems {
			d.errorf(path, "must have at least %d item(s)", f.minItems)
			return false
		}
		ok := true
		for i := range v.Len() {
			ok = d.check(indexPath(path, i), v.Index(i), f) && ok
		}
		return ok
	}
	return d.check(path, v, f)
}

// check applies enum, pattern and numeric bounds to one value.
func (d *decoder) check(path string, v reflect.Value, f *fieldInfo) bool {
	msg := ""
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		switch {
		case len(f.enum) > 0 && !slices.Contains(f.enum, s):
			noun := f.noun
			if noun == "" {
				noun = "value"
			}
			msg = fmt.Sprintf("unknown %s %q%s", noun, s, hintOrList(s, f.enum))
		case f.pattern != nil && !f.pattern.MatchString(s):
			if help, ok := patternHelp[f.pattern.String()]; ok {
				msg = fmt.Sprintf("invalid value %q: %s", s, help)
			} else {
				msg = fmt.Sprintf("%q does not match %s", s, f.pattern)
			}
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		msg = f.checkNumber(float64(v.Int()))
	case reflect.Float64:
		msg = f.checkNumber(v.Float())
	}
	if msg != "" {
		d.errorf(path, "%s", msg)
		return false
	}
	return true
}

// listValue decodes a sequence into a fresh slice (lists replace, never merge).
func (d *decoder) listValue(n ast.Node, path string, v reflect.Value) bool {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		if s := scalarOf(n); s.kind == kindString {
			d.issueAt(nodePos(n), path, "expected a list, got %s (write [%s])", s.describe(), s.text)
			return false
		}
		return d.mismatch(n, path, "a list", scalarOf(n))
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	good := true
	for i, item := range seq.Values {
		sub := indexPath(path, i)
		d.record(sub, nodePos(item), item)
		ev := newValue(v.Type().Elem()).Elem()
		if !d.value(item, sub, ev) {
			good = false
		}
		out = reflect.Append(out, ev)
	}
	v.Set(out)
	return good
}

// mapValue decodes a mapping with free-form keys (zone names, headers).
func (d *decoder) mapValue(n ast.Node, path string, v reflect.Value) bool {
	es, ok := d.entries(n, path)
	if !ok {
		return d.mismatch(n, path, "a mapping", scalarOf(n))
	}
	out := reflect.MakeMapWithSize(v.Type(), len(es))
	good := true
	for _, e := range es {
		sub := joinPath(path, e.key)
		d.recordValue(sub, e.keyPos, e.value)
		ev := newValue(v.Type().Elem()).Elem()
		if !d.value(e.value, sub, ev) {
			good = false
		}
		out.SetMapIndex(reflect.ValueOf(e.key), ev)
	}
	v.Set(out)
	return good
}

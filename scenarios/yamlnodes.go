package scenarios

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
)

// This file reads goccy/go-yaml's AST: anchors and aliases, scalars, and
// the keys of mappings with merge keys (<<) expanded.

// collectAnchors registers every anchor of the document before decoding, so
// that aliases resolve wherever decoding reaches them.
func (d *decoder) collectAnchors(n ast.Node) {
	switch n := n.(type) {
	case *ast.DocumentNode:
		d.collectAnchors(n.Body)
	case *ast.MappingNode:
		for _, v := range n.Values {
			d.collectAnchors(v)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(n.Key)
		d.collectAnchors(n.Value)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			d.collectAnchors(v)
		}
	case *ast.AnchorNode:
		if name, ok := n.Name.(ast.ScalarNode); ok && name != nil {
			d.anchors[fmt.Sprint(name.GetValue())] = n.Value
		}
		d.collectAnchors(n.Value)
	case *ast.TagNode:
		d.collectAnchors(n.Value)
	}
}

// withResolved calls f with n stripped of anchors and aliases. It reports
// unknown aliases, alias cycles, YAML tags, and files that expand too far.
func (d *decoder) withResolved(n ast.Node, path string, f func(ast.Node) bool) bool {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.issueAt(nodePos(n), path, "the document expands to too many nodes (alias bomb?)")
		}
		return false
	}
	switch m := n.(type) {
	case *ast.AnchorNode:
		return d.withResolved(m.Value, path, f)
	case *ast.AliasNode:
		name := ""
		if s, ok := m.Value.(ast.ScalarNode); ok && s != nil {
			name = fmt.Sprint(s.GetValue())
		}
		target, ok := d.anchors[name]
		switch {
		case !ok:
			d.issueAt(nodePos(n), path, "unknown alias *%s", name)
			return false
		case d.active[name]:
			d.issueAt(nodePos(n), path, "alias *%s refers to itself", name)
			return false
		}
		d.active[name] = true
		defer delete(d.active, name)
		return d.withResolved(target, path, f)
	case *ast.TagNode:
		tag := "!"
		if m.Start != nil {
			tag = m.Start.Value
		}
		d.issueAt(nodePos(n), path, "YAML tags (%s) are not supported", tag)
		return false
	case *ast.MappingKeyNode:
		return d.withResolved(m.Value, path, f)
	}
	return f(n)
}

type scalarKind int

const (
	kindString scalarKind = iota
	kindInt
	kindFloat
	kindBool
	kindNull
	kindMapping
	kindList
)

// scalar is a YAML scalar as the decoder hands it to typed parsers: its text
// and what YAML made of it (a plain 5 is an int, a plain 5ms a string).
type scalar struct {
	text string
	kind scalarKind
}

// describe names the value in messages: `the string "x"`, `the number 5`.
func (s scalar) describe() string {
	switch s.kind {
	case kindString:
		return strconv.Quote(s.text)
	case kindInt, kindFloat:
		return "the number " + s.text
	case kindBool:
		return s.text
	case kindNull:
		return "null"
	case kindMapping:
		return "a mapping"
	case kindList:
		return "a list"
	}
	return s.text
}

// scalarOf reads a resolved node as a scalar; mappings and lists come back
// with kindMapping or kindList.
func scalarOf(n ast.Node) scalar {
	switch n := n.(type) {
	case nil, *ast.NullNode:
		return scalar{"null", kindNull}
	case *ast.StringNode:
		return scalar{n.Value, kindString}
	case *ast.LiteralNode:
		if n.Value == nil {
			return scalar{"", kindString}
		}
		return scalar{n.Value.Value, kindString}
	case *ast.IntegerNode:
		return scalar{fmt.Sprint(n.Value), kindInt}
	case *ast.FloatNode:
		return scalar{strconv.FormatFloat(n.Value, 'g', -1, 64), kindFloat}
	case *ast.InfinityNode:
		return scalar{strconv.FormatFloat(n.Value, 'g', -1, 64), kindFloat}
	case *ast.NanNode:
		return scalar{"NaN", kindFloat}
	case *ast.BoolNode:
		return scalar{strconv.FormatBool(n.Value), kindBool}
	case *ast.MappingNode, *ast.MappingValueNode:
		return scalar{"", kindMapping}
	case *ast.SequenceNode:
		return scalar{"", kindList}
	}
	return scalar{n.String(), kindString}
}

// entry is one key of a mapping, after merge keys (<<) are expanded.
type entry struct {
	key    string
	keyPos position
	value  ast.Node
}

// entries lists a mapping's keys in order; keys merged in with "<<: *x"
// come first so that the mapping's own keys override them.
func (d *decoder) entries(n ast.Node, path string) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	var merged, own []entry
	for _, mv := range values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			d.withResolved(mv.Value, path, func(src ast.Node) bool {
				var sources []ast.Node
				if seq, ok := src.(*ast.SequenceNode); ok {
					sources = seq.Values
				} else {
					sources = []ast.Node{src}
				}
				for _, s := range sources {
					d.withResolved(s, path, func(s ast.Node) bool {
						es, ok := d.entries(s, path)
						if !ok {
							d.issueAt(nodePos(s), path, "a merge key (<<) needs a mapping or a list of mappings")
						}
						merged = append(merged, es...)
						return ok
					})
				}
				return true
			})
			continue
		}
		var key string
		ok := d.withResolved(mv.Key, path, func(k ast.Node) bool {
			s := scalarOf(k)
			if s.kind == kindMapping || s.kind == kindList || s.kind == kindNull {
				d.issueAt(nodePos(k), path, "a key must be a string, got %s", s.describe())
				return false
			}
			key = s.text
			return true
		})
		if ok {
			own = append(own, entry{key: key, keyPos: nodePos(mv.Key), value: mv.Value})
		}
	}
	seen := map[string]bool{}
	for _, e := range own {
		seen[e.key] = true
	}
	out := make([]entry, 0, len(merged)+len(own))
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e)
		}
	}
	return append(out, own...), true
}

package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Issues are located twice: by key path ("topology.services[1].calls[0]")
// and by line and column. The decoder records where each key path was
// written, so that validation after decoding can point at the same places.

// position is a 1-based line and column in the source.
type position struct{ line, col int }

func (d *decoder) issueAt(p position, path, format string, args ...any) {
	if d.silent {
		return
	}
	if !d.frozen {
		d.bad[path] = true
	}
	d.issues = append(d.issues, Issue{File: d.file, Line: p.line, Col: p.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errorf reports an issue at the place path (or its nearest written
// ancestor) was written.
func (d *decoder) errorf(path, format string, args ...any) {
	d.issueAt(d.posOf(path), path, format, args...)
}

// posOf is where path was written, or its nearest written ancestor.
func (d *decoder) posOf(path string) position {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return position{1, 1}
		}
		path = parentPath(path)
	}
}

// has reports whether the file wrote path.
func (d *decoder) has(path string) bool {
	_, ok := d.pos[path]
	return ok
}

func (d *decoder) record(path string, p position, n ast.Node) {
	if _, ok := d.pos[path]; !ok {
		d.pos[path] = p
	}
	d.nodes[path] = n
}

// parentPath drops the last key or index of a key path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// nodePos is where a node starts: the first key of a mapping, the first
// character of a scalar.
func nodePos(n ast.Node) position {
	switch n := n.(type) {
	case nil:
		return position{1, 1}
	case *ast.MappingNode:
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return nodePos(n.Values[0])
		}
	case *ast.MappingValueNode:
		return nodePos(n.Key)
	case *ast.MappingKeyNode:
		if n.Value != nil {
			return nodePos(n.Value)
		}
	case *ast.LiteralNode:
		if n.Start != nil {
			return position{n.Start.Position.Line, n.Start.Position.Column}
		}
	case *ast.AnchorNode:
		if n.Value != nil {
			return nodePos(n.Value)
		}
	case *ast.TagNode:
		if n.Start != nil {
			return position{n.Start.Position.Line, n.Start.Position.Column}
		}
	case *ast.DocumentNode:
		if n.Body != nil {
			return nodePos(n.Body)
		}
		return position{1, 1}
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return position{tk.Position.Line, max(tk.Position.Column, 1)}
	}
	return position{1, 1}
}

// recordValue remembers where path was written: at its value when that is
// a scalar (messages are about the value), at its key otherwise.
func (d *decoder) recordValue(path string, keyPos position, value ast.Node) {
	p := keyPos
	if r := d.peek(value); r != nil {
		if k := scalarOf(r).kind; k != kindMapping && k != kindList {
			p = nodePos(r)
		}
	}
	d.record(path, p, value)
}

// peek follows anchors and aliases to the node they stand for, quietly:
// problems with them are reported when the value is decoded.
func (d *decoder) peek(n ast.Node) ast.Node {
	for range 64 { // aliases of aliases are rare; cycles end here
		switch m := n.(type) {
		case *ast.AnchorNode:
			n = m.Value
		case *ast.AliasNode:
			s, ok := m.Value.(ast.ScalarNode)
			if !ok || s == nil {
				return nil
			}
			n = d.anchors[fmt.Sprint(s.GetValue())]
		default:
			return n
		}
	}
	return nil
}

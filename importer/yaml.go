package importer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Node is a node of the YAML the importers write: a mapping with ordered
// keys, a list, or a scalar, each with an optional comment saying where it
// came from.
type Node struct {
	keys    []string
	vals    []*Node
	items   []*Node
	scalar  string
	kind    byte // 'm', 's' (sequence), 'v' (scalar)
	Comment string
	Flow    bool // write a list of scalars in flow style
}

// Map makes an empty mapping.
func Map() *Node { return &Node{kind: 'm'} }

// List makes a list of the given items.
func List(items ...*Node) *Node { return &Node{kind: 's', items: items} }

// Str makes a string scalar (always quoted).
func Str(s string) *Node { return &Node{kind: 'v', scalar: strconv.Quote(s)} }

// Raw makes a scalar of YAML text written as is ("null").
func Raw(text string) *Node { return &Node{kind: 'v', scalar: text} }

// Int makes an integer scalar.
func Int(i int64) *Node { return &Node{kind: 'v', scalar: strconv.FormatInt(i, 10)} }

// Float makes a number scalar.
func Float(f float64) *Node { return &Node{kind: 'v', scalar: strconv.FormatFloat(f, 'g', -1, 64)} }

// Bool makes a boolean scalar.
func Bool(b bool) *Node { return &Node{kind: 'v', scalar: strconv.FormatBool(b)} }

// Dur makes a duration scalar in the scenario's notation ("250ms").
func Dur(d time.Duration) *Node { return Str(FormatDuration(d)) }

// Strs makes a flow list of strings.
func Strs(ss ...string) *Node {
	n := List()
	for _, s := range ss {
		n.items = append(n.items, Str(s))
	}
	n.Flow = true
	return n
}

// FormatDuration writes d as the scenarios decoder reads it.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d%time.Microsecond == 0:
		return fmt.Sprintf("%dus", d/time.Microsecond)
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}

// With sets the node's comment and returns it.
func (n *Node) With(comment string) *Node { n.Comment = comment; return n }

// Has reports whether a mapping holds key.
func (n *Node) Has(key string) bool { return n.Get(key) != nil }

// Get returns the value of key in a mapping, or nil.
func (n *Node) Get(key string) *Node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// Set sets key in a mapping (replacing its value) and returns the mapping.
func (n *Node) Set(key string, v *Node) *Node {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return n
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
	return n
}

// Child returns the mapping at key, creating it when absent.
func (n *Node) Child(key string) *Node {
	if c := n.Get(key); c != nil {
		return c
	}
	c := Map()
	n.Set(key, c)
	return c
}

// Append adds items to a list.
func (n *Node) Append(items ...*Node) *Node { n.items = append(n.items, items...); return n }

// Len is the number of keys of a mapping or items of a list.
func (n *Node) Len() int {
	if n.kind == 'm' {
		return len(n.keys)
	}
	return len(n.items)
}

// Keys lists a mapping's keys in order.
func (n *Node) Keys() []string { return append([]string(nil), n.keys...) }

// Items lists a list's items.
func (n *Node) Items() []*Node { return n.items }

// Text is a scalar's YAML text.
func (n *Node) Text() string { return n.scalar }

// String renders the node as a YAML document.
func (n *Node) String() string {
	var b strings.Builder
	n.render(&b, 0)
	return b.String()
}

// Render writes the node indented by indent spaces.
func (n *Node) Render(indent int) string {
	var b strings.Builder
	n.render(&b, indent)
	return b.String()
}

func comment(c string) string {
	if c == "" {
		return ""
	}
	return " # " + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(c)
}

func (n *Node) inline() (string, bool) {
	switch {
	case n.kind == 'v':
		return n.scalar, true
	case n.kind == 'm' && len(n.keys) == 0:
		return "{}", true
	case n.kind == 's' && len(n.items) == 0:
		return "[]", true
	case n.kind == 's' && n.Flow:
		parts := make([]string, len(n.items))
		for i, it := range n.items {
			s, ok := it.inline()
			if !ok || it.Comment != "" {
				return "", false
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	}
	return "", false
}

func (n *Node) render(b *strings.Builder, indent int) {
	pad := strings.Repeat(" ", indent)
	switch n.kind {
	case 'm':
		for i, k := range n.keys {
			v := n.vals[i]
			if s, ok := v.inline(); ok {
				fmt.Fprintf(b, "%s%s: %s%s\n", pad, k, s, comment(v.Comment))
				continue
			}
			fmt.Fprintf(b, "%s%s:%s\n", pad, k, comment(v.Comment))
			if v.kind == 's' {
				v.render(b, indent)
			} else {
				v.render(b, indent+2)
			}
		}
	case 's':
		for _, it := range n.items {
			if s, ok := it.inline(); ok {
				fmt.Fprintf(b, "%s- %s%s\n", pad, s, comment(it.Comment))
				continue
			}
			if it.kind == 'm' {
				if it.Comment != "" {
					fmt.Fprintf(b, "%s#%s\n", pad, comment(it.Comment)[2:])
				}
				sub := it.Render(indent + 2)
				b.WriteString(pad + "- " + strings.TrimPrefix(sub, pad+"  "))
				continue
			}
			fmt.Fprintf(b, "%s-%s\n", pad, comment(it.Comment))
			it.render(b, indent+2)
		}
	default:
		fmt.Fprintf(b, "%s%s%s\n", pad, n.scalar, comment(n.Comment))
	}
}

// Flat renders the node on one line, without comments ("[a, b]", "{k: v}").
func (n *Node) Flat() string {
	switch n.kind {
	case 'm':
		parts := make([]string, len(n.keys))
		for i, k := range n.keys {
			parts[i] = k + ": " + n.vals[i].Flat()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 's':
		parts := make([]string, len(n.items))
		for i, it := range n.items {
			parts[i] = it.Flat()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return n.scalar
}

package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Pos is a 1-based line and column.
type Pos struct{ Line, Col int }

// Document is one YAML document of an input file: its text (for decoders
// that lose positions), its AST, and where each key path was written.
type Document struct {
	File string
	Text []byte
	Root ast.Node
	// Start is the position of the document's first line in the file.
	Start Pos
	pos   map[string]Pos
	nodes map[string]ast.Node
}

// Keys lists the key paths written in the document, in file order, each
// with its position. Paths use "." between keys and "[i]" for list items:
// "spec.http[0].route[1].weight".
func (d *Document) Keys() []string {
	keys := make([]string, 0, len(d.pos))
	for k := range d.pos {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := d.pos[a], d.pos[b]
		if pa.Line != pb.Line {
			return pa.Line - pb.Line
		}
		if pa.Col != pb.Col {
			return pa.Col - pb.Col
		}
		return strings.Compare(a, b)
	})
	return keys
}

// Has reports whether path was written.
func (d *Document) Has(path string) bool { _, ok := d.pos[path]; return ok }

// Node is the value written at path, or nil.
func (d *Document) Node(path string) ast.Node { return d.nodes[path] }

// PosOf is where path (or its nearest written ancestor) was written.
func (d *Document) PosOf(path string) Pos {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return d.Start
		}
		path = ParentPath(path)
	}
}

// At makes a finding located at path.
func (d *Document) At(path, resource string, sev Severity, format string, args ...any) Finding {
	p := d.PosOf(path)
	return Finding{File: d.File, Line: p.Line, Col: p.Col, Resource: resource, Path: path, Severity: sev, Msg: fmt.Sprintf(format, args...)}
}

// Where is "file:line:col" of path, for the comments of generated YAML.
func (d *Document) Where(path string) string {
	p := d.PosOf(path)
	return fmt.Sprintf("%s:%d:%d %s", d.File, p.Line, p.Col, path)
}

// ParentPath drops the last key or index of a key path.
func ParentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// Pattern turns a key path into its pattern: list indexes become "[]".
func Pattern(path string) string { return indexRE.ReplaceAllString(path, "[]") }

// OSFS is the machine's file system with paths as the os package takes
// them (absolute, or relative to the working directory, ".." allowed),
// which os.DirFS does not accept.
type OSFS struct{}

// Open opens a file.
func (OSFS) Open(name string) (fs.File, error) { return os.Open(name) }

// ReadFile reads a file.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// ReadDir lists a directory.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Stat describes a file.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// ReadFiles reads every file named, and the *.yaml, *.yml and *.json files
// of every directory named (not recursively), in name order, from fsys
// (nil: the machine's). It returns the files' names and contents.
func ReadFiles(fsys fs.FS, paths []string) (files []string, srcs [][]byte, err error) {
	if fsys == nil {
		fsys = OSFS{}
	}
	for _, p := range paths {
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := fs.ReadDir(fsys, p)
		if err != nil {
			return nil, nil, err
		}
		var found []string
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					found = append(found, path.Join(filepath.ToSlash(p), e.Name()))
				}
			}
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("%s: no .yaml, .yml or .json file in the directory", p)
		}
		files = append(files, found...)
	}
	for _, f := range files {
		src, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, nil, err
		}
		srcs = append(srcs, src)
	}
	return files, srcs, nil
}

var separatorRE = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// ParseFile splits src into its YAML documents ("---" lines) and parses
// each with positions. A syntax error is returned as an Invalid finding at
// its line and column.
func ParseFile(name string, src []byte) ([]*Document, Findings) {
	var docs []*Document
	var fs Findings
	starts := []int{0}
	for _, m := range separatorRE.FindAllIndex(src, -1) {
		starts = append(starts, m[0])
	}
	for i, start := range starts {
		end := len(src)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		text := src[start:end]
		lineOffset := strings.Count(string(src[:start]), "\n")
		if i > 0 { // blank out the separator line, keeping line numbers
			nl := strings.IndexByte(string(text), '\n')
			if nl < 0 {
				continue
			}
			text = append([]byte(strings.Repeat(" ", nl)), text[nl:]...)
		}
		if strings.TrimSpace(stripComments(string(text))) == "" {
			continue
		}
		doc, f := parseDoc(name, text, lineOffset)
		if f != nil {
			fs = append(fs, *f)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, fs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func parseDoc(name string, text []byte, lineOffset int) (doc *Document, bad *Finding) {
	defer func() {
		if r := recover(); r != nil {
			doc, bad = nil, &Finding{File: name, Line: lineOffset + 1, Col: 1, Severity: Invalid, Msg: fmt.Sprintf("syntax error: the YAML parser failed: %v", r)}
		}
	}()
	f, err := parser.ParseBytes(text, 0)
	if err != nil {
		p := Pos{1, 1}
		msg := err.Error()
		var ye yaml.Error
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				p = Pos{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
			}
		}
		return nil, &Finding{File: name, Line: p.Line + lineOffset, Col: p.Col, Severity: Invalid, Msg: "syntax error: " + msg}
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			body = d.Body
			break
		}
	}
	doc = &Document{File: name, Text: text, Root: body, Start: Pos{lineOffset + 1, 1}, pos: map[string]Pos{}, nodes: map[string]ast.Node{}}
	doc.walk(unwrap(body), "", lineOffset)
	return doc, nil
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func (d *Document) walk(n ast.Node, path string, off int) {
	switch m := n.(type) {
	case *ast.MappingNode:
		for _, mv := range m.Values {
			d.entry(mv, path, off)
		}
	case *ast.MappingValueNode:
		d.entry(m, path, off)
	case *ast.SequenceNode:
		for i, item := range m.Values {
			sub := fmt.Sprintf("%s[%d]", path, i)
			d.pos[sub] = nodePos(item, off)
			d.nodes[sub] = unwrap(item)
			d.walk(unwrap(item), sub, off)
		}
	}
}

func (d *Document) entry(mv *ast.MappingValueNode, path string, off int) {
	if mv.Key == nil {
		return
	}
	key := strings.Trim(mv.Key.String(), `"'`)
	sub := key
	if path != "" {
		sub = path + "." + key
	}
	if _, dup := d.pos[sub]; !dup {
		d.pos[sub] = nodePos(mv.Key, off)
	}
	d.nodes[sub] = unwrap(mv.Value)
	d.walk(unwrap(mv.Value), sub, off)
}

func nodePos(n ast.Node, off int) Pos {
	if n == nil {
		return Pos{off + 1, 1}
	}
	if mv, ok := n.(*ast.MappingValueNode); ok && mv.Key != nil {
		n = mv.Key
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && !m.IsFlowStyle {
		return nodePos(m.Values[0], off)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{off + 1, 1}
	}
	return Pos{tk.Position.Line + off, tk.Position.Column}
}

// Scalar is the text of a scalar node ("" for mappings, lists and null).
func Scalar(n ast.Node) (string, bool) {
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode:
		return fmt.Sprint(v.Value), true
	case *ast.FloatNode:
		return strconv.FormatFloat(v.Value, 'g', -1, 64), true
	case *ast.BoolNode:
		return strconv.FormatBool(v.Value), true
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value, true
		}
	}
	return "", false
}

// CamelCase turns snake_case into camelCase (protobuf's JSON names accept both).
func CamelCase(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// Unrepresented reports every key the document writes that meshbench does
// not represent: keys matched by none of the supported patterns (list
// indexes written "[]", free-form map keys "*"; a pattern also accepts
// its ancestors) and not ignored. norm normalises each key (camelCase for
// protobuf JSON names). Only the outermost unsupported key of a subtree
// is reported; label names the resource a path belongs to.
func Unrepresented(d *Document, label func(path string) string, supported []string, ignore func(pat string) bool, norm func(string) string) Findings {
	var fs Findings
	var skip []string
	for _, path := range d.Keys() {
		if strings.HasSuffix(path, "]") {
			continue
		}
		if slices.ContainsFunc(skip, func(p string) bool { return strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") }) {
			continue
		}
		segs := strings.Split(Pattern(path), ".")
		for i, s := range segs {
			segs[i] = norm(s)
		}
		pat := strings.Join(segs, ".")
		if (ignore != nil && ignore(pat)) || matchAny(segs, supported) {
			continue
		}
		fs = append(fs, d.At(path, label(path), Unsupported, "meshbench cannot represent this field; it is left out (docs/import.md)"))
		skip = append(skip, path)
	}
	return fs
}

func matchAny(segs []string, patterns []string) bool {
	for _, p := range patterns {
		ps := strings.Split(p, ".")
		if len(ps) < len(segs) {
			continue
		}
		ok := true
		for i, s := range segs {
			if strings.TrimSuffix(ps[i], "[]") != strings.TrimSuffix(s, "[]") && ps[i] != "*" {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// AtValue makes a finding located at the value written at path (at the
// key when the value is a mapping or a list).
func (d *Document) AtValue(path, resource string, sev Severity, format string, args ...any) Finding {
	f := d.At(path, resource, sev, format, args...)
	if n, ok := d.nodes[path]; ok {
		if _, scalar := Scalar(n); scalar {
			p := nodePos(n, d.Start.Line-1)
			f.Line, f.Col = p.Line, p.Col
		}
	}
	return f
}

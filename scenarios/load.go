package scenarios

import (
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads and resolves the scenario file at path. When the file is not a
// valid scenario the error is a *ValidationError listing every issue;
// errors reading the file are returned wrapped.
func Load(path string) (*Plan, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	return LoadBytes(path, src)
}

// LoadBytes reads and resolves a scenario from src; name is the file name
// used in messages and kept as Plan.Path. It decodes strictly, applies the
// defaults, merges each variant's policy and load overrides over the
// scenario's, and validates the result; every problem found is returned in
// one *ValidationError.
func LoadBytes(name string, src []byte) (*Plan, error) {
	d := newDecoder(name)
	root, ok := d.parse(src)
	if !ok {
		return nil, newValidationError(d.issues)
	}
	s := new(Scenario)
	s.setDefaults()
	d.collectAnchors(root)
	d.record("", nodePos(root), root)
	if k := scalarOf(d.peek(root)).kind; k != kindMapping {
		d.issueAt(nodePos(root), "", "a scenario is a mapping of keys (apiVersion, kind, name, ...), got %s", scalarOf(d.peek(root)).describe())
		return nil, newValidationError(d.issues)
	}
	d.value(root, "", reflect.ValueOf(s).Elem())
	fsys, base := importSource(name, src)
	importVariants(d, s, fsys, base)
	resolveVariants(d, s)
	s.finalize(d.has)
	mergeVariantLoads(d, s)
	d.frozen = true
	validate(d, s)
	if err := newValidationError(d.issues); err != nil {
		return nil, err
	}
	for i := range s.Variants {
		s.Variants[i].From = nil // resolved: the plan holds its policy and weights
	}
	plan := &Plan{Path: name, Source: src, Scenario: *s, Notes: newNotes(d.notes)}
	plan.checkSweep(d) // the sweep's values are checked on the valid scenario
	if err := newValidationError(d.issues); err != nil {
		return nil, err
	}
	return plan, nil
}

// parse parses src as exactly one YAML document and returns its body.
func (d *decoder) parse(src []byte) (root ast.Node, ok bool) {
	defer func() {
		// A parser bug must not take the CLI down with it: report it as a syntax error.
		if r := recover(); r != nil {
			d.issueAt(position{1, 1}, "", "syntax error: the YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		d.syntaxError(err)
		return nil, false
	}
	var docs []*ast.DocumentNode
	for _, doc := range file.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		d.issueAt(position{1, 1}, "", "the file is empty: a scenario needs apiVersion, kind, name, duration, topology and load")
		return nil, false
	case len(docs) > 1:
		d.issueAt(nodePos(docs[1]), "", "a scenario file holds one YAML document, found %d", len(docs))
		return nil, false
	}
	return docs[0].Body, true
}

// syntaxError reports a parser error at its position.
func (d *decoder) syntaxError(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := position{1, 1}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p = position{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
		}
		d.issueAt(p, "", "syntax error: %s", ye.GetMessage())
		return
	}
	d.issueAt(position{1, 1}, "", "syntax error: %v", err)
}

package config

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Duration is a time.Duration written in configuration as a Go duration
// string ("250ms", "1.5s", "2m"). It exists so that a malformed value is
// reported with its line and column, which goccy/go-yaml does not do for
// time.Duration itself.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a duration string, naming the node's position on
// error.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return posErrorf(n, "want a duration such as 250ms or 1.5s, got %s", n.Type())
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		return posErrorf(n, "%v", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration string, for the admin /config view.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// posError is a decoding error that knows where in the YAML source it is.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return fmt.Sprintf("[%d:%d] %s", e.line, e.col, e.msg) }

func posErrorf(n ast.Node, format string, args ...any) error {
	p := n.GetToken().Position
	return &posError{line: p.Line, col: p.Column, msg: fmt.Sprintf(format, args...)}
}

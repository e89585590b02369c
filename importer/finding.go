package importer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says how a finding affects the import.
type Severity int

const (
	// Unsupported: a field meshbench cannot represent; it is left out
	// (an error under --strict).
	Unsupported Severity = iota
	// Approximated: a field mapped onto a meshbench key whose semantics
	// differ; the note says how (an error under --strict).
	Approximated
	// Invalid: the input is malformed (bad YAML, unknown kind, wrong type);
	// always an error.
	Invalid
)

func (s Severity) String() string {
	switch s {
	case Unsupported:
		return "unsupported"
	case Approximated:
		return "approximated"
	default:
		return "error"
	}
}

// Finding is one thing an import reports, located in its input file.
type Finding struct {
	File     string
	Line     int
	Col      int
	Resource string // "VirtualService payments", "plugin rate-limiting", ...
	Path     string // key path inside the resource, e.g. "spec.http[0].mirror"
	Severity Severity
	Msg      string
}

// String formats the finding as "file:line:col: severity: resource: path: message".
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s: ", f.File, f.Line, f.Col, f.Severity)
	if f.Resource != "" {
		b.WriteString(f.Resource + ": ")
	}
	if f.Path != "" {
		b.WriteString(f.Path + ": ")
	}
	b.WriteString(f.Msg)
	return b.String()
}

// Findings is the list an import returns, sorted by position.
type Findings []Finding

// Sorted returns the findings sorted by file, line and column, without duplicates.
func (fs Findings) Sorted() Findings {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(out)
}

// Errors returns the findings that fail the import: every Invalid one,
// and with strict every one.
func (fs Findings) Errors(strict bool) Findings {
	var out Findings
	for _, f := range fs {
		if strict || f.Severity == Invalid {
			out = append(out, f)
		}
	}
	return out
}

// Error is the error an import returns when its input is malformed (or,
// under --strict, holds anything meshbench cannot represent exactly).
type Error struct{ Findings Findings }

func (e *Error) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// Check returns an *Error holding fs.Errors(strict), or nil when there is none.
func (fs Findings) Check(strict bool) error {
	if errs := fs.Errors(strict); len(errs) > 0 {
		return &Error{Findings: errs.Sorted()}
	}
	return nil
}

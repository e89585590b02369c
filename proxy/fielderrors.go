package proxy

import (
	"errors"
	"fmt"
	"strings"
)

// ConfigError is one problem with a configuration: where it is (File, Line
// and Col when it came from a file; Path always, e.g. "routes[2].match.regex")
// and what is wrong.
type ConfigError struct {
	File      string
	Line, Col int
	Path      string
	Err       error
}

// Error formats the error as "file:line:col: path: message", leaving out
// what is unknown.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// fieldErrors collects every problem found while building a configuration,
// so that one pass reports them all.
type fieldErrors struct {
	list []*ConfigError
}

func (f *fieldErrors) add(path string, err error) {
	f.list = append(f.list, &ConfigError{Path: path, Err: err})
}

func (f *fieldErrors) err() error {
	if len(f.list) == 0 {
		return nil
	}
	errs := make([]error, len(f.list))
	for i, e := range f.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

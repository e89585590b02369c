package config

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

// Under returns err with the key path of every *ConfigError in it (one, or
// a join of them, as Validate and the Policies methods return) put under
// prefix: "balancer" under "clusters[2]" becomes "clusters[2].balancer",
// and "" becomes "clusters[2]". Other errors become *ConfigErrors at
// prefix. The errors in err are not modified. Under(prefix, nil) is nil.
func Under(prefix string, err error) error {
	var list []error
	each(err, func(e error) {
		if ce, ok := e.(*ConfigError); ok {
			c := *ce
			c.Path = joinPath(prefix, ce.Path)
			list = append(list, &c)
			return
		}
		list = append(list, &ConfigError{Path: prefix, Err: e})
	})
	return errors.Join(list...)
}

// each calls f for every error joined in err, or for err itself when it is
// not a join; nothing for nil.
func each(err error, f func(error)) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			each(e, f)
		}
		return
	}
	if err != nil {
		f(err)
	}
}

// joinPath puts the key path p under prefix.
func joinPath(prefix, p string) string {
	switch {
	case p == "":
		return prefix
	case prefix == "" || p[0] == '[':
		return prefix + p
	}
	return prefix + "." + p
}

// fieldErrors collects every problem found in a configuration, so that one
// pass reports them all.
type fieldErrors struct {
	list []error
}

func (f *fieldErrors) add(path string, err error) {
	f.list = append(f.list, &ConfigError{Path: path, Err: err})
}

// addUnder adds the errors of err (see Under) under prefix.
func (f *fieldErrors) addUnder(prefix string, err error) {
	each(Under(prefix, err), func(e error) { f.list = append(f.list, e) })
}

func (f *fieldErrors) err() error { return errors.Join(f.list...) }

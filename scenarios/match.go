package scenarios

import (
	"regexp"
	"strings"
)

// compileMatch compiles a route's pathRegex, anchored at both ends: as in
// Envoy's safe_regex, the regex must match the whole path.
func compileMatch(expr string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + expr + `)$`)
}

// Matcher is a gateway route's match compiled for use, applied to the
// requests a workload sends with Envoy's route match semantics: the path
// condition (exact, prefix, or a regex that must match the whole path) and
// every other condition given must hold. The query string is not part of
// the path; an empty path is "/" and an empty method GET. Validation and
// the simulator route with it, so a request that validates as routed is
// routed the same way when simulated.
type Matcher struct {
	m  Match
	re *regexp.Regexp // nil without pathRegex
}

// Compile compiles m; the only error is an invalid pathRegex, which
// validation has already reported for a loaded scenario.
func (m Match) Compile() (*Matcher, error) {
	mt := &Matcher{m: m}
	if m.PathRegex != "" {
		re, err := compileMatch(m.PathRegex)
		if err != nil {
			return nil, err
		}
		mt.re = re
	}
	return mt, nil
}

// Matches reports whether r is routed by the match.
func (mt *Matcher) Matches(r Request) bool {
	m := &mt.m
	path, _, _ := strings.Cut(r.Path, "?")
	if path == "" {
		path = "/"
	}
	switch {
	case m.Path != "" && path != m.Path:
		return false
	case m.PathPrefix != "" && !strings.HasPrefix(path, m.PathPrefix):
		return false
	case mt.re != nil && !mt.re.MatchString(path):
		return false
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	if m.Method != "" && m.Method != method {
		return false
	}
	if m.Host != "" && !strings.EqualFold(m.Host, r.Host) {
		return false
	}
	for k, want := range m.Headers {
		if got, ok := HeaderValue(r.Headers, k); !ok || got != want {
			return false
		}
	}
	return true
}

// HeaderValue looks a header up in a workload's headers case-insensitively,
// as HTTP does.
func HeaderValue(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

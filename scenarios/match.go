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

// matches reports whether the match selects the request a workload sends.
func (m Match) matches(r Request) bool {
	if m.Method != "" && m.Method != r.Method {
		return false
	}
	if m.Host != "" && !strings.EqualFold(m.Host, r.Host) {
		return false
	}
	for k, want := range m.Headers {
		got, ok := headerValue(r.Headers, k)
		if !ok || got != want {
			return false
		}
	}
	switch {
	case m.Path != "":
		return r.Path == m.Path
	case m.PathPrefix != "":
		return strings.HasPrefix(r.Path, m.PathPrefix)
	case m.PathRegex != "":
		re, err := compileMatch(m.PathRegex)
		return err == nil && re.MatchString(r.Path)
	}
	return true
}

// headerValue looks a header up case-insensitively, as HTTP does.
func headerValue(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

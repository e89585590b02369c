package config

import (
	"fmt"
	"net/textproto"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Matcher is a compiled MatchConfig: a request matches when its host,
// path, method and header fields all do, as an Envoy route match. The zero
// Matcher matches every request. A Matcher is immutable and safe for
// concurrent use.
type Matcher struct {
	hostKind hostKind
	host     string // lower-case exact host, or the suffix after "*" for wildcards

	pathKind pathKind
	path     string // exact path or prefix
	re       *regexp.Regexp

	methods []string
	headers []headerMatcher
}

type hostKind uint8

const (
	hostAny hostKind = iota
	hostExact
	hostSuffix
)

type pathKind uint8

const (
	pathAny pathKind = iota
	pathExact
	pathPrefix
	pathRegex
)

type headerKind uint8

const (
	headerPresent headerKind = iota
	headerExact
	headerPrefix
	headerRegex
)

type headerMatcher struct {
	name   string // canonical
	kind   headerKind
	value  string // exact value or prefix
	re     *regexp.Regexp
	invert bool
}

// Fields is what a route match reads of a request's header fields: the
// proxy passes an http.Header or its fast path's fields as they came, the
// simulator its modelled request.
type Fields interface {
	// Joined returns the values of the field with the canonical name
	// (textproto.CanonicalMIMEHeaderKey), joined with ",", and whether
	// the field is present.
	Joined(name string) (value string, present bool)
}

// Compile checks m and compiles it. Errors are *ConfigErrors with key
// paths relative to the match ("regex", "headers[1].name"; "" for the
// match as a whole), all of them joined; see Under.
func (m MatchConfig) Compile() (Matcher, error) {
	var c Matcher
	var errs fieldErrors
	switch h := strings.ToLower(m.Host); {
	case h == "" || h == "*":
	case strings.HasPrefix(h, "*."):
		c.hostKind, c.host = hostSuffix, h[1:]
	case strings.Contains(h, "*"):
		errs.add("host", fmt.Errorf("wildcard only as a leading \"*.\" label: %q", m.Host))
	default:
		c.hostKind, c.host = hostExact, h
	}
	set := 0
	if m.Path != "" {
		set++
		c.pathKind, c.path = pathExact, m.Path
	}
	if m.Prefix != "" {
		set++
		c.pathKind, c.path = pathPrefix, m.Prefix
	}
	if m.Regex != "" {
		set++
		c.pathKind, c.re = pathRegex, compileAnchored(m.Regex, &errs, "regex")
	}
	if set > 1 {
		errs.add("", fmt.Errorf("set only one of path, prefix and regex"))
	}
	for _, p := range []string{m.Path, m.Prefix} {
		if p != "" && !strings.HasPrefix(p, "/") {
			errs.add("", fmt.Errorf("path %q must start with /", p))
		}
	}
	for _, meth := range m.Methods {
		if meth == "" || strings.ContainsAny(meth, " \t/") {
			errs.add("methods", fmt.Errorf("bad method %q", meth))
		}
		c.methods = append(c.methods, strings.ToUpper(meth))
	}
	for i, h := range m.Headers {
		hp := fmt.Sprintf("headers[%d]", i)
		if h.Name == "" {
			errs.add(hp+".name", fmt.Errorf("header name is required"))
		}
		hm := headerMatcher{name: textproto.CanonicalMIMEHeaderKey(h.Name), invert: h.Invert}
		n := 0
		if h.Exact != "" {
			n++
			hm.kind, hm.value = headerExact, h.Exact
		}
		if h.Prefix != "" {
			n++
			hm.kind, hm.value = headerPrefix, h.Prefix
		}
		if h.Regex != "" {
			n++
			hm.kind, hm.re = headerRegex, compileAnchored(h.Regex, &errs, hp+".regex")
		}
		if n > 1 {
			errs.add(hp, fmt.Errorf("set only one of exact, prefix and regex"))
		}
		c.headers = append(c.headers, hm)
	}
	return c, errs.err()
}

// compileAnchored compiles an RE2 pattern that must match the whole input,
// as Envoy's safe_regex; errors quote the pattern as written.
func compileAnchored(pattern string, errs *fieldErrors, p string) *regexp.Regexp {
	if _, err := regexp.Compile(pattern); err != nil {
		errs.add(p, err)
		return nil
	}
	return regexp.MustCompile(`^(?:` + pattern + `)$`)
}

// Match reports whether a request matches: method as sent, host as HostKey
// returns it, p the path as sent (escapes included) after the route's
// PathNormalizer, and fields its header fields.
func (m *Matcher) Match(method, host, p string, fields Fields) bool {
	switch m.hostKind {
	case hostSuffix:
		if !strings.HasSuffix(host, m.host) || len(host) == len(m.host) {
			return false
		}
	case hostExact:
		if host != m.host {
			return false
		}
	}
	switch m.pathKind {
	case pathExact:
		if p != m.path {
			return false
		}
	case pathPrefix:
		if !strings.HasPrefix(p, m.path) {
			return false
		}
	case pathRegex:
		if !m.re.MatchString(p) {
			return false
		}
	}
	if len(m.methods) > 0 && !slices.Contains(m.methods, method) {
		return false
	}
	for i := range m.headers {
		if !m.headers[i].match(fields) {
			return false
		}
	}
	return true
}

func (h *headerMatcher) match(fields Fields) bool {
	v, present := fields.Joined(h.name)
	ok := present
	if present {
		switch h.kind {
		case headerExact:
			ok = v == h.value
		case headerPrefix:
			ok = strings.HasPrefix(v, h.value)
		case headerRegex:
			ok = h.re.MatchString(v)
		}
	}
	return ok != h.invert
}

// HostKey is the host routes match, from a Host field or an authority:
// without the port and the brackets of an IPv6 literal, in lower case.
func HostKey(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// CleanPath normalises a path the way Envoy's normalize_path and
// merge_slashes do, so that "/public/../admin" cannot reach a route meant
// for "/admin" through one for "/public/": dot segments are resolved and
// repeated slashes merged; a trailing slash is kept. The proxy's routes
// normalise paths with their PathNormalizer instead (none by default).
// Clean paths (the common case) are returned without allocating.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

package proxy

import (
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"
)

// matcher is a compiled MatchConfig. A request matches when its host, path,
// method and headers all do, as an Envoy route match.
type matcher struct {
	host       string // lower-case exact host, or the suffix after "*" for wildcards
	hostSuffix bool
	anyHost    bool

	pathKind pathKind
	path     string // exact path or prefix
	re       *regexp.Regexp

	methods []string
	headers []headerMatcher
}

type pathKind int

const (
	pathAny pathKind = iota
	pathExact
	pathPrefix
	pathRegex
)

type headerMatcher struct {
	name   string // canonical
	exact  string
	prefix string
	re     *regexp.Regexp
	kind   int // 0 present, 1 exact, 2 prefix, 3 regex
	invert bool
}

// compileMatch validates and compiles m; errors name the key under path p.
func compileMatch(m MatchConfig, errs *fieldErrors, p string) matcher {
	var c matcher
	switch h := strings.ToLower(m.Host); {
	case h == "" || h == "*":
		c.anyHost = true
	case strings.HasPrefix(h, "*."):
		c.host, c.hostSuffix = h[1:], true
	case strings.Contains(h, "*"):
		errs.add(p+".host", fmt.Errorf("wildcard only as a leading \"*.\" label: %q", m.Host))
	default:
		c.host = h
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
		c.pathKind, c.re = pathRegex, compileAnchored(m.Regex, errs, p+".regex")
	}
	if set > 1 {
		errs.add(p, fmt.Errorf("set only one of path, prefix and regex"))
	}
	for _, pth := range []string{m.Path, m.Prefix} {
		if pth != "" && !strings.HasPrefix(pth, "/") {
			errs.add(p, fmt.Errorf("path %q must start with /", pth))
		}
	}
	for _, meth := range m.Methods {
		if meth == "" || strings.ContainsAny(meth, " \t/") {
			errs.add(p+".methods", fmt.Errorf("bad method %q", meth))
		}
		c.methods = append(c.methods, strings.ToUpper(meth))
	}
	for i, h := range m.Headers {
		hp := fmt.Sprintf("%s.headers[%d]", p, i)
		if h.Name == "" {
			errs.add(hp+".name", fmt.Errorf("header name is required"))
		}
		hm := headerMatcher{name: http.CanonicalHeaderKey(h.Name), invert: h.Invert}
		n := 0
		if h.Exact != "" {
			n++
			hm.kind, hm.exact = 1, h.Exact
		}
		if h.Prefix != "" {
			n++
			hm.kind, hm.prefix = 2, h.Prefix
		}
		if h.Regex != "" {
			n++
			hm.kind, hm.re = 3, compileAnchored(h.Regex, errs, hp+".regex")
		}
		if n > 1 {
			errs.add(hp, fmt.Errorf("set only one of exact, prefix and regex"))
		}
		c.headers = append(c.headers, hm)
	}
	return c
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

// match reports whether the request matches; host is lower-case without
// port, p the cleaned path.
func (m *matcher) match(method string, hdr fieldSource, host, p string) bool {
	switch {
	case m.anyHost:
	case m.hostSuffix:
		if !strings.HasSuffix(host, m.host) || len(host) == len(m.host) {
			return false
		}
	case host != m.host:
		return false
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
	if len(m.methods) > 0 {
		ok := false
		for _, meth := range m.methods {
			if meth == method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for i := range m.headers {
		if !m.headers[i].match(hdr) {
			return false
		}
	}
	return true
}

func (h *headerMatcher) match(hdr fieldSource) bool {
	v, present := hdr.joined(h.name)
	ok := present
	if present && h.kind != 0 {
		switch h.kind {
		case 1:
			ok = v == h.exact
		case 2:
			ok = strings.HasPrefix(v, h.prefix)
		case 3:
			ok = h.re.MatchString(v)
		}
	}
	return ok != h.invert
}

// fieldSource is what routing reads of a request's header fields: an
// http.Header, or the fast path's fields as they came (fastpath.go).
type fieldSource interface {
	// joined returns the values of the field with the canonical name,
	// joined with ",", and whether the field is present.
	joined(name string) (string, bool)
}

// headerFields is an http.Header as a fieldSource.
type headerFields http.Header

func (h headerFields) joined(name string) (string, bool) {
	vs, ok := h[name]
	switch {
	case !ok:
		return "", false
	case len(vs) == 1:
		return vs[0], true
	}
	return strings.Join(vs, ","), true
}

// requestHost returns the request's host, lower-cased, without port.
func requestHost(r *http.Request) string {
	h := r.Host
	if h == "" {
		h = r.URL.Host
	}
	return hostKey(h)
}

// hostKey is the host routes match: without the port and the brackets of
// an IPv6 literal, in lower case.
func hostKey(h string) string {
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

// cleanPath normalises a path the way Envoy's normalize_path and
// merge_slashes do, so that "/public/../admin" cannot reach a route meant
// for "/admin" through one for "/public/": dot segments are resolved and
// repeated slashes merged; a trailing slash is kept. Clean paths (the common
// case) are returned without allocating.
func cleanPath(p string) string {
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

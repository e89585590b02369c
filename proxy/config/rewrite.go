package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Rewriter is a compiled RewriteConfig: what a route changes in the
// request it forwards. The zero Rewriter forwards the path and Host
// unchanged. A Rewriter is immutable and safe for concurrent use.
type Rewriter struct {
	kind        rewriteKind
	path        string // replacement path or prefix
	matchPrefix string // the route's match.prefix, for prefix and strip
	re          *regexp.Regexp
	sub         string

	host             string
	hostFromEndpoint bool
}

type rewriteKind uint8

const (
	rewriteNone rewriteKind = iota
	rewritePath
	rewritePrefix
	rewriteStrip
	rewriteRegex
)

// Compile checks rw and compiles it for a route whose match is m (prefix
// rewrites replace the part m.Prefix matched). Errors are *ConfigErrors
// with key paths relative to the rewrite ("regex.pattern"; "" for the
// rewrite as a whole), all of them joined; see Under.
func (rw RewriteConfig) Compile(m MatchConfig) (Rewriter, error) {
	var c Rewriter
	var errs fieldErrors
	n := 0
	if rw.Path != "" {
		n++
		c.kind, c.path = rewritePath, rw.Path
		if !strings.HasPrefix(rw.Path, "/") {
			errs.add("path", fmt.Errorf("must start with /"))
		}
	}
	if rw.Prefix != "" {
		n++
		c.kind, c.path = rewritePrefix, rw.Prefix
	}
	if rw.StripPrefix {
		n++
		c.kind = rewriteStrip
	}
	if rw.Regex != nil {
		n++
		re, err := regexp.Compile(rw.Regex.Pattern)
		if err != nil {
			errs.add("regex.pattern", err)
		}
		c.kind, c.re, c.sub = rewriteRegex, re, rw.Regex.Substitution
	}
	if n > 1 {
		errs.add("", fmt.Errorf("set only one of path, prefix, stripPrefix and regex"))
	}
	if (c.kind == rewritePrefix || c.kind == rewriteStrip) && m.Prefix == "" {
		errs.add("", fmt.Errorf("prefix and stripPrefix need match.prefix"))
	}
	c.matchPrefix = m.Prefix
	c.host, c.hostFromEndpoint = rw.Host, rw.HostFromEndpoint
	if rw.Host != "" && rw.HostFromEndpoint {
		errs.add("", fmt.Errorf("set only one of host and hostFromEndpoint"))
	}
	return c, errs.err()
}

// Path returns the path to forward for the request path p, as the route
// matched it (escaped, normalised by its PathNormalizer).
func (c *Rewriter) Path(p string) string {
	switch c.kind {
	case rewritePath:
		return c.path
	case rewritePrefix:
		return c.path + strings.TrimPrefix(p, c.matchPrefix)
	case rewriteStrip:
		rest := strings.TrimPrefix(p, c.matchPrefix)
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		return rest
	case rewriteRegex:
		if c.re == nil {
			return p
		}
		out := c.re.ReplaceAllString(p, c.sub)
		if !strings.HasPrefix(out, "/") {
			out = "/" + out
		}
		return out
	}
	return p
}

// Host returns the Host to forward; "" keeps the request's.
func (c *Rewriter) Host() string { return c.host }

// HostFromEndpoint reports whether the Host forwarded is the chosen
// endpoint's address, as Envoy's auto_host_rewrite.
func (c *Rewriter) HostFromEndpoint() bool { return c.hostFromEndpoint }

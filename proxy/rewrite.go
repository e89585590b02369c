package proxy

import (
	"fmt"
	"regexp"
	"strings"
)

// rewriter is a compiled RewriteConfig.
type rewriter struct {
	kind        rewriteKind
	path        string // replacement path or prefix
	matchPrefix string // the route's match.prefix, for prefix and strip
	re          *regexp.Regexp
	sub         string

	host             string
	hostFromEndpoint bool
}

type rewriteKind int

const (
	rewriteNone rewriteKind = iota
	rewritePath
	rewritePrefix
	rewriteStrip
	rewriteRegex
)

func compileRewrite(rw RewriteConfig, m MatchConfig, errs *fieldErrors, p string) rewriter {
	var c rewriter
	n := 0
	if rw.Path != "" {
		n++
		c.kind, c.path = rewritePath, rw.Path
		if !strings.HasPrefix(rw.Path, "/") {
			errs.add(p+".path", fmt.Errorf("must start with /"))
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
			errs.add(p+".regex.pattern", err)
		}
		c.kind, c.re, c.sub = rewriteRegex, re, rw.Regex.Substitution
	}
	if n > 1 {
		errs.add(p, fmt.Errorf("set only one of path, prefix, stripPrefix and regex"))
	}
	if (c.kind == rewritePrefix || c.kind == rewriteStrip) && m.Prefix == "" {
		errs.add(p, fmt.Errorf("prefix and stripPrefix need match.prefix"))
	}
	c.matchPrefix = m.Prefix
	c.host, c.hostFromEndpoint = rw.Host, rw.HostFromEndpoint
	if rw.Host != "" && rw.HostFromEndpoint {
		errs.add(p, fmt.Errorf("set only one of host and hostFromEndpoint"))
	}
	return c
}

// rewritePath returns the path to forward for the (cleaned) request path p.
func (c *rewriter) rewritePath(p string) string {
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

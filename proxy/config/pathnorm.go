package config

import (
	"fmt"
	"strings"
)

// PathNormalizationConfig is how a route normalises a request's path
// before matching it, as Envoy's merge_slashes, normalize_path and
// path_with_escaped_slashes_action do. By default (the zero value) nothing
// is changed: the route matches the path byte for byte as the client sent
// it, escapes included, and the same bytes are forwarded (after any
// rewrite), as Envoy keeps escaped slashes unchanged by default. Whatever
// is set, the route matches the normalised path and forwards it, so the
// upstream sees the path the route matched.
//
// Without dotSegments a route that guards a part of the path space by
// prefix ("/public/") also matches "/public/../admin", which an upstream
// that resolves dot segments serves as "/admin": set dotSegments (and
// mergeSlashes) on such routes.
type PathNormalizationConfig struct {
	// MergeSlashes merges repeated slashes ("/a//b" → "/a/b").
	MergeSlashes bool `yaml:"mergeSlashes,omitempty" json:"mergeSlashes,omitempty"`
	// DotSegments resolves "." and ".." segments (RFC 3986 section
	// 5.2.4), their percent-encoded forms ("%2e", "%2E") included; ".."
	// never climbs above the root. A trailing slash is kept.
	DotSegments bool `yaml:"dotSegments,omitempty" json:"dotSegments,omitempty"`
	// EscapedSlashes is what to do with an escaped slash ("%2F", "%2f")
	// in the path: "keep" (the default) matches and forwards it as sent,
	// "reject" answers 400 to a request whose path has one and that the
	// route matches, "unescape" turns it into "/" before the other steps
	// (so "..%2f" is a dot segment when DotSegments is set).
	EscapedSlashes string `yaml:"escapedSlashes,omitempty" json:"escapedSlashes,omitempty"`
}

// Values of PathNormalizationConfig.EscapedSlashes.
const (
	EscapedSlashesKeep     = "keep"
	EscapedSlashesReject   = "reject"
	EscapedSlashesUnescape = "unescape"
)

// PathNormalizer is a compiled PathNormalizationConfig. The zero
// PathNormalizer changes nothing; PathNormalizers are comparable, so that
// routes with the same settings can share one normalisation.
type PathNormalizer struct {
	mergeSlashes, dotSegments bool
	escapedSlashes            escapedSlashes
}

type escapedSlashes uint8

const (
	slashesKeep escapedSlashes = iota
	slashesReject
	slashesUnescape
)

// Compile checks n. Errors are *ConfigErrors with key paths relative to
// the normalisation ("escapedSlashes"); see Under.
func (n PathNormalizationConfig) Compile() (PathNormalizer, error) {
	c := PathNormalizer{mergeSlashes: n.MergeSlashes, dotSegments: n.DotSegments}
	var errs fieldErrors
	switch n.EscapedSlashes {
	case "", EscapedSlashesKeep:
	case EscapedSlashesReject:
		c.escapedSlashes = slashesReject
	case EscapedSlashesUnescape:
		c.escapedSlashes = slashesUnescape
	default:
		errs.add("escapedSlashes", fmt.Errorf("%q is not one of keep, reject and unescape", n.EscapedSlashes))
	}
	return c, errs.err()
}

// IsZero reports whether n changes nothing.
func (n PathNormalizer) IsZero() bool { return n == PathNormalizer{} }

// Normalize returns the path p (as sent: escaped) normalised, and
// rejected true when it has an escaped slash that n refuses; the path
// returned then has the other steps applied. A path that needs no change
// is returned without allocating.
func (n PathNormalizer) Normalize(p string) (out string, rejected bool) {
	if n.escapedSlashes != slashesKeep && hasEscapedSlash(p) {
		if n.escapedSlashes == slashesReject {
			rejected = true
		} else {
			p = unescapeSlashes(p)
		}
	}
	if n.mergeSlashes && strings.Contains(p, "//") {
		p = mergeSlashes(p)
	}
	if n.dotSegments && (strings.Contains(p, "/.") || strings.Contains(p, "/%2")) {
		p = removeDotSegments(p)
	}
	return p, rejected
}

func hasEscapedSlash(p string) bool {
	for i := 0; i+2 < len(p); i++ {
		if p[i] == '%' && p[i+1] == '2' && (p[i+2] == 'F' || p[i+2] == 'f') {
			return true
		}
	}
	return false
}

func unescapeSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && p[i+1] == '2' && (p[i+2] == 'F' || p[i+2] == 'f') {
			b.WriteByte('/')
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func mergeSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// dotSegment reports whether a path segment is "." (1) or ".." (2), in
// plain or percent-encoded form, and 0 otherwise.
func dotSegment(s string) int {
	dots := 0
	for i := 0; i < len(s); {
		switch {
		case s[i] == '.':
			i++
		case strings.HasPrefix(s[i:], "%2e"), strings.HasPrefix(s[i:], "%2E"):
			i += 3
		default:
			return 0
		}
		if dots++; dots > 2 {
			return 0
		}
	}
	return dots
}

// removeDotSegments resolves the dot segments of an absolute path, as
// RFC 3986 section 5.2.4 does, keeping empty segments (merging them is
// MergeSlashes's business) and a trailing slash.
func removeDotSegments(p string) string {
	if p == "" || p[0] != '/' {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch dotSegment(s) {
		case 1:
			trailing = last
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	r := "/" + strings.Join(out, "/")
	if trailing && !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r
}

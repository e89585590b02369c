package mtls

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Pattern matches SPIFFE IDs, with the forms of Istio's principal matching
// plus segment globs:
//
//   - any verified peer
//     spiffe://td/ns/prod/sa/payments      exactly this ID
//     spiffe://td/ns/prod/*                every ID that starts with "spiffe://td/ns/prod/"
//     */sa/payments                        every ID that ends with "/sa/payments"
//     spiffe://td/ns/*/sa/payments         "*" stands for one path segment (no "/")
//
// A pattern without "*" must be a valid SPIFFE ID.
type Pattern struct {
	raw   string
	kind  patternKind
	parts []string // glob: the text around each "*"
}

type patternKind int

const (
	patAny patternKind = iota
	patExact
	patPrefix
	patSuffix
	patGlob
)

// ParsePattern parses one pattern.
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{raw: s}
	stars := strings.Count(s, "*")
	switch {
	case s == "":
		return p, errors.New("empty SPIFFE ID pattern")
	case s == "*":
		p.kind = patAny
	case stars == 0:
		if _, err := spiffeid.FromString(s); err != nil {
			return p, fmt.Errorf("pattern %q: %w", s, err)
		}
		p.kind = patExact
	case stars == 1 && strings.HasSuffix(s, "*"):
		p.kind, p.parts = patPrefix, []string{strings.TrimSuffix(s, "*")}
	case stars == 1 && strings.HasPrefix(s, "*"):
		p.kind, p.parts = patSuffix, []string{strings.TrimPrefix(s, "*")}
	default:
		if strings.Contains(s, "**") {
			return p, fmt.Errorf("pattern %q: \"**\" is not supported", s)
		}
		p.kind, p.parts = patGlob, strings.Split(s, "*")
	}
	if p.kind != patAny && p.kind != patSuffix && !strings.HasPrefix(s, "spiffe://") {
		return p, fmt.Errorf("pattern %q: must start with spiffe:// or *", s)
	}
	return p, nil
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// Match reports whether id matches p.
func (p Pattern) Match(id string) bool {
	switch p.kind {
	case patAny:
		return true
	case patExact:
		return id == p.raw
	case patPrefix:
		return strings.HasPrefix(id, p.parts[0])
	case patSuffix:
		return strings.HasSuffix(id, p.parts[0])
	}
	return globMatch(p.parts, id)
}

// globMatch matches s against parts joined by "*", each "*" standing for a
// run of characters without "/". Leftmost-shortest matching with
// backtracking over the star positions; patterns are short and stars are
// confined to a segment, so the work stays small.
func globMatch(parts []string, s string) bool {
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	return globRest(parts[1:], s[len(parts[0]):])
}

func globRest(parts []string, s string) bool {
	if len(parts) == 0 {
		return s == ""
	}
	// A star consumes s[:i], which must not contain "/".
	for i := 0; i <= len(s); i++ {
		if i > 0 && s[i-1] == '/' {
			return false
		}
		if strings.HasPrefix(s[i:], parts[0]) && globRest(parts[1:], s[i+len(parts[0]):]) {
			return true
		}
	}
	return false
}

package importer

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// placeholderConsumers is how many consumers a generated workload has when
// the configuration names groups but not their members (Istio's groups are
// claims of the clients' tokens).
const placeholderConsumers = 10

// scenarioGroups is topology.gateway.consumerGroups of a generated
// scenario: the groups the import found, and a group for every other one
// a route's acl names (a scenario's acl may name declared groups only).
// count is the number of consumers the placeholder workload must have for
// the groups' indexes (0 when there are no groups).
func (r *Result) scenarioGroups() (*Node, int) {
	var declared []string
	var out []*Node
	if r.ConsumerGroups != nil {
		for _, g := range r.ConsumerGroups.Items() {
			declared = append(declared, unquote(g.Get("name")))
			out = append(out, g)
		}
	}
	var missing []string
	for _, rt := range r.Routes {
		acl := rt.Get("acl")
		if acl == nil {
			continue
		}
		for _, key := range []string{"allow", "deny"} {
			if l := acl.Get(key); l != nil {
				for _, it := range l.Items() {
					if g := unquote(it); !slices.Contains(declared, g) && !slices.Contains(missing, g) {
						missing = append(missing, g)
					}
				}
			}
		}
	}
	if len(out) == 0 && len(missing) == 0 {
		return nil, 0
	}
	count := r.ConsumerCount
	if count == 0 {
		count = max(placeholderConsumers, len(missing))
	}
	for j, g := range missing {
		ids := List()
		ids.Flow = true
		comment := "no consumer of the imported configuration is in this group"
		if r.ConsumerCount == 0 {
			// Spread the placeholder consumers over the groups.
			for i := j; i < count; i += len(missing) {
				ids.Append(Int(int64(i)))
			}
			comment = "PLACEHOLDER: the consumers whose credentials carry this group"
		}
		out = append(out, Map().Set("name", Str(g)).Set("consumers", ids.With(comment)))
	}
	return List(out...), count
}

// placeholderLoad is the generated scenario's workload: requests that the
// first route they can reach takes (its method, path, host and headers),
// sent by count consumers with the identity that route authenticates.
func (r *Result) placeholderLoad(count int) *Node {
	var target *Node
	var route *Node
	for i, rt := range r.Routes {
		t, ok := requestFor(rt)
		if !ok {
			continue
		}
		first := slices.IndexFunc(r.Routes, func(o *Node) bool { return routeMatches(o, t) })
		if first == i || target == nil {
			target, route = t.node(), rt
			if first >= 0 {
				route = r.Routes[first]
			}
		}
		if first == i {
			break
		}
	}
	if target == nil {
		target = Map().Set("method", Raw("GET")).Set("path", Str("/").With("PLACEHOLDER: meshbench can write no path the routes' regexes match: set one"))
	}
	target.Set("keySpace", Int(1000))
	w := Map().Set("name", Raw("clients")).Set("target", target).Set("rate", Raw("100/s"))
	if count > 0 {
		identity := "sourceIp"
		if route != nil {
			if a := route.Get("auth"); a != nil {
				switch unquote(a.Get("type")) {
				case "apiKey":
					identity = "apiKey"
				case "introspection":
					identity = "jwt"
				case "jwt":
					if a.Has("issuer") {
						identity = "jwt"
					}
				}
			}
		}
		c := Map().Set("count", Int(int64(count))).Set("identity", Raw(identity))
		w.Set("consumers", c.With("the consumers the consumer groups name"))
	}
	if slices.ContainsFunc(r.Routes, func(rt *Node) bool { return rt.Has("ipRestriction") }) {
		w.With("the imported ipRestriction judges the client's address: on the real backends consumer n connects from 127.1.0.(n+1), a workload without consumers from 127.0.0.1")
	}
	return w
}

func unquote(n *Node) string {
	if n == nil {
		return ""
	}
	if s, err := strconv.Unquote(n.Text()); err == nil {
		return s
	}
	return n.Text()
}

// request is a placeholder workload's target.
type request struct {
	method, path, host string
	headers            [][2]string
}

func (q request) node() *Node {
	t := Map().Set("method", Raw(q.method)).Set("path", Str(q.path))
	if q.host != "" {
		t.Set("host", Str(q.host))
	}
	if len(q.headers) > 0 {
		h := Map()
		for _, kv := range q.headers {
			h.Set(kv[0], Str(kv[1]))
		}
		t.Set("headers", h)
	}
	return t
}

type routeMatch struct {
	path, prefix, regex, method, host string
	headers                           [][2]string
}

func matchOf(rt *Node) routeMatch {
	var m routeMatch
	mn := rt.Get("match")
	if mn == nil {
		return m
	}
	m.path, m.prefix, m.regex = unquote(mn.Get("path")), unquote(mn.Get("pathPrefix")), unquote(mn.Get("pathRegex"))
	m.method, m.host = unquote(mn.Get("method")), unquote(mn.Get("host"))
	if h := mn.Get("headers"); h != nil {
		for _, k := range h.Keys() {
			m.headers = append(m.headers, [2]string{k, unquote(h.Get(k))})
		}
	}
	return m
}

// requestFor makes a request the route's match takes; false when no path
// can be made for its regex.
func requestFor(rt *Node) (request, bool) {
	m := matchOf(rt)
	q := request{method: m.method, host: m.host, headers: m.headers, path: "/"}
	if q.method == "" {
		q.method = "GET"
	}
	switch {
	case m.path != "":
		q.path = m.path
	case m.prefix != "":
		q.path = m.prefix
	case m.regex != "":
		p, ok := sampleRegex(m.regex)
		if !ok {
			return q, false
		}
		q.path = p
	}
	return q, true
}

// routeMatches applies a route's match to q as package scenarios does
// (Envoy's semantics: a whole-path regex, every condition given).
func routeMatches(rt *Node, q request) bool {
	m := matchOf(rt)
	switch {
	case m.path != "" && q.path != m.path:
		return false
	case m.prefix != "" && !strings.HasPrefix(q.path, m.prefix):
		return false
	case m.regex != "":
		re, err := regexp.Compile(`^(?:` + m.regex + `)$`)
		if err != nil || !re.MatchString(q.path) {
			return false
		}
	}
	if m.method != "" && m.method != q.method {
		return false
	}
	if m.host != "" && !strings.EqualFold(m.host, q.host) {
		return false
	}
	for _, want := range m.headers {
		found := false
		for _, got := range q.headers {
			found = found || strings.EqualFold(got[0], want[0]) && got[1] == want[1]
		}
		if !found {
			return false
		}
	}
	return true
}

// sampleRegex makes a path the regex matches whole: the shortest choice
// at every repetition, the first branch of alternations, a plain
// character of every class.
func sampleRegex(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !sample(re.Simplify(), &b) {
		return "", false
	}
	s := b.String()
	full, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil || !strings.HasPrefix(s, "/") || !utf8.ValidString(s) || !full.MatchString(s) {
		return "", false
	}
	return s, true
}

func sample(re *syntax.Regexp, b *strings.Builder) bool {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		r, ok := classRune(re.Rune)
		if !ok {
			return false
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
	case syntax.OpCapture:
		return sample(re.Sub[0], b)
	case syntax.OpPlus:
		return sample(re.Sub[0], b)
	case syntax.OpRepeat:
		for range re.Min {
			if !sample(re.Sub[0], b) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !sample(s, b) {
				return false
			}
		}
	case syntax.OpAlternate:
		return sample(re.Sub[0], b)
	default:
		return false
	}
	return true
}

// classRune picks a character of a class, a plain one when it has one.
func classRune(ranges []rune) (rune, bool) {
	for _, c := range "a1xA-_" {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= c && c <= ranges[i+1] {
				return c, true
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] > ' ' && ranges[i] != '/' && ranges[i] != '?' {
			return ranges[i], true
		}
	}
	return 0, false
}

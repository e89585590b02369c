package config

import (
	"strings"
	"testing"
)

// fields is a request's header fields for the matchers, by canonical name.
type fields map[string]string

func (f fields) Joined(name string) (string, bool) {
	v, ok := f[name]
	return v, ok
}

// TestMatch: the route matches of the proxy's routing table
// (proxy/routing_test.go sends the same through a running proxy).
func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		match  MatchConfig
		method string
		host   string // as a Host field: HostKey is applied
		path   string // as sent: CleanPath is applied
		fields fields
		want   bool
	}{
		{name: "empty matches everything", match: MatchConfig{}, path: "/anything", want: true},
		{name: "exact path", match: MatchConfig{Path: "/exact"}, path: "/exact", want: true},
		{name: "exact path is not a prefix", match: MatchConfig{Path: "/exact"}, path: "/exactly"},
		{name: "prefix", match: MatchConfig{Prefix: "/api/"}, path: "/api/users", want: true},
		{name: "prefix is a plain string prefix", match: MatchConfig{Prefix: "/api"}, path: "/apix", want: true},
		{name: "prefix mismatch", match: MatchConfig{Prefix: "/api/"}, path: "/web"},
		{name: "dot segments are resolved first", match: MatchConfig{Path: "/exact"}, path: "/web/../exact", want: true},
		{name: "repeated slashes are merged", match: MatchConfig{Prefix: "/a/b"}, path: "//a//b", want: true},
		{name: "regex", match: MatchConfig{Regex: `/users/[0-9]+`}, path: "/users/42", want: true},
		{name: "regex is anchored", match: MatchConfig{Regex: `/users/[0-9]+`}, path: "/users/42/x"},
		{name: "host ignores port and case", match: MatchConfig{Host: "admin.example.com"}, host: "ADMIN.example.com:8080", path: "/", want: true},
		{name: "host mismatch", match: MatchConfig{Host: "admin.example.com"}, host: "api.example.com", path: "/"},
		{name: "star is any host", match: MatchConfig{Host: "*"}, host: "x.test", path: "/", want: true},
		{name: "wildcard host", match: MatchConfig{Host: "*.wild.test"}, host: "a.b.wild.test", path: "/x", want: true},
		{name: "wildcard needs a subdomain", match: MatchConfig{Host: "*.wild.test"}, host: "wild.test", path: "/x"},
		{name: "IPv6 literal", match: MatchConfig{Host: "::1"}, host: "[::1]:80", path: "/", want: true},
		{name: "method", match: MatchConfig{Methods: []string{"post"}}, method: "POST", path: "/submit", want: true},
		{name: "method mismatch", match: MatchConfig{Methods: []string{"POST"}}, method: "GET", path: "/submit"},
		{name: "header exact", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "x-canary", Exact: "yes"}}},
			path: "/", fields: fields{"X-Canary": "yes"}, want: true},
		{name: "header exact mismatch", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "x-canary", Exact: "yes"}}},
			path: "/", fields: fields{"X-Canary": "no"}},
		{name: "header prefix", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "X-V", Prefix: "v1"}}},
			path: "/", fields: fields{"X-V": "v1.2"}, want: true},
		{name: "header regex is anchored", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "X-V", Regex: "v[0-9]"}}},
			path: "/", fields: fields{"X-V": "v12"}},
		{name: "header present", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "cookie"}}},
			path: "/", fields: fields{"Cookie": ""}, want: true},
		{name: "header inverted, absent", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "cookie", Invert: true}}},
			path: "/", want: true},
		{name: "header inverted, present", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "cookie", Invert: true}}},
			path: "/", fields: fields{"Cookie": "a=b"}},
		{name: "every condition must hold", match: MatchConfig{Host: "a.test", Prefix: "/p", Methods: []string{"GET"}},
			method: "GET", host: "a.test", path: "/q"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.match.Compile()
			if err != nil {
				t.Fatal(err)
			}
			method := tc.method
			if method == "" {
				method = "GET"
			}
			if got := m.Match(method, HostKey(tc.host), CleanPath(tc.path), tc.fields); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestZeroMatcherMatchesEverything(t *testing.T) {
	var m Matcher
	if !m.Match("DELETE", "any.host", "/x", fields{}) {
		t.Error("the zero Matcher refused a request")
	}
}

func TestMatchCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		match MatchConfig
		want  []string // "path: message" of each error, relative to the match
	}{
		{name: "wildcard inside", match: MatchConfig{Host: "a.*.test"}, want: []string{`host: wildcard only as a leading "*." label: "a.*.test"`}},
		{name: "two path kinds", match: MatchConfig{Path: "/a", Prefix: "/b"}, want: []string{"set only one of path, prefix and regex"}},
		{name: "unrooted prefix", match: MatchConfig{Prefix: "api"}, want: []string{`path "api" must start with /`}},
		{name: "bad regex", match: MatchConfig{Regex: "("}, want: []string{"regex: error parsing regexp: missing closing ): `(`"}},
		{name: "bad method", match: MatchConfig{Methods: []string{"GET", "a b"}}, want: []string{`methods: bad method "a b"`}},
		{name: "header without a name", match: MatchConfig{Headers: []HeaderMatchConfig{{Exact: "x"}}}, want: []string{"headers[0].name: header name is required"}},
		{name: "header with two kinds and a bad regex", match: MatchConfig{Headers: []HeaderMatchConfig{{Name: "a"}, {Name: "b", Exact: "x", Regex: "["}}},
			want: []string{"headers[1].regex: error parsing regexp", "headers[1]: set only one of exact, prefix and regex"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.match.Compile()
			checkErrors(t, err, tc.want)
		})
	}
}

// checkErrors requires err to hold one *ConfigError per entry of want, in
// order, each starting with it.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var got []string
	each(err, func(e error) {
		if _, ok := e.(*ConfigError); !ok {
			t.Errorf("%T is not a *ConfigError: %v", e, e)
		}
		got = append(got, e.Error())
	})
	if len(got) != len(want) {
		t.Fatalf("errors %q, want %d of them: %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d is %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

func TestHostKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"api.example.com", "api.example.com"},
		{"API.Example.COM:8443", "api.example.com"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := HostKey(tc.in); got != tc.want {
			t.Errorf("HostKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"/a//b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/../../etc", "/etc"},
		{"/a/b/..", "/a"},
		{"/a/.b", "/a/.b"},
		{"a", "/a"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := CleanPath(tc.in); got != tc.want {
				t.Errorf("CleanPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

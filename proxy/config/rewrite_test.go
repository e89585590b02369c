package config

import "testing"

func TestRewriter(t *testing.T) {
	tests := []struct {
		name     string
		match    MatchConfig
		rewrite  RewriteConfig
		path     string
		wantPath string
		wantHost string
		fromEP   bool
	}{
		{name: "none", rewrite: RewriteConfig{}, path: "/a?", wantPath: "/a?"},
		{name: "whole path", rewrite: RewriteConfig{Path: "/fixed"}, path: "/any/thing", wantPath: "/fixed"},
		{name: "prefix", match: MatchConfig{Prefix: "/v1/"}, rewrite: RewriteConfig{Prefix: "/v2/"}, path: "/v1/orders", wantPath: "/v2/orders"},
		{name: "strip prefix", match: MatchConfig{Prefix: "/api/"}, rewrite: RewriteConfig{StripPrefix: true}, path: "/api/users", wantPath: "/users"},
		{name: "strip the whole path", match: MatchConfig{Prefix: "/api"}, rewrite: RewriteConfig{StripPrefix: true}, path: "/api", wantPath: "/"},
		{name: "regex", match: MatchConfig{Regex: `/users/[0-9]+`},
			rewrite: RewriteConfig{Regex: &RegexRewriteConfig{Pattern: `^/users/([0-9]+)$`, Substitution: "/u/$1"}}, path: "/users/42", wantPath: "/u/42"},
		{name: "regex result is rooted", rewrite: RewriteConfig{Regex: &RegexRewriteConfig{Pattern: `^/`, Substitution: ""}}, path: "/x", wantPath: "/x"},
		{name: "host", rewrite: RewriteConfig{Host: "internal.api"}, path: "/", wantPath: "/", wantHost: "internal.api"},
		{name: "host from endpoint", rewrite: RewriteConfig{HostFromEndpoint: true}, path: "/", wantPath: "/", fromEP: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rw, err := tc.rewrite.Compile(tc.match)
			if err != nil {
				t.Fatal(err)
			}
			if got := rw.Path(tc.path); got != tc.wantPath {
				t.Errorf("Path(%q) = %q, want %q", tc.path, got, tc.wantPath)
			}
			if rw.Host() != tc.wantHost || rw.HostFromEndpoint() != tc.fromEP {
				t.Errorf("Host() = %q, HostFromEndpoint() = %v; want %q, %v", rw.Host(), rw.HostFromEndpoint(), tc.wantHost, tc.fromEP)
			}
		})
	}
}

func TestRewriteCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		match   MatchConfig
		rewrite RewriteConfig
		want    []string
	}{
		{name: "unrooted path", rewrite: RewriteConfig{Path: "x"}, want: []string{"path: must start with /"}},
		{name: "two kinds", match: MatchConfig{Prefix: "/a"}, rewrite: RewriteConfig{Path: "/x", StripPrefix: true},
			want: []string{"set only one of path, prefix, stripPrefix and regex"}},
		{name: "strip without a prefix match", rewrite: RewriteConfig{StripPrefix: true}, want: []string{"prefix and stripPrefix need match.prefix"}},
		{name: "bad regex", rewrite: RewriteConfig{Regex: &RegexRewriteConfig{Pattern: "("}}, want: []string{"regex.pattern: error parsing regexp"}},
		{name: "two hosts", rewrite: RewriteConfig{Host: "a", HostFromEndpoint: true}, want: []string{"set only one of host and hostFromEndpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rewrite.Compile(tc.match)
			checkErrors(t, err, tc.want)
		})
	}
}

package config

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestPathNormalizer(t *testing.T) {
	all := PathNormalizationConfig{MergeSlashes: true, DotSegments: true, EscapedSlashes: EscapedSlashesUnescape}
	tests := []struct {
		name     string
		cfg      PathNormalizationConfig
		in, want string
		rejected bool
	}{
		{name: "default keeps everything", in: "/a/..%2fb//./c/%2F", want: "/a/..%2fb//./c/%2F"},
		{name: "keep", cfg: PathNormalizationConfig{EscapedSlashes: EscapedSlashesKeep}, in: "/a%2Fb", want: "/a%2Fb"},
		{name: "merge slashes", cfg: PathNormalizationConfig{MergeSlashes: true}, in: "//a///b/", want: "/a/b/"},
		{name: "dot segments", cfg: PathNormalizationConfig{DotSegments: true}, in: "/a/./b/../c", want: "/a/c"},
		{name: "dot segments keep empty ones", cfg: PathNormalizationConfig{DotSegments: true}, in: "/a//../b", want: "/a/b"},
		{name: "encoded dot segments", cfg: PathNormalizationConfig{DotSegments: true}, in: "/a/%2e%2E/b/%2e/", want: "/b/"},
		{name: "dot segments never climb above the root", cfg: PathNormalizationConfig{DotSegments: true}, in: "/../../etc", want: "/etc"},
		{name: "trailing dot segment keeps a slash", cfg: PathNormalizationConfig{DotSegments: true}, in: "/a/b/..", want: "/a/"},
		{name: "dotted names are no dot segments", cfg: PathNormalizationConfig{DotSegments: true}, in: "/a/.b/..c/.well-known", want: "/a/.b/..c/.well-known"},
		{name: "escaped slash is no separator for dot segments", cfg: PathNormalizationConfig{DotSegments: true}, in: "/public/..%2fadmin", want: "/public/..%2fadmin"},
		{name: "unescape then resolve", cfg: all, in: "/public/..%2fadmin", want: "/admin"},
		{name: "unescape then merge", cfg: all, in: "/a%2F%2fb", want: "/a/b"},
		{name: "reject", cfg: PathNormalizationConfig{EscapedSlashes: EscapedSlashesReject, DotSegments: true}, in: "/a/./b%2fc", want: "/a/b%2fc", rejected: true},
		{name: "reject only escaped slashes", cfg: PathNormalizationConfig{EscapedSlashes: EscapedSlashesReject}, in: "/a%20b%5C", want: "/a%20b%5C"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.cfg.Compile()
			if err != nil {
				t.Fatal(err)
			}
			got, rejected := n.Normalize(tc.in)
			if got != tc.want || rejected != tc.rejected {
				t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, rejected, tc.want, tc.rejected)
			}
		})
	}
}

// TestPathNormalizerProperties: with every step on, a normalised path is
// rooted, has no dot segments, empty segments or escaped slashes, keeps a
// trailing slash, and normalising it again changes nothing.
func TestPathNormalizerProperties(t *testing.T) {
	n, err := PathNormalizationConfig{MergeSlashes: true, DotSegments: true, EscapedSlashes: EscapedSlashesUnescape}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	seg := rapid.SampledFrom([]string{"", ".", "..", "%2e", "%2E%2e", "a", "..a", ".b", "c%2Fd", "%2f", "..%2f"})
	rapid.Check(t, func(t *rapid.T) {
		p := "/" + strings.Join(rapid.SliceOfN(seg, 0, 8).Draw(t, "segments"), "/")
		c, rejected := n.Normalize(p)
		if rejected || !strings.HasPrefix(c, "/") {
			t.Fatalf("Normalize(%q) = %q, %v", p, c, rejected)
		}
		if again, _ := n.Normalize(c); again != c {
			t.Fatalf("not idempotent on %q: %q then %q", p, c, again)
		}
		for _, s := range strings.Split(strings.Trim(c, "/"), "/") {
			if dotSegment(s) > 0 || (s == "" && c != "/") || hasEscapedSlash(s) {
				t.Fatalf("Normalize(%q) = %q keeps segment %q", p, c, s)
			}
		}
		if (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "%2f")) && !strings.HasSuffix(c, "/") {
			t.Fatalf("Normalize(%q) = %q lost the trailing slash", p, c)
		}
	})
}

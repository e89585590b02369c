package config

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestCleanPathProperties: a cleaned path is rooted, has no dot segments or
// empty segments, keeps a trailing slash, and cleaning it again changes
// nothing.
func TestCleanPathProperties(t *testing.T) {
	seg := rapid.SampledFrom([]string{"", ".", "..", "a", "b", "..a", ".b", "c.d"})
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(seg, 0, 8).Draw(t, "segments")
		p := strings.Join(parts, "/")
		if rapid.Bool().Draw(t, "rooted") {
			p = "/" + p
		}
		c := CleanPath(p)
		if !strings.HasPrefix(c, "/") {
			t.Fatalf("CleanPath(%q) = %q is not rooted", p, c)
		}
		if CleanPath(c) != c {
			t.Fatalf("cleanPath not idempotent on %q: %q then %q", p, c, CleanPath(c))
		}
		for _, s := range strings.Split(strings.Trim(c, "/"), "/") {
			if s == "." || s == ".." || (s == "" && c != "/") {
				t.Fatalf("CleanPath(%q) = %q keeps segment %q", p, c, s)
			}
		}
		if strings.HasSuffix(p, "/") && !strings.HasSuffix(c, "/") {
			t.Fatalf("CleanPath(%q) = %q lost the trailing slash", p, c)
		}
	})
}

// TestStripPrefixProperty: stripping the matched prefix always leaves a
// rooted path that, with the prefix put back, is the original.
func TestStripPrefixProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := "/" + rapid.StringMatching(`[a-z]{1,5}/?`).Draw(t, "prefix")
		rest := rapid.StringMatching(`[a-z/]{0,10}`).Draw(t, "rest")
		rw, err := RewriteConfig{StripPrefix: true}.Compile(MatchConfig{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		got := rw.Path(prefix + rest)
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("strip %q from %q = %q", prefix, prefix+rest, got)
		}
		if strings.TrimPrefix(got, "/") != strings.TrimPrefix(rest, "/") {
			t.Fatalf("strip %q from %q = %q, lost part of %q", prefix, prefix+rest, got, rest)
		}
	})
}

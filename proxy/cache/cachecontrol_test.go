package cache

import (
	"maps"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   directives
	}{
		{"none", nil, nil},
		{"simple", []string{"max-age=60, public"}, directives{"max-age": "60", "public": ""}},
		{"case and spaces", []string{" Max-Age=60 ,NO-STORE"}, directives{"max-age": "60", "no-store": ""}},
		{"quoted with comma", []string{`no-cache="Set-Cookie, X-Foo", max-age=5`}, directives{"no-cache": "Set-Cookie, X-Foo", "max-age": "5"}},
		{"escaped quote", []string{`private="a\"b"`}, directives{"private": `a"b`}},
		{"first occurrence wins", []string{"max-age=5", "max-age=10"}, directives{"max-age": "5"}},
		{"empty elements", []string{",,max-age=1,,"}, directives{"max-age": "1"}},
		{"malformed part skipped", []string{"max-age=1 2, public"}, directives{"public": ""}},
		{"unterminated quote", []string{`s-maxage="5, public`}, directives{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseCacheControl(tc.values)
			if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	d := parseCacheControl([]string{`max-age=120, s-maxage=abc, min-fresh=99999999999999999999, stale, x=""`})
	for _, tc := range []struct {
		name          string
		want          time.Duration
		present, okay bool
	}{
		{"max-age", 120 * time.Second, true, true},
		{"s-maxage", 0, true, false},
		{"min-fresh", maxDelta * time.Second, true, true},
		{"stale", 0, true, false},
		{"x", 0, true, false},
		{"absent", 0, false, false},
	} {
		got, present, ok := d.seconds(tc.name)
		if got != tc.want || present != tc.present || ok != tc.okay {
			t.Errorf("%s: %v %v %v", tc.name, got, present, ok)
		}
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{`max-age=60, no-cache="a, b"`, `private="\"`, `,,=,`, `s-maxage=1x`, `a="b\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name := range parseCacheControl([]string{s}) {
			if name == "" {
				t.Fatal("empty directive name")
			}
			for i := 0; i < len(name); i++ {
				if !isTokenChar(name[i]) || ('A' <= name[i] && name[i] <= 'Z') {
					t.Fatalf("directive name %q", name)
				}
			}
		}
	})
}

package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		want    string
		err     error
	}{
		{"none", nil, "", ErrNoCredentials},
		{"bearer", []string{"Bearer abc.DEF-_~+/x=="}, "abc.DEF-_~+/x==", nil},
		{"scheme case", []string{"bEaReR tok"}, "tok", nil},
		{"several spaces", []string{"Bearer   tok"}, "tok", nil},
		{"basic", []string{"Basic dXNlcjpwdw=="}, "", ErrMalformedCredentials},
		{"no space", []string{"Bearertok"}, "", ErrMalformedCredentials},
		{"empty token", []string{"Bearer "}, "", ErrMalformedCredentials},
		{"scheme only", []string{"Bearer"}, "", ErrMalformedCredentials},
		{"inner space", []string{"Bearer a b"}, "", ErrMalformedCredentials},
		{"padding inside", []string{"Bearer a=b"}, "", ErrMalformedCredentials},
		{"only padding", []string{"Bearer =="}, "", ErrMalformedCredentials},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", ErrMalformedCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.headers {
				h.Add("Authorization", v)
			}
			got, err := BearerToken(h)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("token = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c==", "Basic x", "Bearer", "Bearer  =", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := parseBearer(v)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			return
		}
		if !isB64Token(tok) || !strings.HasSuffix(v, tok) || !strings.EqualFold(v[:6], "bearer") {
			t.Fatalf("parseBearer(%q) = %q", v, tok)
		}
	})
}

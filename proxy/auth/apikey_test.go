package auth

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHashAPIKey(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashAPIKey("abc"); got != want {
		t.Fatalf("HashAPIKey = %s", got)
	}
}

func TestAPIKeys(t *testing.T) {
	keys, err := NewAPIKeys(APIKeysConfig{Keys: []APIKey{
		{Name: "acme", Hash: HashAPIKey("k-acme-0123456789"), Scopes: []string{"payments:read"}},
		{Name: "globex", Hash: HashAPIKey("k-globex-9876543210")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		values  []string
		want    string
		wantErr error
	}{
		{"acme", []string{"k-acme-0123456789"}, "acme", nil},
		{"globex", []string{"k-globex-9876543210"}, "globex", nil},
		{"unknown", []string{"k-acme-0123456788"}, "", ErrUnknownAPIKey},
		{"missing", nil, "", ErrNoCredentials},
		{"empty", []string{""}, "", ErrMalformedCredentials},
		{"two headers", []string{"k-acme-0123456789", "k-globex-9876543210"}, "", ErrMalformedCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tc.values {
				r.Header.Add("X-API-Key", v)
			}
			c, err := keys.Authenticate(r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.ID != tc.want || c.Method != MethodAPIKey {
				t.Fatalf("consumer = %+v, err = %v", c, err)
			}
		})
	}
}

func TestAPIKeysAcceptAny(t *testing.T) {
	keys, err := NewAPIKeys(APIKeysConfig{Header: "X-Key"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Key", "anything")
	c, err := keys.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := "key-" + strings.TrimPrefix(HashAPIKey("anything"), "sha256:")[:12]; c.ID != want {
		t.Fatalf("consumer %q, want %q", c.ID, want)
	}
}

func TestNewAPIKeysErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []APIKey
	}{
		{"plaintext key as hash", []APIKey{{Name: "a", Hash: "secret"}}},
		{"short hash", []APIKey{{Name: "a", Hash: "sha256:abcd"}}},
		{"no name", []APIKey{{Hash: HashAPIKey("x")}}},
		{"repeated name", []APIKey{{Name: "a", Hash: HashAPIKey("x")}, {Name: "a", Hash: HashAPIKey("y")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewAPIKeys(APIKeysConfig{Keys: tc.keys}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func BenchmarkAPIKeysAuthenticate(b *testing.B) {
	for _, n := range []int{1, 100} {
		cfg := APIKeysConfig{}
		for i := range n {
			cfg.Keys = append(cfg.Keys, APIKey{Name: strings.Repeat("k", i+1), Hash: HashAPIKey(strings.Repeat("s", i+1))})
		}
		keys, err := NewAPIKeys(cfg)
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-API-Key", strings.Repeat("s", n))
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keys.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseJWKS(t *testing.T) {
	rs := newSigner(t, "RS256", "rsa", 0)
	es := newSigner(t, "ES256", "ec", 0)
	ed := newSigner(t, "EdDSA", "ed", 0)
	keys := mustJWKS(t, rs, es, ed)
	if len(keys.Keys()) != 3 || len(keys.Skipped) != 0 {
		t.Fatalf("keys = %d, skipped = %v", len(keys.Keys()), keys.Skipped)
	}
	if _, ok := keys.Keys()[0].Key.(*rsa.PublicKey); !ok {
		t.Errorf("key 0 is %T", keys.Keys()[0].Key)
	}
	if _, ok := keys.Keys()[1].Key.(*ecdsa.PublicKey); !ok {
		t.Errorf("key 1 is %T", keys.Keys()[1].Key)
	}
	if _, ok := keys.Keys()[2].Key.(ed25519.PublicKey); !ok {
		t.Errorf("key 2 is %T", keys.Keys()[2].Key)
	}
	for _, tc := range []struct {
		name, kid, alg string
		err            bool
		unknown        bool
	}{
		{"rsa", "rsa", "RS256", false, false},
		{"ec", "ec", "ES256", false, false},
		{"ed", "ed", "EdDSA", false, false},
		{"unknown kid", "nope", "RS256", true, true},
		{"no kid in a 3-key set", "", "RS256", true, true},
		{"alg mismatch with jwk alg", "rsa", "ES256", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.Lookup(tc.kid, tc.alg)
			if (err != nil) != tc.err || errors.Is(err, ErrUnknownKey) != tc.unknown {
				t.Fatalf("Lookup(%q, %q) = %v", tc.kid, tc.alg, err)
			}
		})
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	ed := newSigner(t, "EdDSA", "good", 0).jwk()
	bad := func(edit func(map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range ed {
			m[k] = v
		}
		edit(m)
		return m
	}
	small := newSigner(t, "RS256", "small", 0).jwk()
	small["n"] = "AQAB" // a tiny modulus
	set := map[string]any{"keys": []any{
		ed,
		bad(func(m map[string]any) { m["kid"] = "enc"; m["use"] = "enc" }),
		bad(func(m map[string]any) { m["kid"] = "priv"; m["d"] = "AAAA" }),
		bad(func(m map[string]any) { m["kid"] = "x448"; m["crv"] = "X448" }),
		bad(func(m map[string]any) { m["kid"] = "short"; m["x"] = "AAAA" }),
		bad(func(m map[string]any) { m["kid"] = "oct"; m["kty"] = "oct" }),
		bad(func(m map[string]any) {}), // repeated kid "good"
		map[string]any{"kty": "EC", "kid": "offcurve", "crv": "P-256",
			"x": strings.Repeat("A", 43), "y": strings.Repeat("A", 42) + "E"},
		small,
		"not an object",
	}}
	b, _ := json.Marshal(set)
	ks, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Keys()) != 1 || ks.Keys()[0].KeyID != "good" {
		t.Fatalf("keys = %+v", ks.Keys())
	}
	if len(ks.Skipped) != 9 {
		t.Fatalf("skipped %d: %q", len(ks.Skipped), ks.Skipped)
	}
}

func TestParseJWKSErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"not json", "{"},
		{"no keys member", `{"kty":"RSA"}`},
		{"no usable key", `{"keys":[{"kty":"oct","k":"AAAA"}]}`},
		{"empty set", `{"keys":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseJWKS([]byte(tc.doc)); err == nil {
				t.Fatal("ParseJWKS accepted it")
			}
		})
	}
}

func TestLoadJWKSFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksJSON(t, newSigner(t, "ES256", "k", 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJWKSFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJWKSFile(path + ".missing"); err == nil {
		t.Fatal("loaded a missing file")
	}
}

func FuzzParseJWKS(f *testing.F) {
	f.Add(jwksJSON(f, newSigner(f, "ES256", "a", 0), newSigner(f, "EdDSA", "b", 0)))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-521","x":"","y":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range ks.Keys() {
			ok := false
			for _, alg := range DefaultAlgorithms {
				if keyFitsAlg(k.Key, alg) == nil {
					ok = true
				}
			}
			if _, isEC := k.Key.(*ecdsa.PublicKey); !ok && !isEC { // P-384/P-521 parse but verify no default alg
				t.Fatalf("parsed key %+v fits no algorithm", k)
			}
		}
	})
}

package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrUnknownKey reports a token whose "kid" is not in the key set (after a
// refresh, when the source can refresh).
var ErrUnknownKey = errors.New("unknown signing key")

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits
// or larger MUST be used with RS256).
const minRSABits = 2048

// JWK is one usable public key of a JSON Web Key Set (RFC 7517 §4).
type JWK struct {
	// KeyID is the "kid" member ("" when absent).
	KeyID string
	// Algorithm is the "alg" member ("" when absent): when set, only tokens
	// with that algorithm are verified with this key.
	Algorithm string
	// Key is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
}

// KeySet is a parsed JSON Web Key Set: the keys that this package can
// verify with, in file order. It is immutable and implements KeySource.
type KeySet struct {
	keys []JWK
	// Skipped says, per key that was ignored, why (RFC 7517 §5: keys with
	// an unknown kty, missing members or out-of-range values are ignored).
	Skipped []string
}

// Keys returns the usable keys.
func (s *KeySet) Keys() []JWK { return s.keys }

// Lookup returns the key for a token signed with alg that names kid. A
// token without a kid matches the one key of a single-key set. The key's
// type and curve must fit alg (RS256: RSA; ES256: P-256; EdDSA: Ed25519),
// and its "alg", when the JWK has one, must equal alg.
func (s *KeySet) Lookup(kid, alg string) (crypto.PublicKey, error) {
	var k *JWK
	if kid == "" {
		if len(s.keys) != 1 {
			return nil, fmt.Errorf("%w: token has no kid and the set has %d keys", ErrUnknownKey, len(s.keys))
		}
		k = &s.keys[0]
	} else {
		for i := range s.keys {
			if s.keys[i].KeyID == kid {
				k = &s.keys[i]
				break
			}
		}
		if k == nil {
			return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
		}
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return nil, fmt.Errorf("key %q is for %s, token is signed with %s", k.KeyID, k.Algorithm, alg)
	}
	if err := keyFitsAlg(k.Key, alg); err != nil {
		return nil, fmt.Errorf("key %q: %w", k.KeyID, err)
	}
	return k.Key, nil
}

func keyFitsAlg(key crypto.PublicKey, alg string) error {
	switch alg {
	case "RS256":
		if _, ok := key.(*rsa.PublicKey); ok {
			return nil
		}
	case "ES256":
		if k, ok := key.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
			return nil
		}
	case "EdDSA":
		if _, ok := key.(ed25519.PublicKey); ok {
			return nil
		}
	default:
		return fmt.Errorf("algorithm %q is not supported", alg)
	}
	return fmt.Errorf("a %T cannot verify %s", key, alg)
}

// LoadJWKSFile reads and parses a JWKS file.
func LoadJWKSFile(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load jwks: %w", err)
	}
	s, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", path, err)
	}
	return s, nil
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). A key that has any
// of them is skipped before go-jose sees it: go-jose's JWK decoder accepts
// private keys, and a verifier must never hold one that came over the wire.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// ParseJWKS parses a JSON Web Key Set ({"keys": [...]}, RFC 7517 §5). Each
// key is decoded by go-jose (github.com/go-jose/go-jose/v4), which checks
// the members' encodings and lengths and that an EC point is on its curve.
// Keys this package cannot use — an unknown kty or curve, "use" other than
// "sig", missing or malformed members, an RSA modulus under 2048 bits or
// an exponent out of range, private or symmetric key material, a repeated
// kid — are skipped and listed in Skipped, as §5 recommends; a set with no
// usable key at all is an error.
func ParseJWKS(data []byte) (*KeySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`parse jwks: no "keys" member`)
	}
	set := &KeySet{}
	seen := map[string]bool{}
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err == nil && k.KeyID != "" && seen[k.KeyID] {
			err = errors.New("repeated kid")
		}
		if err != nil {
			set.Skipped = append(set.Skipped, fmt.Sprintf("keys[%d]%s: %v", i, kidNote(raw), err))
			continue
		}
		seen[k.KeyID] = true
		set.keys = append(set.keys, k)
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("parse jwks: no usable key among %d (%v)", len(doc.Keys), set.Skipped)
	}
	return set, nil
}

// kidNote names a key's kid for a Skipped entry (" (kid \"x\")"), or
// nothing when the entry is not an object or has no kid.
func kidNote(raw json.RawMessage) string {
	var m struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Kid == "" {
		return ""
	}
	return fmt.Sprintf(" (kid %q)", m.Kid)
}

// parseJWK decodes one public signing key.
func parseJWK(raw json.RawMessage) (JWK, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return JWK{}, err
	}
	if _, ok := members["kty"]; !ok {
		return JWK{}, errors.New("no kty")
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return JWK{}, fmt.Errorf("contains private or symmetric key material (%q)", m)
		}
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return JWK{}, fmt.Errorf("key type or curve is not supported (kty %s, crv %s)", members["kty"], orNone(members["crv"]))
		}
		return JWK{}, err
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return JWK{}, fmt.Errorf("use %q is not sig", jwk.Use)
	}
	switch k := jwk.Key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return JWK{}, fmt.Errorf("RSA modulus of %d bits is under %d", k.N.BitLen(), minRSABits)
		}
		if k.E < 3 || k.E > 1<<31-1 || k.E%2 == 0 {
			return JWK{}, errors.New("RSA exponent out of range")
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return JWK{}, fmt.Errorf("a %T is not a public signing key", jwk.Key)
	}
	return JWK{KeyID: jwk.KeyID, Algorithm: jwk.Algorithm, Key: jwk.Key}, nil
}

func orNone(v json.RawMessage) string {
	if v == nil {
		return "none"
	}
	return string(v)
}

package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
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

// rawJWK holds the members of a JWK this package reads (RFC 7517 §4, RFC
// 7518 §6, RFC 8037 §2).
type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// ParseJWKS parses a JSON Web Key Set ({"keys": [...]}, RFC 7517 §5). Keys
// it cannot use — an unknown kty or curve, "use" other than "sig", missing
// or malformed members, an RSA modulus under 2048 bits, private key
// material, a repeated kid — are skipped and listed in Skipped, as §5
// recommends; a set with no usable key at all is an error.
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
		var r rawJWK
		if err := json.Unmarshal(raw, &r); err != nil {
			set.Skipped = append(set.Skipped, fmt.Sprintf("keys[%d]: %v", i, err))
			continue
		}
		k, err := r.publicKey()
		if err == nil && r.Kid != "" && seen[r.Kid] {
			err = errors.New("repeated kid")
		}
		if err != nil {
			set.Skipped = append(set.Skipped, fmt.Sprintf("keys[%d] (kid %q): %v", i, r.Kid, err))
			continue
		}
		seen[r.Kid] = true
		set.keys = append(set.keys, JWK{KeyID: r.Kid, Algorithm: r.Alg, Key: k})
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("parse jwks: no usable key among %d (%v)", len(doc.Keys), set.Skipped)
	}
	return set, nil
}

func (r *rawJWK) publicKey() (crypto.PublicKey, error) {
	if r.Use != "" && r.Use != "sig" {
		return nil, fmt.Errorf("use %q is not sig", r.Use)
	}
	if r.D != "" {
		return nil, errors.New("contains private key material")
	}
	switch r.Kty {
	case "RSA":
		return r.rsa()
	case "EC":
		return r.ec()
	case "OKP":
		return r.okp()
	case "":
		return nil, errors.New("no kty")
	default:
		return nil, fmt.Errorf("kty %q is not supported", r.Kty)
	}
}

func (r *rawJWK) rsa() (crypto.PublicKey, error) {
	n, err := b64uint(r.N, "n")
	if err != nil {
		return nil, err
	}
	e, err := b64uint(r.E, "e")
	if err != nil {
		return nil, err
	}
	if n.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits is under %d", n.BitLen(), minRSABits)
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("RSA exponent out of range")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func (r *rawJWK) ec() (crypto.PublicKey, error) {
	var curve elliptic.Curve
	switch r.Crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("EC curve %q is not supported", r.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err := b64fixed(r.X, "x", size)
	if err != nil {
		return nil, err
	}
	y, err := b64fixed(r.Y, "y", size)
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.2.1.2: x and y are full-length; ParseUncompressedPublicKey
	// checks that the point is on the curve.
	point := append(append([]byte{4}, x...), y...)
	k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("EC point: %w", err)
	}
	return k, nil
}

func (r *rawJWK) okp() (crypto.PublicKey, error) {
	if r.Crv != "Ed25519" {
		return nil, fmt.Errorf("OKP curve %q is not supported", r.Crv)
	}
	x, err := b64fixed(r.X, "x", ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(x), nil
}

func b64uint(s, member string) (*big.Int, error) {
	if s == "" {
		return nil, fmt.Errorf("no %q", member)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", member, err)
	}
	return new(big.Int).SetBytes(b), nil
}

func b64fixed(s, member string, size int) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("no %q", member)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", member, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%q is %d bytes, want %d", member, len(b), size)
	}
	return b, nil
}

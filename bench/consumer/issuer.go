package consumer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/meshbench/meshbench/scenarios"
)

// Key ids of the test issuer's keys.
const (
	// KeyID names the issuer's signing key in its JWKS.
	KeyID = "meshbench-test"
	// RogueKeyID names the key of unknownKey tokens, which no JWKS holds.
	RogueKeyID = "meshbench-rogue"
)

// Token lifetimes, relative to the time a token is minted.
const (
	// Lifetime is how long a good token is valid: longer than any run.
	Lifetime = 24 * time.Hour
	// expiredAgo is how long before minting an expired token expired.
	expiredAgo = time.Hour
)

// Issuer is a run's test JWT issuer: an ES256 key derived from the run's
// seed (so the gateway and the load generator derive the same key without
// sharing a file), a JWKS with its public half, and tokens for consumers,
// good or bad in the ways scenarios.BadCredentials lists.
type Issuer struct {
	key   *ecdsa.PrivateKey
	rogue *ecdsa.PrivateKey // signs unknownKey tokens
}

// NewIssuer derives the issuer of a run seeded with seed.
func NewIssuer(seed uint64) (*Issuer, error) {
	key, err := deriveKey(seed, "meshbench test issuer")
	if err != nil {
		return nil, err
	}
	rogue, err := deriveKey(seed, "meshbench rogue issuer")
	if err != nil {
		return nil, err
	}
	return &Issuer{key: key, rogue: rogue}, nil
}

// deriveKey derives a P-256 private key from seed and label: the scalar is
// SHA-256(label, seed, counter), with the counter raised in the rare case
// the hash is not a valid scalar.
func deriveKey(seed uint64, label string) (*ecdsa.PrivateKey, error) {
	for ctr := uint32(0); ctr < 16; ctr++ {
		h := sha256.New()
		h.Write([]byte(label))
		var b [12]byte
		binary.BigEndian.PutUint64(b[:8], seed)
		binary.BigEndian.PutUint32(b[8:], ctr)
		h.Write(b[:])
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), h.Sum(nil)); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("issuer: no valid P-256 scalar for seed %d", seed)
}

// JWKS is the issuer's JSON Web Key Set (RFC 7517): its one public key,
// ES256, named KeyID.
func (is *Issuer) JWKS() ([]byte, error) {
	pt, err := is.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	enc := base64.RawURLEncoding.EncodeToString
	return json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KeyID,
		"x": enc(pt[1:33]), "y": enc(pt[33:65]),
	}}})
}

// Token mints a token for sub, issued by iss for aud at now, of the given
// bad kind ("" for a good token): expired (expired an hour ago),
// wrongAudience (aud with "-other" appended), unsigned (alg none) or
// unknownKey (signed by a key no JWKS holds). A missing credential has no
// token: Token returns "" for it.
func (is *Issuer) Token(sub, iss, aud, bad string, now time.Time) (string, error) {
	iat, exp := now.Add(-time.Minute), now.Add(Lifetime)
	if bad == scenarios.BadExpired {
		iat, exp = now.Add(-expiredAgo-time.Hour), now.Add(-expiredAgo)
	}
	if bad == scenarios.BadWrongAudience {
		aud += "-other"
	}
	claims := jwt.MapClaims{"iss": iss, "sub": sub, "iat": iat.Unix(), "exp": exp.Unix()}
	if aud != "" {
		claims["aud"] = aud
	}
	switch bad {
	case scenarios.BadMissing:
		return "", nil
	case scenarios.BadUnsigned:
		return jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	case scenarios.BadUnknownKey:
		t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		t.Header["kid"] = RogueKeyID
		return t.SignedString(is.rogue)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = KeyID
	return t.SignedString(is.key)
}

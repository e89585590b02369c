package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is the virtual "now" of the tests.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// signer is a test issuer key: the private half signs, the public half goes
// into a JWKS under kid.
type signer struct {
	alg  string
	kid  string
	priv crypto.Signer
}

var (
	rsaOnce sync.Once
	rsaKeys [2]*rsa.PrivateKey
)

// testRSA returns one of two RSA keys, generated once per test binary (RSA
// generation is slow under -race).
func testRSA(t testing.TB, i int) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

// newSigner makes a fresh key for alg; variant picks one of two RSA keys so
// that "wrongly signed" tests have a second key.
func newSigner(t testing.TB, alg, kid string, variant int) signer {
	t.Helper()
	switch alg {
	case "RS256":
		return signer{alg, kid, testRSA(t, variant)}
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return signer{alg, kid, k}
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return signer{alg, kid, k}
	}
	t.Fatalf("no signer for %s", alg)
	return signer{}
}

func (s signer) method() jwt.SigningMethod { return jwt.GetSigningMethod(s.alg) }

// sign makes a token with claims, signed by s, naming s.kid.
func (s signer) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method(), claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	str, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return str
}

// jwk is the public half of s as a JWK (RFC 7517).
func (s signer) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": s.kid, "alg": s.alg, "use": "sig"}
	switch k := s.priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(k)
	}
	return m
}

func jwksJSON(t testing.TB, signers ...signer) []byte {
	t.Helper()
	keys := make([]map[string]any, len(signers))
	for i, s := range signers {
		keys[i] = s.jwk()
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJWKS(t testing.TB, signers ...signer) *KeySet {
	t.Helper()
	s, err := ParseJWKS(jwksJSON(t, signers...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims are valid at epoch for issuer "https://issuer.test" and
// audience "payments".
func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   "https://issuer.test",
		"aud":   "payments",
		"sub":   "merchant-42",
		"iat":   epoch.Add(-time.Minute).Unix(),
		"nbf":   epoch.Add(-time.Minute).Unix(),
		"exp":   epoch.Add(time.Hour).Unix(),
		"scope": "payments:read payments:write",
	}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

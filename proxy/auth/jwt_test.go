package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTVerify(t *testing.T) {
	for _, alg := range DefaultAlgorithms {
		t.Run(alg, func(t *testing.T) {
			good := newSigner(t, alg, "k1", 0)
			other := newSigner(t, alg, "k1", 1) // same kid, different key
			stranger := newSigner(t, alg, "k9", 0)
			v, err := NewJWT(JWTConfig{
				Issuer:    "https://issuer.test",
				Audiences: []string{"payments", "ledger"},
				Keys:      mustJWKS(t, good),
				ClockSkew: 30 * time.Second,
				Clock:     fixedClock(epoch),
			})
			if err != nil {
				t.Fatal(err)
			}
			with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
				c := goodClaims()
				edit(c)
				return c
			}
			for _, tc := range []struct {
				name   string
				token  string
				want   error // nil: valid
				reason string
			}{
				{"valid", good.sign(t, goodClaims()), nil, ""},
				{"second audience", good.sign(t, with(func(c jwt.MapClaims) { c["aud"] = []string{"x", "ledger"} })), nil, ""},
				{"expired within skew", good.sign(t, with(func(c jwt.MapClaims) { c["exp"] = epoch.Add(-20 * time.Second).Unix() })), nil, ""},
				{"expired", good.sign(t, with(func(c jwt.MapClaims) { c["exp"] = epoch.Add(-time.Minute).Unix() })), jwt.ErrTokenExpired, "token expired"},
				{"not yet valid", good.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = epoch.Add(time.Minute).Unix() })), jwt.ErrTokenNotValidYet, "token not yet valid"},
				{"issued in the future", good.sign(t, with(func(c jwt.MapClaims) { c["iat"] = epoch.Add(time.Minute).Unix() })), jwt.ErrTokenUsedBeforeIssued, "token issued in the future"},
				{"no exp", good.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
				{"wrong audience", good.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "risk" })), jwt.ErrTokenInvalidAudience, "wrong audience"},
				{"wrong issuer", good.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), jwt.ErrTokenInvalidIssuer, "wrong issuer"},
				{"wrongly signed", other.sign(t, goodClaims()), jwt.ErrTokenSignatureInvalid, "invalid signature"},
				{"unknown kid", stranger.sign(t, goodClaims()), ErrUnknownKey, "unknown signing key"},
				{"no kid, single-key set", signer{good.alg, "", good.priv}.sign(t, goodClaims()), nil, ""},
				{"malformed", "not.a.jwt", jwt.ErrTokenMalformed, "malformed token"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					claims, err := v.Verify(context.Background(), tc.token)
					if tc.want == nil {
						if err != nil {
							t.Fatalf("Verify: %v", err)
						}
						if claims["sub"] != "merchant-42" {
							t.Fatalf("sub = %v", claims["sub"])
						}
						return
					}
					if !errors.Is(err, tc.want) {
						t.Fatalf("Verify error = %v, want %v", err, tc.want)
					}
					if got := Reason(err); got != tc.reason {
						t.Fatalf("Reason = %q, want %q", got, tc.reason)
					}
				})
			}
		})
	}
}

func TestJWTRejectsAlgorithmConfusion(t *testing.T) {
	rs := newSigner(t, "RS256", "k1", 0)
	es := newSigner(t, "ES256", "k2", 0)
	keys := mustJWKS(t, rs, es)
	v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Keys: keys, Clock: fixedClock(epoch), Algorithms: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	// The classic confusion: HS256 keyed with the RSA public key's bytes.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims())
	hs.Header["kid"] = "k1"
	hsTok, err := hs.SignedString(rs.priv.Public().(*rsa.PublicKey).N.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"HS256 with the public key as secret", hsTok},
		{"RS256 not in the allowed list", rs.sign(t, goodClaims())},
		{"ES256 header naming an RSA key", signer{"ES256", "k1", es.priv}.sign(t, goodClaims())},
		{"alg none", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, goodClaims())
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tc.token); err == nil {
				t.Fatal("Verify accepted the token")
			}
		})
	}
}

func TestNewJWTConfigErrors(t *testing.T) {
	keys := mustJWKS(t, newSigner(t, "EdDSA", "k", 0))
	for _, tc := range []struct {
		name string
		cfg  JWTConfig
	}{
		{"no issuer", JWTConfig{Keys: keys}},
		{"no keys", JWTConfig{Issuer: "i"}},
		{"HS256", JWTConfig{Issuer: "i", Keys: keys, Algorithms: []string{"HS256"}}},
		{"negative skew", JWTConfig{Issuer: "i", Keys: keys, ClockSkew: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewJWT(tc.cfg); err == nil {
				t.Fatal("NewJWT accepted the config")
			}
		})
	}
}

func TestJWTAuthenticateConsumer(t *testing.T) {
	s := newSigner(t, "ES256", "k1", 0)
	v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Audiences: []string{"payments"}, Keys: mustJWKS(t, s), Clock: fixedClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/pay", nil)
	r.Header.Set("Authorization", "bearer  "+s.sign(t, goodClaims()))
	c, err := v.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "merchant-42" || c.Method != MethodJWT || len(c.Scopes) != 2 || c.Scopes[1] != "payments:write" {
		t.Fatalf("consumer = %+v", c)
	}
	noSub := goodClaims()
	delete(noSub, "sub")
	r.Header.Set("Authorization", "Bearer "+s.sign(t, noSub))
	if _, err := v.Authenticate(r); err == nil {
		t.Fatal("a token without sub was accepted")
	}
}

// FuzzJWTVerify feeds arbitrary tokens to the verifier: it must not panic,
// and whatever it accepts must carry the claims the test issuer signed
// (mutations can only survive where base64 decoding ignores them).
func FuzzJWTVerify(f *testing.F) {
	s := newSigner(f, "EdDSA", "k1", 0)
	v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Audiences: []string{"payments"}, Keys: mustJWKS(f, s), Clock: fixedClock(epoch)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.sign(f, goodClaims()))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := v.Verify(context.Background(), tok)
		if err != nil {
			return
		}
		if claims["sub"] != "merchant-42" || claims["iss"] != "https://issuer.test" {
			t.Fatalf("accepted forged claims %v", claims)
		}
	})
}

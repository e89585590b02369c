package auth

import (
	"context"
	"testing"
	"time"
)

// BenchmarkJWTVerifyES256 is the gateway's verification of one ES256
// bearer token (parse, look the key up, ECDSA P-256 verify, check iss, aud
// and the times): the per-request cost of a route with auth type jwt in
// the simulator's cost model (sim/hopcost.go).
//
//	go test -run XXX -bench JWTVerifyES256 -cpu 1 -count 5 ./proxy/auth/
func BenchmarkJWTVerifyES256(b *testing.B) {
	s := newSigner(b, "ES256", "k1", 0)
	v, err := NewJWT(JWTConfig{
		Issuer:    "https://issuer.test",
		Audiences: []string{"payments"},
		Keys:      mustJWKS(b, s),
		Clock:     fixedClock(epoch),
		ClockSkew: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	token := s.sign(b, goodClaims())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJWKS is the parse of a three-key set (RS256, ES256,
// EdDSA) by go-jose: paid when a JWKS file loads and on each remote
// refresh, never per request.
//
//	go test -run XXX -bench ParseJWKS -cpu 1 ./proxy/auth/
func BenchmarkParseJWKS(b *testing.B) {
	doc := jwksJSON(b, newSigner(b, "RS256", "rsa", 0), newSigner(b, "ES256", "ec", 0), newSigner(b, "EdDSA", "ed", 0))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJWKS(doc); err != nil {
			b.Fatal(err)
		}
	}
}

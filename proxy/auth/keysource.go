package auth

import (
	"context"
	"crypto"
	"time"
)

// KeySource gives the JWT verifier the public key for a token: the key named
// kid that fits alg, as of now. A source that can refresh (RemoteJWKS) may
// fetch under ctx; a static *KeySet ignores ctx and now.
type KeySource interface {
	Key(ctx context.Context, kid, alg string, now time.Time) (crypto.PublicKey, error)
}

// Key implements KeySource for a fixed set (a JWKS file).
func (s *KeySet) Key(_ context.Context, kid, alg string, _ time.Time) (crypto.PublicKey, error) {
	return s.Lookup(kid, alg)
}

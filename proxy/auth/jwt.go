package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms JWT accepts by default: RS256 (RFC 7518 §3.3), ES256 (§3.4)
// and EdDSA with Ed25519 (RFC 8037 §3.1). HS* is never accepted: a gateway
// that verifies with a shared secret could also mint tokens.
var DefaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// JWTConfig configures JWT. The zero value of each optional field is
// documented on it.
type JWTConfig struct {
	// Issuer is the required "iss" claim (required).
	Issuer string
	// Audiences: the token's "aud" must contain at least one of them. Empty
	// means "aud" is not checked (Istio's RequestAuthentication default).
	Audiences []string
	// Algorithms are the accepted "alg" values, a subset of
	// DefaultAlgorithms (default: all of them).
	Algorithms []string
	// Keys supplies the verification keys (required): a *KeySet from
	// LoadJWKSFile or a *RemoteJWKS.
	Keys KeySource
	// ClockSkew is the leeway allowed on "exp", "nbf" and "iat" (default 0;
	// Envoy's jwt_authn uses 60s).
	ClockSkew time.Duration
	// Clock tells the time (default time.Now).
	Clock func() time.Time
}

// JWT authenticates requests by a bearer JWT (RFC 7519, RFC 6750). It is
// safe for concurrent use.
type JWT struct {
	cfg    JWTConfig
	parser *jwt.Parser
}

// NewJWT checks cfg and returns the verifier.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwt: issuer is required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("jwt: keys are required")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(DefaultAlgorithms, a) {
			return nil, fmt.Errorf("jwt: algorithm %q is not supported (want %s)", a, strings.Join(DefaultAlgorithms, ", "))
		}
	}
	if cfg.ClockSkew < 0 {
		return nil, fmt.Errorf("jwt: negative clock skew %v", cfg.ClockSkew)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithTimeFunc(cfg.Clock),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if len(cfg.Audiences) > 0 {
		opts = append(opts, jwt.WithAudience(cfg.Audiences...))
	}
	return &JWT{cfg: cfg, parser: jwt.NewParser(opts...)}, nil
}

// Verify checks token's signature and claims and returns the claims. Errors
// wrap jwt/v5's sentinels (jwt.ErrTokenExpired, jwt.ErrTokenNotValidYet,
// jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
// jwt.ErrTokenSignatureInvalid, jwt.ErrTokenMalformed...) or ErrUnknownKey.
func (j *JWT) Verify(ctx context.Context, token string) (jwt.MapClaims, error) {
	now := j.cfg.Clock()
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return j.cfg.Keys.Key(ctx, kid, t.Method.Alg(), now)
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// Authenticate implements Authenticator: it verifies the bearer token of r
// and returns its subject as the consumer, with the token's scopes and
// claims.
func (j *JWT) Authenticate(r *http.Request) (Consumer, error) {
	tok, err := BearerToken(r.Header)
	if err != nil {
		return Consumer{}, err
	}
	claims, err := j.Verify(r.Context(), tok)
	if err != nil {
		return Consumer{}, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return Consumer{}, fmt.Errorf("%w: token has no sub", jwt.ErrTokenInvalidClaims)
	}
	return Consumer{ID: sub, Method: MethodJWT, Scopes: scopesOf(claims), Claims: claims}, nil
}

// Strip removes the token before the request is forwarded (Envoy jwt_authn's
// forward: false).
func (j *JWT) Strip(h http.Header) { h.Del("Authorization") }

// Challenge implements Authenticator with bearerChallenge.
func (j *JWT) Challenge(err error) string { return bearerChallenge(err) }

// bearerChallenge is the WWW-Authenticate value for a bearer token refused
// with err (RFC 6750 §3): error="invalid_token" (or "invalid_request" for
// malformed credentials) with a short description, or a bare challenge
// when the request had no credentials.
func bearerChallenge(err error) string {
	if errors.Is(err, ErrNoCredentials) {
		return fmt.Sprintf("Bearer realm=%q", defaultRealm)
	}
	code := "invalid_token"
	if errors.Is(err, ErrMalformedCredentials) {
		code = "invalid_request"
	}
	return fmt.Sprintf("Bearer realm=%q, error=%q, error_description=%q", defaultRealm, code, Reason(err))
}

// scopesOf reads OAuth scopes from "scope" (a space-delimited string, RFC
// 8693 §4.2) or "scp" (an array or a string, as Azure AD and Okta issue).
func scopesOf(c jwt.MapClaims) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := c[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			out := make([]string, 0, len(v))
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

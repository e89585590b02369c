package auth

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// reasons maps the errors of authentication to the short phrases written in
// the audit log and in error_description; the most specific comes first,
// since jwt/v5 joins a specific error with a general one.
var reasons = []struct {
	err    error
	reason string
}{
	{ErrNoCredentials, "no credentials"},
	{ErrMalformedCredentials, "malformed credentials"},
	{ErrUnknownAPIKey, "unknown api key"},
	{ErrTokenInactive, "token inactive"},
	{ErrIntrospectionFailed, "introspection failed"},
	{ErrUnknownKey, "unknown signing key"},
	{jwt.ErrTokenExpired, "token expired"},
	{jwt.ErrTokenNotValidYet, "token not yet valid"},
	{jwt.ErrTokenUsedBeforeIssued, "token issued in the future"},
	{jwt.ErrTokenInvalidAudience, "wrong audience"},
	{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
	{jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
	{jwt.ErrTokenSignatureInvalid, "invalid signature"},
	{jwt.ErrTokenMalformed, "malformed token"},
	{jwt.ErrTokenUnverifiable, "token unverifiable"},
	{jwt.ErrTokenInvalidClaims, "invalid claims"},
}

// Reason returns a short, fixed phrase for an authentication error ("token
// expired", "wrong audience", "unknown api key"...), suitable for logs and
// challenges: it never echoes request input.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "invalid credentials"
}

package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNoCredentials reports a request that carries no credentials at all; it
// is answered 401 with a bare challenge (RFC 6750 §3.1: no error code when
// the request had no authentication information).
var ErrNoCredentials = errors.New("no credentials")

// ErrMalformedCredentials reports credentials that are present but cannot be
// parsed (a wrong scheme, a token with invalid characters, two headers).
var ErrMalformedCredentials = errors.New("malformed credentials")

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header, as RFC 6750 §2.1 defines it: the scheme is matched without regard
// to case (RFC 9110 §11.1), separated from the token by one or more spaces,
// and the token is a b64token (letters, digits, "-._~+/" and trailing "=").
// A request with no Authorization header returns ErrNoCredentials; any other
// problem, including more than one Authorization header, returns an error
// wrapping ErrMalformedCredentials.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ErrNoCredentials
	case 1:
	default:
		return "", fmt.Errorf("%w: %d Authorization headers", ErrMalformedCredentials, len(values))
	}
	return parseBearer(values[0])
}

func parseBearer(v string) (string, error) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrMalformedCredentials)
	}
	rest := v[len(scheme):]
	tok := strings.TrimLeft(rest, " ")
	if len(tok) == len(rest) {
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrMalformedCredentials)
	}
	if tok == "" {
		return "", fmt.Errorf("%w: empty bearer token", ErrMalformedCredentials)
	}
	if !isB64Token(tok) {
		return "", fmt.Errorf("%w: bearer token has characters outside b64token", ErrMalformedCredentials)
	}
	return tok, nil
}

// isB64Token reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
// / "+" / "/" ) *"=" (RFC 6750 §2.1).
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && isB64Char(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

func isB64Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/':
		return true
	}
	return false
}

package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrForbidden reports an authenticated consumer that the route's
// Requirement refuses; it is answered 403.
var ErrForbidden = errors.New("forbidden")

// Requirement is the authorization of a route on the consumer's scopes and
// claims, after Istio's AuthorizationPolicy conditions on
// request.auth.claims[...]: every listed scope must be granted, and every
// listed claim must hold one of its values (a string claim equal to one, or
// an array claim containing one). The zero Requirement admits any
// authenticated consumer.
type Requirement struct {
	// Scopes must all be granted ("scope"/"scp" claim, or the API key's).
	Scopes []string
	// Claims maps a top-level claim name to its accepted values.
	Claims map[string][]string
}

// IsZero reports whether r admits every authenticated consumer.
func (r Requirement) IsZero() bool { return len(r.Scopes) == 0 && len(r.Claims) == 0 }

// Check returns nil when c meets r, else an error wrapping ErrForbidden
// that names the first missing scope or claim.
func (r Requirement) Check(c Consumer) error {
	for _, s := range r.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return fmt.Errorf("%w: missing scope %q", ErrForbidden, s)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Claims)) {
		if !claimHolds(c.Claims[name], r.Claims[name]) {
			return fmt.Errorf("%w: claim %q does not match", ErrForbidden, name)
		}
	}
	return nil
}

func claimHolds(v any, want []string) bool {
	switch v := v.(type) {
	case string:
		return slices.Contains(want, v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	case []string:
		for _, s := range v {
			if slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

package discovery

import (
	"context"
	"errors"
	"fmt"
)

// ErrInvalid marks errors that come from configuration (a malformed file,
// a bad address) rather than from a transient failure (a DNS server or
// registry that did not answer). A consumer may refuse a configuration whose
// first Resolve fails with ErrInvalid and merely log the others.
var ErrInvalid = errors.New("invalid discovery input")

// Provider supplies a cluster's endpoints.
type Provider interface {
	// Resolve returns the current endpoint set, normalized.
	Resolve(ctx context.Context) ([]Endpoint, error)
	// Watch calls push with the whole endpoint set, normalized, each time
	// it changes, until ctx is done; then it returns nil. push is never
	// called concurrently with itself. A provider whose set never changes
	// returns at once. Transient errors are retried, not returned.
	Watch(ctx context.Context, push func([]Endpoint)) error
}

// Static is a fixed endpoint list, Envoy's STATIC cluster type.
type Static []Endpoint

// Resolve returns the list, normalized, or an error wrapping ErrInvalid
// naming the first invalid endpoint.
func (s Static) Resolve(context.Context) ([]Endpoint, error) {
	for _, e := range s {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return Normalize(s), nil
}

// Watch returns at once: a static list never changes.
func (s Static) Watch(context.Context, func([]Endpoint)) error { return nil }

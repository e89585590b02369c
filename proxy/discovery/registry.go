package discovery

import (
	"context"
	"log/slog"
	"time"
)

// DefaultRegistryInterval is how often Registry polls when Interval is zero.
const DefaultRegistryInterval = time.Second

// Registry is the Provider backed by a registry Server: it lists a service's
// alive instances and polls for changes.
type Registry struct {
	Client  *Client
	Service string
	// Interval is the polling period; zero means DefaultRegistryInterval.
	Interval time.Duration
	// Log receives polling failures; nil discards them.
	Log *slog.Logger
}

// Resolve lists the service's instances once. Errors are transient.
func (r *Registry) Resolve(ctx context.Context) ([]Endpoint, error) {
	insts, err := r.Client.List(ctx, r.Service)
	if err != nil {
		return nil, err
	}
	eps := make([]Endpoint, 0, len(insts))
	for _, in := range insts {
		eps = append(eps, in.Endpoint)
	}
	return Normalize(eps), nil
}

// Watch lists and pushes at once, then polls every Interval and pushes
// changed sets; a failed poll keeps the last set.
func (r *Registry) Watch(ctx context.Context, push func([]Endpoint)) error {
	return poll(ctx, r.Interval, DefaultRegistryInterval, r.Resolve, push, r.Log, "registry "+r.Service)
}

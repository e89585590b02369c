package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Resolver is the part of *net.Resolver that DNS uses; tests inject a fake.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// DefaultDNSInterval is how often DNS re-resolves when Interval is zero,
// Envoy's default dns_refresh_rate.
const DefaultDNSInterval = 5 * time.Second

// DNS resolves endpoints from DNS and re-resolves on an interval, as Envoy's
// STRICT_DNS cluster: every address returned becomes an endpoint, and the set
// follows the answers. With SRV set it looks up _Service._Proto.Host SRV
// records instead, and each target:port becomes an endpoint weighted by the
// record's weight (priorities are not modelled: all targets are used).
type DNS struct {
	// Resolver answers the lookups; nil means net.DefaultResolver.
	Resolver Resolver
	// Host is the name to resolve (A/AAAA) or the SRV domain.
	Host string
	// Port is the port of every A/AAAA endpoint; unused with SRV.
	Port int
	// SRV switches to SRV lookups of _Service._Proto.Host; empty Service
	// and Proto look up Host directly.
	SRV            bool
	Service, Proto string
	// Zone is stamped on every endpoint.
	Zone string
	// Interval is the re-resolution period; zero means DefaultDNSInterval.
	Interval time.Duration
	// Log receives resolution failures while watching; nil discards them.
	Log *slog.Logger
}

// Resolve performs one lookup. A name that does not exist resolves to no
// endpoints; other failures are returned as they are (transient).
func (d *DNS) Resolve(ctx context.Context) ([]Endpoint, error) {
	r := d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	var eps []Endpoint
	if d.SRV {
		_, recs, err := r.LookupSRV(ctx, d.Service, d.Proto, d.Host)
		if err != nil {
			if isNotFound(err) {
				return []Endpoint{}, nil
			}
			return nil, fmt.Errorf("dns srv %s: %w", d.Host, err)
		}
		for _, s := range recs {
			addr := net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port)))
			eps = append(eps, Endpoint{Address: addr, Zone: d.Zone, Weight: int(s.Weight)})
		}
	} else {
		if d.Port <= 0 || d.Port > 65535 {
			return nil, fmt.Errorf("%w: dns %s: port %d is not in 1..65535", ErrInvalid, d.Host, d.Port)
		}
		addrs, err := r.LookupHost(ctx, d.Host)
		if err != nil {
			if isNotFound(err) {
				return []Endpoint{}, nil
			}
			return nil, fmt.Errorf("dns %s: %w", d.Host, err)
		}
		for _, a := range addrs {
			eps = append(eps, Endpoint{Address: net.JoinHostPort(a, strconv.Itoa(d.Port)), Zone: d.Zone})
		}
	}
	return Normalize(eps), nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// Watch resolves and pushes at once, then re-resolves every Interval and
// pushes changed sets. A failed lookup keeps the last set, as Envoy does.
func (d *DNS) Watch(ctx context.Context, push func([]Endpoint)) error {
	return poll(ctx, d.Interval, DefaultDNSInterval, d.Resolve, push, d.Log, "dns "+d.Host)
}

// poll is the loop of the polling providers: resolve and push, then resolve
// every interval and push on change; failures are logged and keep the last
// set.
func poll(ctx context.Context, interval, def time.Duration, resolve func(context.Context) ([]Endpoint, error), push func([]Endpoint), log *slog.Logger, what string) error {
	if interval <= 0 {
		interval = def
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	last, err := resolve(ctx)
	if err == nil {
		push(last)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		eps, err := resolve(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("discovery: keeping last endpoints", "source", what, "err", err)
			}
			continue
		}
		if last != nil && Equal(eps, last) {
			continue
		}
		last = eps
		push(eps)
	}
}

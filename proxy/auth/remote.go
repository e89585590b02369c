package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// Defaults of RemoteOptions.
const (
	DefaultJWKSMaxAge             = 5 * time.Minute  // Envoy remote_jwks cache_duration default
	DefaultJWKSMinRefreshInterval = 30 * time.Second // unknown-kid refetch rate limit
	DefaultJWKSFetchTimeout       = 5 * time.Second
	maxJWKSBytes                  = 1 << 20
)

// RemoteOptions configures a RemoteJWKS. Zero values take the defaults above.
type RemoteOptions struct {
	// MaxAge is how long a fetched set is used before it is fetched again
	// (default 5m). A failed refetch keeps the old set.
	MaxAge time.Duration
	// MinRefreshInterval bounds how often an unknown kid (or a failed
	// fetch) triggers a fetch (default 30s).
	MinRefreshInterval time.Duration
	// Client fetches the set. The default client only dials loopback
	// addresses and times out after 5s; a caller-supplied client (an
	// httptest TLS client, say) is used as is, but the URL must still name
	// a loopback host.
	Client *http.Client
}

// RemoteJWKS is a JSON Web Key Set fetched from a URL on loopback and
// cached, as Envoy's jwt_authn remote_jwks: the set is fetched on first use,
// again once it is MaxAge old, and again when a token names a kid the set
// lacks (a key rotation at the issuer) — but an unknown kid or a failed
// fetch triggers at most one fetch per MinRefreshInterval. Fetches happen on
// the request path, under the request's context, one at a time; there is no
// background goroutine. It is safe for concurrent use.
type RemoteJWKS struct {
	url    string
	client *http.Client
	opts   RemoteOptions

	fetchMu sync.Mutex // serialises fetches; taken before mu

	mu          sync.Mutex
	set         *KeySet
	fetchedAt   time.Time // last successful fetch
	lastAttempt time.Time // last fetch, successful or not
	attempted   bool
	lastErr     error
}

// NewRemoteJWKS returns a key source for the JWKS at rawURL, which must be
// an http or https URL whose host is a loopback address or "localhost".
func NewRemoteJWKS(rawURL string, opts RemoteOptions) (*RemoteJWKS, error) {
	if err := checkLoopbackURL(rawURL); err != nil {
		return nil, fmt.Errorf("jwks url: %w", err)
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultJWKSMaxAge
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultJWKSMinRefreshInterval
	}
	client := opts.Client
	if client == nil {
		client = loopbackClient()
	}
	return &RemoteJWKS{url: rawURL, client: client, opts: opts}, nil
}

func checkLoopbackURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", rawURL)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: host must be a loopback address or localhost", rawURL)
	}
	return nil
}

// loopbackClient refuses, at dial time, any address that is not loopback,
// so a name that resolves elsewhere cannot take a fetch off the machine.
func loopbackClient() *http.Client {
	d := &net.Dialer{
		Timeout: DefaultJWKSFetchTimeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("jwks: refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
	t := &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConns: 2, IdleConnTimeout: 90 * time.Second}
	return &http.Client{Transport: t, Timeout: DefaultJWKSFetchTimeout}
}

// fetchReason is why a lookup fetches, or fetchNone.
type fetchReason int

const (
	fetchNone fetchReason = iota
	fetchFirst
	fetchStale
	fetchUnknownKid
	fetchRetry
)

// decide is the refresh policy, a pure function of the cache state and now:
// fetch when there is no set yet (retrying failures at most once per
// MinRefreshInterval), when the set is MaxAge old, or when kid is unknown
// and no fetch was tried in the last MinRefreshInterval. Callers hold mu.
func (s *RemoteJWKS) decide(now time.Time, kidKnown bool) fetchReason {
	sinceAttempt := now.Sub(s.lastAttempt)
	rateOK := !s.attempted || sinceAttempt >= s.opts.MinRefreshInterval
	switch {
	case s.set == nil && !s.attempted:
		return fetchFirst
	case s.set == nil:
		if rateOK {
			return fetchRetry
		}
	case now.Sub(s.fetchedAt) >= s.opts.MaxAge && rateOK:
		return fetchStale
	case !kidKnown && rateOK:
		return fetchUnknownKid
	}
	return fetchNone
}

// Key implements KeySource.
func (s *RemoteJWKS) Key(ctx context.Context, kid, alg string, now time.Time) (crypto.PublicKey, error) {
	set, known := s.lookup(kid)
	if s.needFetch(now, known) {
		s.fetchMu.Lock()
		// Another request may have fetched while this one waited.
		if s.needFetch(now, s.known(kid)) {
			s.fetch(ctx, now)
		}
		s.fetchMu.Unlock()
		set, _ = s.lookup(kid)
	}
	if set == nil {
		s.mu.Lock()
		err := s.lastErr
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: no key set (%v)", ErrUnknownKey, err)
	}
	return set.Lookup(kid, alg)
}

func (s *RemoteJWKS) lookup(kid string) (*KeySet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set, s.knownLocked(kid)
}

func (s *RemoteJWKS) known(kid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knownLocked(kid)
}

func (s *RemoteJWKS) knownLocked(kid string) bool {
	if s.set == nil {
		return false
	}
	if kid == "" {
		return len(s.set.keys) == 1
	}
	for _, k := range s.set.keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

func (s *RemoteJWKS) needFetch(now time.Time, kidKnown bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decide(now, kidKnown) != fetchNone
}

// Refresh fetches the set now, regardless of the refresh policy (a warm-up
// at startup, say).
func (s *RemoteJWKS) Refresh(ctx context.Context, now time.Time) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	return s.fetch(ctx, now)
}

// fetch gets and parses the set and records the attempt. Callers hold
// fetchMu.
func (s *RemoteJWKS) fetch(ctx context.Context, now time.Time) error {
	set, err := s.get(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempted = true
	s.lastAttempt = now
	s.lastErr = err
	if err != nil {
		return err
	}
	s.set = set
	s.fetchedAt = now
	return nil
}

func (s *RemoteJWKS) get(ctx context.Context) (*KeySet, error) {
	// The fetch serves every request waiting for the set: one client that
	// hangs up must not abort it (and rate-limit the next try), so it keeps
	// the request's values but not its cancellation, with its own timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultJWKSFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", s.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks %s: status %s", s.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", s.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("fetch jwks: body larger than 1 MiB")
	}
	set, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", s.url, err)
	}
	return set, nil
}

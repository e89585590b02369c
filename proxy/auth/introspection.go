package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MethodOAuth2 is the Consumer.Method of a caller whose bearer token the
// authorization server vouched for by introspection.
const MethodOAuth2 = "oauth2"

// Defaults of IntrospectionConfig.
const (
	DefaultIntrospectionCacheTTL    = 30 * time.Second
	DefaultIntrospectionNegativeTTL = time.Second
	DefaultIntrospectionTimeout     = 2 * time.Second
	DefaultIntrospectionMaxEntries  = 10000
	maxIntrospectionBytes           = 64 << 10
)

// ErrTokenInactive reports a token the authorization server says is not
// active (unknown, revoked, expired or not meant for this client).
var ErrTokenInactive = errors.New("token inactive")

// ErrIntrospectionFailed reports an introspection call that gave no
// answer (the endpoint unreachable, too slow, or answering other than 200
// with JSON): the gateway fails closed and does not cache it.
var ErrIntrospectionFailed = errors.New("introspection failed")

// IntrospectionConfig configures an Introspector.
type IntrospectionConfig struct {
	// URL is the introspection endpoint; its host must be loopback.
	URL string
	// ClientID and ClientSecret authenticate the gateway to the endpoint
	// with HTTP Basic (RFC 7662 §2.1, RFC 6749 §2.3.1); empty: none.
	ClientID, ClientSecret string
	// Issuer, when set, must be the answer's "iss".
	Issuer string
	// Audiences, when set, must include one of the answer's "aud".
	Audiences []string
	// CacheTTL is how long an active answer is reused (never past its
	// "exp"); default 30s. Negative disables caching.
	CacheTTL time.Duration
	// NegativeTTL is how long an inactive answer is reused (default 1s,
	// at most CacheTTL).
	NegativeTTL time.Duration
	// Timeout bounds one introspection call (default 2s).
	Timeout time.Duration
	// MaxEntries bounds the cache (default 10000).
	MaxEntries int
	// Client makes the calls (default: a client that dials loopback only).
	Client *http.Client
	// Clock reads the time for the cache and the "exp" check (default
	// time.Now).
	Clock func() time.Time
}

// Introspector authenticates a bearer token by OAuth 2.0 token
// introspection (RFC 7662): it POSTs the token, form-encoded as "token",
// to the authorization server's endpoint with the gateway's client
// credentials, and admits the request when the answer says "active": true,
// its "exp" (if any) is still ahead, and its "iss" and "aud" are the ones
// configured. The consumer is the answer's "sub" (else "username", else
// "client_id").
//
// Answers are cached by token (IntrospectionCache): an active one for
// CacheTTL or until its exp, an inactive one for NegativeTTL, so a token
// costs one call per TTL rather than one per request, as Kong's and
// Envoy's OAuth filters cache. Concurrent misses of one token each call
// the endpoint. Failed calls are not cached.
type Introspector struct {
	cfg   IntrospectionConfig
	cache *IntrospectionCache
	calls func(ctx context.Context, token string) (Introspection, error)
}

// Introspection is the part of an introspection answer (RFC 7662 §2.2)
// the gateway reads.
type Introspection struct {
	Active   bool     `json:"active"`
	Subject  string   `json:"sub,omitempty"`
	Username string   `json:"username,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Issuer   string   `json:"iss,omitempty"`
	Audience Audience `json:"aud,omitempty"`
	Expiry   int64    `json:"exp,omitempty"`
	Scope    string   `json:"scope,omitempty"`
}

// Audience is "aud": one string or an array of them (RFC 7662 §2.2).
type Audience []string

// UnmarshalJSON takes a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud: %w", err)
	}
	*a = many
	return nil
}

// NewIntrospector returns the authenticator cfg describes.
func NewIntrospector(cfg IntrospectionConfig) (*Introspector, error) {
	if cfg.URL == "" {
		return nil, errors.New("introspection: a url is required")
	}
	if err := checkLoopbackURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("introspection url: %w", err)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultIntrospectionCacheTTL
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultIntrospectionNegativeTTL
	}
	cfg.NegativeTTL = min(cfg.NegativeTTL, max(cfg.CacheTTL, 0))
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultIntrospectionTimeout
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultIntrospectionMaxEntries
	}
	if cfg.Client == nil {
		cfg.Client = loopbackClient()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	in := &Introspector{cfg: cfg, cache: NewIntrospectionCache(cfg.MaxEntries)}
	in.calls = in.call
	return in, nil
}

// Cache is the introspector's cache, for its statistics.
func (in *Introspector) Cache() *IntrospectionCache { return in.cache }

// Authenticate implements Authenticator.
func (in *Introspector) Authenticate(r *http.Request) (Consumer, error) {
	tok, err := BearerToken(r.Header)
	if err != nil {
		return Consumer{}, err
	}
	return in.AuthenticateToken(r.Context(), tok)
}

// AuthenticateToken checks one bearer token.
func (in *Introspector) AuthenticateToken(ctx context.Context, tok string) (Consumer, error) {
	now := in.cfg.Clock()
	ans, hit := in.cache.Get(now, tok)
	if !hit {
		var err error
		if ans, err = in.calls(ctx, tok); err != nil {
			return Consumer{}, err
		}
		now = in.cfg.Clock()
		if in.cfg.CacheTTL > 0 {
			in.cache.Put(now, tok, ans, in.ttl(now, ans))
		}
	}
	return in.judge(now, ans)
}

// ttl is how long ans may be reused from now: CacheTTL for an active
// answer but never past its exp, NegativeTTL for an inactive one.
func (in *Introspector) ttl(now time.Time, ans Introspection) time.Duration {
	if !ans.Active {
		return in.cfg.NegativeTTL
	}
	ttl := in.cfg.CacheTTL
	if ans.Expiry > 0 {
		ttl = min(ttl, time.Unix(ans.Expiry, 0).Sub(now))
	}
	return ttl
}

// judge applies the configured checks to an answer.
func (in *Introspector) judge(now time.Time, ans Introspection) (Consumer, error) {
	switch {
	case !ans.Active:
		return Consumer{}, ErrTokenInactive
	case ans.Expiry > 0 && !now.Before(time.Unix(ans.Expiry, 0)):
		return Consumer{}, fmt.Errorf("introspection: %w", jwt.ErrTokenExpired)
	case in.cfg.Issuer != "" && ans.Issuer != in.cfg.Issuer:
		return Consumer{}, fmt.Errorf("introspection: %w", jwt.ErrTokenInvalidIssuer)
	case len(in.cfg.Audiences) > 0 && !slices.ContainsFunc(ans.Audience, func(a string) bool { return slices.Contains(in.cfg.Audiences, a) }):
		return Consumer{}, fmt.Errorf("introspection: %w", jwt.ErrTokenInvalidAudience)
	}
	id := ans.Subject
	if id == "" {
		id = ans.Username
	}
	if id == "" {
		id = ans.ClientID
	}
	return Consumer{ID: id, Method: MethodOAuth2, Scopes: strings.Fields(ans.Scope)}, nil
}

// call asks the endpoint about tok.
func (in *Introspector) call(ctx context.Context, tok string) (Introspection, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.Timeout)
	defer cancel()
	body := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(body))
	if err != nil {
		return Introspection{}, fmt.Errorf("%w: %v", ErrIntrospectionFailed, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.cfg.ClientID != "" {
		req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	}
	resp, err := in.cfg.Client.Do(req)
	if err != nil {
		return Introspection{}, fmt.Errorf("%w: %v", ErrIntrospectionFailed, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes))
	if err != nil {
		return Introspection{}, fmt.Errorf("%w: %v", ErrIntrospectionFailed, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Introspection{}, fmt.Errorf("%w: status %d", ErrIntrospectionFailed, resp.StatusCode)
	}
	var ans Introspection
	if err := json.Unmarshal(data, &ans); err != nil {
		return Introspection{}, fmt.Errorf("%w: %v", ErrIntrospectionFailed, err)
	}
	return ans, nil
}

// Challenge implements Authenticator: a bearer challenge, as JWT's.
func (in *Introspector) Challenge(err error) string { return bearerChallenge(err) }

// Strip removes the bearer token from a request forwarded upstream.
func (in *Introspector) Strip(h http.Header) { h.Del("Authorization") }

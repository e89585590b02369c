package auth

import (
	"context"
	"net/http"
)

// Authentication methods, as recorded in Consumer.Method and the audit log.
const (
	MethodJWT    = "jwt"
	MethodAPIKey = "apiKey"
	MethodMTLS   = "mtls"
)

// Consumer is the authenticated caller of a request, as Kong and Apigee call
// it: the unit that per-consumer rate limits and quotas count.
type Consumer struct {
	// ID names the caller: the JWT "sub", the API key's name, or the peer's
	// SPIFFE ID.
	ID string
	// Method is how the caller was authenticated: jwt, apiKey or mtls.
	Method string
	// Scopes are the OAuth scopes granted: the token's "scope"/"scp" claim or
	// the API key's configured scopes.
	Scopes []string
	// Claims are the JWT's claims (nil for other methods). Treat as read-only.
	Claims map[string]any
}

type consumerKey struct{}

// WithConsumer returns a copy of ctx that carries c.
func WithConsumer(ctx context.Context, c Consumer) context.Context {
	return context.WithValue(ctx, consumerKey{}, c)
}

// ConsumerFrom returns the consumer that an authentication middleware put in
// ctx, and whether there is one.
func ConsumerFrom(ctx context.Context) (Consumer, bool) {
	c, ok := ctx.Value(consumerKey{}).(Consumer)
	return c, ok
}

// ConsumerKey returns the id of r's authenticated consumer, or "" when the
// request is anonymous: the key for per-consumer rate limiting
// (ratelimit.Keyed.Allow(now, auth.ConsumerKey(r))). A route uses one
// authentication method, so ids of different methods do not meet in one
// limiter.
func ConsumerKey(r *http.Request) string {
	c, _ := ConsumerFrom(r.Context())
	return c.ID
}

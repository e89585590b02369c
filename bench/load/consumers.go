package load

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/scenarios"
)

// consumers are who sends an open-loop workload's requests
// (scenarios.Consumers): bench/consumer draws the consumer and the
// credential of the n-th request as the simulator draws them, and this
// puts them on the request: the consumer's API key or JWT (good or bad),
// and its source address (headerSource, for the client's sourceTransport).
type consumers struct {
	set    *consumer.Set
	header string // the credential's header: the route's API key header, or Authorization
	// jwt: the run's test issuer, and the route's issuer and audience.
	issuer   *consumer.Issuer
	iss, aud string
	now      time.Time // when tokens are minted: the load's start
	// noSource leaves the source address out: the target is remote, and
	// requests leave from the machine's own address.
	noSource bool

	mu     sync.Mutex
	tokens map[tokenKey]string
}

type tokenKey struct {
	consumer int
	bad      string
}

// newConsumers prepares who sends workload w, with set its consumers
// (nil: none), in a plan whose routes are in t; the tokens of a jwt
// identity are signed by the issuer derived from seed and minted as of now.
func newConsumers(set *consumer.Set, w *scenarios.Workload, t *scenarios.Topology, seed uint64, now time.Time) (*consumers, error) {
	if set == nil {
		return nil, nil
	}
	c := &consumers{set: set, now: now, tokens: map[tokenKey]string{}}
	r := t.RouteFor(w.Target)
	switch set.Identity() {
	case scenarios.IdentityAPIKey:
		c.header = "X-API-Key"
		if r != nil && r.Auth != nil && r.Auth.Header != "" {
			c.header = r.Auth.Header
		}
	case scenarios.IdentityJWT:
		c.header = "Authorization"
		if r != nil && r.Auth != nil {
			c.iss, c.aud = r.Auth.Issuer, r.Auth.Audience
		}
		is, err := consumer.NewIssuer(seed)
		if err != nil {
			return nil, fmt.Errorf("workload %q: %w", w.Name, err)
		}
		c.issuer = is
	}
	return c, nil
}

// apply puts the n-th request's consumer on h: its credential and its
// source address.
func (c *consumers) apply(h http.Header, n uint64) error {
	p := c.set.Pick(n)
	if !c.noSource {
		h.Set(headerSource, c.set.Source(p.Consumer).String())
	}
	switch c.set.Identity() {
	case scenarios.IdentityAPIKey:
		switch p.Bad {
		case scenarios.BadMissing:
		case scenarios.BadUnknownKey:
			h.Set(c.header, c.set.UnknownAPIKey(p.Consumer))
		default:
			h.Set(c.header, c.set.APIKey(p.Consumer))
		}
	case scenarios.IdentityJWT:
		tok, err := c.token(p)
		if err != nil {
			return err
		}
		if tok != "" {
			h.Set(c.header, "Bearer "+tok)
		}
	}
	return nil
}

// token is the JWT of pick p, minted on first use.
func (c *consumers) token(p consumer.Pick) (string, error) {
	k := tokenKey{p.Consumer, p.Bad}
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok, ok := c.tokens[k]; ok {
		return tok, nil
	}
	tok, err := c.issuer.Token(c.set.Name(p.Consumer), c.iss, c.aud, p.Bad, c.now)
	if err != nil {
		return "", fmt.Errorf("consumer %s: token: %w", c.set.Name(p.Consumer), err)
	}
	c.tokens[k] = tok
	return tok, nil
}

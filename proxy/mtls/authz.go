package mtls

import (
	"fmt"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Rules are the allow and deny patterns of one route, evaluated as Istio's
// AuthorizationPolicy evaluates DENY and ALLOW policies: a peer matching a
// deny pattern is refused; otherwise, if there are allow patterns, the peer
// must match one; with none, every peer not denied is admitted (including
// plaintext peers of a PERMISSIVE listener). A peer without a verified ID
// matches no pattern, not even "*".
type Rules struct {
	allow, deny []Pattern
}

// NewRules parses allow and deny patterns (see Pattern).
func NewRules(allow, deny []string) (*Rules, error) {
	r := &Rules{}
	for _, s := range allow {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("allow: %w", err)
		}
		r.allow = append(r.allow, p)
	}
	for _, s := range deny {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("deny: %w", err)
		}
		r.deny = append(r.deny, p)
	}
	return r, nil
}

// Decide says whether a peer with SPIFFE ID id (ok false: no verified
// identity) is admitted, and why.
func (r *Rules) Decide(id spiffeid.ID, ok bool) (bool, string) {
	if ok {
		s := id.String()
		for _, p := range r.deny {
			if p.Match(s) {
				return false, "denied by rule " + p.String()
			}
		}
		for _, p := range r.allow {
			if p.Match(s) {
				return true, "allowed by rule " + p.String()
			}
		}
	}
	switch {
	case len(r.allow) == 0:
		return true, "no allow rules"
	case !ok:
		return false, "no verified peer identity"
	}
	return false, "no allow rule matches"
}

// PeerID returns the SPIFFE ID of r's peer when crypto/tls verified its
// chain (Request.TLS.VerifiedChains, filled by a ServerConfig listener).
// Certificates presented but not verified do not count.
func PeerID(r *http.Request) (spiffeid.ID, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return spiffeid.ID{}, false
	}
	id, err := IDFromCert(r.TLS.VerifiedChains[0][0])
	if err != nil {
		return spiffeid.ID{}, false
	}
	return id, true
}

// AuthzPolicy is the peer authorization of one route.
type AuthzPolicy struct {
	// Route names the route in the audit log.
	Route string `yaml:"-" json:"-"`
	// Allow and Deny are SPIFFE ID patterns (see Rules and Pattern).
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
	Deny  []string `yaml:"deny,omitempty" json:"deny,omitempty"`
	// Audit logs every decision (nil: none).
	Audit *auth.Audit `yaml:"-" json:"-"`
	// Clock times the audit events (default time.Now).
	Clock func() time.Time `yaml:"-" json:"-"`
	// RequestID names the request in the audit log (default: the
	// X-Request-Id header).
	RequestID func(*http.Request) string `yaml:"-" json:"-"`
}

// Authz returns the http middleware that enforces p on the verified peer
// ID: refused requests are answered 403 (Istio answers "RBAC: access
// denied"); admitted requests reach next, with the peer as the request's
// auth.Consumer (method mtls) when no edge authentication set one, so
// per-consumer rate limits work between services too.
func Authz(p AuthzPolicy) (func(http.Handler) http.Handler, error) {
	rules, err := NewRules(p.Allow, p.Deny)
	if err != nil {
		return nil, fmt.Errorf("authz %s: %w", p.Route, err)
	}
	if p.Clock == nil {
		p.Clock = time.Now
	}
	if p.RequestID == nil {
		p.RequestID = auth.HeaderRequestID
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := PeerID(r)
			allow, reason := rules.Decide(id, ok)
			ev := auth.Event{
				Time: p.Clock(), RequestID: p.RequestID(r), Route: p.Route, Peer: r.RemoteAddr,
				Method: auth.MethodMTLS, Stage: auth.StageAuthz, Decision: auth.DecisionAllow, Reason: reason,
			}
			if ok {
				ev.Principal = id.String()
			}
			if !allow {
				ev.Decision, ev.Status = auth.DecisionDeny, http.StatusForbidden
				p.Audit.Log(r.Context(), ev)
				http.Error(w, "403 forbidden: peer not authorized", http.StatusForbidden)
				return
			}
			p.Audit.Log(r.Context(), ev)
			if _, has := auth.ConsumerFrom(r.Context()); ok && !has {
				r = r.WithContext(auth.WithConsumer(r.Context(), auth.Consumer{ID: id.String(), Method: auth.MethodMTLS}))
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

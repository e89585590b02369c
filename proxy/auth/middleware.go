package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

const defaultRealm = "meshbench"

// Authenticator identifies the caller of a request: JWT and APIKeys.
type Authenticator interface {
	// Authenticate returns the consumer, or an error: ErrNoCredentials,
	// ErrMalformedCredentials or a verification error, all answered 401.
	Authenticate(r *http.Request) (Consumer, error)
	// Challenge is the WWW-Authenticate value of the 401 answering err.
	Challenge(err error) string
}

// stripper is implemented by authenticators whose credentials should not
// reach the upstream.
type stripper interface{ Strip(http.Header) }

// headAuthenticator is implemented by authenticators that can decide from
// a request's header fields alone, without an http.Request (APIKeys), and
// remove their credentials from such a request: the proxy's fast path
// (HeadChecker in package proxy) then serves the requests they admit.
type headAuthenticator interface {
	AuthenticateHead(field func(name string) (value string, n int)) (Consumer, error)
	StripHead(strip func(name string))
}

// Policy is the authentication and authorization of one route.
type Policy struct {
	// Route names the route in the audit log.
	Route string
	// Authenticator identifies the caller (required).
	Authenticator Authenticator
	// Require is checked after authentication (zero: any authenticated
	// consumer).
	Require Requirement
	// Forward keeps the credentials on the forwarded request (default: they
	// are removed, as Envoy's jwt_authn forward: false).
	Forward bool
	// Audit logs every decision (nil: no audit log).
	Audit *Audit
	// Clock times the audit events (default time.Now).
	Clock func() time.Time
	// RequestID names the request in the audit log (default: the
	// X-Request-Id header).
	RequestID func(*http.Request) string
}

// Middleware returns the http middleware that enforces p: a request that
// fails authentication is answered 401 with a WWW-Authenticate challenge, an
// authenticated one that fails p.Require is answered 403, and a request that
// passes reaches next with its Consumer in the context (ConsumerFrom). Each
// decision is written to p.Audit.
func Middleware(p Policy) (func(http.Handler) http.Handler, error) {
	if p.Authenticator == nil {
		return nil, errors.New("auth middleware: an authenticator is required")
	}
	if p.Clock == nil {
		p.Clock = time.Now
	}
	if p.RequestID == nil {
		p.RequestID = HeaderRequestID
	}
	return func(next http.Handler) http.Handler {
		return &handler{p: &p, next: next}
	}, nil
}

// handler is the middleware around next.
type handler struct {
	p    *Policy
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.p.serve(w, r, h.next) }

// CheckHead reports whether a request, known by its header fields alone,
// would pass the middleware (package proxy's HeadChecker): field returns
// the first value of a field and how many fields have that name; strip
// removes the fields the middleware would remove before forwarding. It
// decides with the same Authenticate and Require checks as ServeHTTP, and
// says false whenever ServeHTTP would do more than pass the request on
// with its credentials removed: a refusal (ServeHTTP answers it), an
// authenticator that needs the whole request, or an audit log (whose
// record names the request).
func (h *handler) CheckHead(field func(name string) (value string, n int), strip func(name string)) bool {
	p := h.p
	ha, ok := p.Authenticator.(headAuthenticator)
	if !ok || p.Audit != nil {
		return false
	}
	c, err := ha.AuthenticateHead(field)
	if err != nil {
		return false
	}
	if !p.Require.IsZero() && p.Require.Check(c) != nil {
		return false
	}
	if !p.Forward {
		ha.StripHead(strip)
	}
	return true
}

func (p *Policy) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ev := Event{Route: p.Route, RequestID: p.RequestID(r), Peer: r.RemoteAddr, Stage: StageAuthn, Method: methodOf(p.Authenticator)}
	c, err := p.Authenticator.Authenticate(r)
	if err != nil {
		ev.Time, ev.Decision, ev.Reason, ev.Status = p.Clock(), DecisionDeny, Reason(err), http.StatusUnauthorized
		p.Audit.Log(r.Context(), ev)
		w.Header().Set("WWW-Authenticate", p.Authenticator.Challenge(err))
		http.Error(w, "401 unauthorized: "+ev.Reason, http.StatusUnauthorized)
		return
	}
	ev.Consumer, ev.Method = c.ID, c.Method
	if !p.Require.IsZero() {
		ev.Stage = StageAuthz
		if err := p.Require.Check(c); err != nil {
			ev.Time, ev.Decision, ev.Reason, ev.Status = p.Clock(), DecisionDeny, err.Error(), http.StatusForbidden
			p.Audit.Log(r.Context(), ev)
			if c.Method == MethodJWT {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=%q", defaultRealm, "insufficient_scope"))
			}
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
	}
	ev.Time, ev.Decision = p.Clock(), DecisionAllow
	p.Audit.Log(r.Context(), ev)
	r = r.WithContext(WithConsumer(r.Context(), c))
	if s, ok := p.Authenticator.(stripper); ok && !p.Forward {
		r.Header = r.Header.Clone()
		s.Strip(r.Header)
	}
	next.ServeHTTP(w, r)
}

// methodOf names the method of the package's authenticators for the audit
// log of failed attempts ("" for others).
func methodOf(a Authenticator) string {
	switch a.(type) {
	case *JWT:
		return MethodJWT
	case *APIKeys:
		return MethodAPIKey
	case *Introspector:
		return MethodOAuth2
	}
	return ""
}

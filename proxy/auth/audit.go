package auth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Decisions and stages recorded in the audit log.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"

	StageAuthn = "authn" // who is calling: a token, a key or a peer certificate
	StageAuthz = "authz" // may that caller use this route
)

// Event is one authentication or authorization decision, as written to the
// audit log. Empty fields are left out of the line.
type Event struct {
	// Time is when the decision was taken (the middleware's clock).
	Time time.Time
	// RequestID identifies the request (X-Request-Id by default).
	RequestID string
	// Route is the route the middleware guards.
	Route string
	// Peer is the network address of the direct peer.
	Peer string
	// Principal is the peer's verified SPIFFE ID, when it presented one.
	Principal string
	// Consumer is the authenticated caller: a JWT subject or an API key name.
	Consumer string
	// Method is how the caller was identified: jwt, apiKey or mtls.
	Method string
	// Stage is authn or authz.
	Stage string
	// Decision is allow or deny.
	Decision string
	// Reason says why, in a few words ("token expired", "denied by rule ...").
	Reason string
	// Status is the HTTP status answered on deny (401 or 403).
	Status int
}

// Audit is an audit log of authentication and authorization decisions: one
// JSON object per line, written through log/slog. Allows are logged at INFO
// and denies at WARN. A nil *Audit discards events, so middlewares can take
// one unconditionally. It is safe for concurrent use.
type Audit struct {
	h slog.Handler
}

// NewAudit returns an audit log writing JSON lines to w.
func NewAudit(w io.Writer) *Audit {
	return &Audit{h: slog.NewJSONHandler(w, nil)}
}

// NewAuditHandler returns an audit log that hands its records to h, for a
// caller that already has a slog pipeline.
func NewAuditHandler(h slog.Handler) *Audit { return &Audit{h: h} }

// Log records e. The record's time is e.Time, not the wall clock, so logs
// written under a virtual clock are reproducible.
func (a *Audit) Log(ctx context.Context, e Event) {
	if a == nil {
		return
	}
	level := slog.LevelInfo
	if e.Decision == DecisionDeny {
		level = slog.LevelWarn
	}
	if !a.h.Enabled(ctx, level) {
		return
	}
	rec := slog.NewRecord(e.Time, level, "auth decision", 0)
	add := func(k, v string) {
		if v != "" {
			rec.AddAttrs(slog.String(k, v))
		}
	}
	add("request_id", e.RequestID)
	add("route", e.Route)
	add("peer", e.Peer)
	add("principal", e.Principal)
	add("consumer", e.Consumer)
	add("method", e.Method)
	add("stage", e.Stage)
	add("decision", e.Decision)
	add("reason", e.Reason)
	if e.Status != 0 {
		rec.AddAttrs(slog.Int("status", e.Status))
	}
	_ = a.h.Handle(ctx, rec) // an audit sink that fails must not fail the request
}

// RequestIDHeader is the header that carries a request's id, as set by Envoy
// (x-request-id) and most gateways.
const RequestIDHeader = "X-Request-Id"

// HeaderRequestID returns the request's X-Request-Id header; it is the
// default request-id function of the middlewares.
func HeaderRequestID(r *http.Request) string { return r.Header.Get(RequestIDHeader) }

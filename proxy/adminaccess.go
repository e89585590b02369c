package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/meshbench/meshbench/proxy/config"
)

// Reasons of the admin listener's access decisions, in
// meshbench_proxy_admin_decisions_total and, for refusals, HeaderReason.
const (
	AdminOpen               = "open"                  // allowed: no adminAccess configured (loopback only)
	AdminToken              = "token"                 // allowed: a configured bearer token
	AdminPeer               = "peer"                  // allowed: an mTLS peer an allowSpiffeIds pattern matches
	AdminMissingCredentials = "missing_credentials"   // 401: no token and no verified peer
	AdminInvalidToken       = "invalid_token"         // 401: a bearer token that matches none
	AdminPeerNotAllowed     = "peer_not_allowed"      // 403: a verified peer no pattern matches
	AdminNonLoopback        = "non_loopback_listener" // no adminAccess off loopback: ServeAdmin refused the listener, or 403 for a write
)

// AdminPeerFunc tells the admin listener who the mutual TLS peer of r is
// (its SPIFFE ID; "" when no verified peer) and whether one of the
// adminAccess.allowSpiffeIds patterns allow matches it. proxy/secure
// supplies it with WithAdminTLS.
type AdminPeerFunc func(r *http.Request, allow []string) (peer string, allowed bool)

// WithAdminTLS makes ServeAdmin wrap its listener with listen (proxy/secure
// takes mutual TLS and plaintext on one port there) and identify peers with
// peer, for adminAccess.allowSpiffeIds; without it a configuration that
// sets allowSpiffeIds is refused.
func WithAdminTLS(listen func(net.Listener) (net.Listener, error), peer AdminPeerFunc) Option {
	return func(o *options) { o.adminListen, o.adminPeer = listen, peer }
}

// adminAccess is a snapshot's adminAccess, token files read: whom the
// admin listener lets write.
type adminAccess struct {
	enabled bool
	tokens  []adminToken
	allow   []string
}

type adminToken struct {
	name   string
	digest []byte // SHA-256 of the token
}

// adminAccess reads the token files of a and checks that the peers it
// allows can be identified.
func (b *builder) adminAccess(a config.AdminAccessConfig) *adminAccess {
	acc := &adminAccess{enabled: a.Enabled(), allow: a.AllowSpiffeIDs}
	for i, t := range a.Tokens {
		var digest []byte
		if t.SHA256 != "" {
			digest, _ = hex.DecodeString(strings.TrimPrefix(t.SHA256, "sha256:")) // Validate checked it
		} else {
			data, err := os.ReadFile(t.File)
			tok := strings.TrimSpace(string(data))
			switch {
			case err != nil:
				b.add(fmt.Sprintf("adminAccess.tokens[%d].file", i), err)
				continue
			case tok == "":
				b.add(fmt.Sprintf("adminAccess.tokens[%d].file", i), fmt.Errorf("%s holds no token", t.File))
				continue
			}
			sum := sha256.Sum256([]byte(tok))
			digest = sum[:]
		}
		acc.tokens = append(acc.tokens, adminToken{name: t.Name, digest: digest})
	}
	if len(a.AllowSpiffeIDs) > 0 && b.opts.adminPeer == nil {
		b.add("adminAccess.allowSpiffeIds", errors.New("mutual TLS peers need the security layer (meshbench proxy, proxy/secure) with security.identity, at start, to identify them"))
	}
	return acc
}

// decide says whether r may write through the admin listener, why, and
// who it is (the token's name or the peer's ID).
func (a *adminAccess) decide(r *http.Request, peerOf AdminPeerFunc) (ok bool, reason, who string) {
	if a == nil || !a.enabled {
		// An open API is for loopback only, also when the listener was
		// bound before a reload dropped adminAccess, or the handler is
		// served by someone else's server.
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && !local.IP.IsLoopback() {
			return false, AdminNonLoopback, ""
		}
		return true, AdminOpen, ""
	}
	tok, hasToken := bearerToken(r)
	if hasToken {
		if name, ok := a.match(tok); ok {
			return true, AdminToken, name
		}
	}
	var peer string
	if peerOf != nil && len(a.allow) > 0 {
		var allowed bool
		if peer, allowed = peerOf(r, a.allow); allowed {
			return true, AdminPeer, peer
		}
	}
	switch {
	case hasToken:
		return false, AdminInvalidToken, ""
	case peer != "":
		return false, AdminPeerNotAllowed, peer
	}
	return false, AdminMissingCredentials, ""
}

// match compares the token's digest with every configured one in constant
// time, so that neither the position of a match nor its length leaks.
func (a *adminAccess) match(tok string) (string, bool) {
	sum := sha256.Sum256([]byte(tok))
	name, found := "", 0
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.digest) == 1 {
			name, found = t.name, 1
		}
	}
	return name, found == 1
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN" header
// (RFC 6750; the scheme is case-insensitive).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// guardWrites lets GET and HEAD through and asks decide about every other
// method (the registry's register, heartbeat and deregister), counting each
// decision.
func (p *Proxy) guardWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		ok, reason, who := p.snap.Load().admin.decide(r, p.opts.adminPeer)
		p.env.metrics.adminDecided(ok, reason)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		p.env.log.Warn("admin write refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason, "peer", who)
		w.Header()[HeaderReason] = []string{reason}
		switch reason {
		case AdminPeerNotAllowed:
			http.Error(w, "admin: peer not allowed", http.StatusForbidden)
			return
		case AdminNonLoopback:
			http.Error(w, "admin: writes off loopback need adminAccess", http.StatusForbidden)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="meshbench-admin"`)
		http.Error(w, "admin: a bearer token or an allowed mTLS peer is required", http.StatusUnauthorized)
	})
}

// checkAdminListener refuses to serve an open admin API (no adminAccess)
// on a TCP address off loopback.
func (p *Proxy) checkAdminListener(addr net.Addr) error {
	if p.Config().AdminAccess.Enabled() {
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return nil
	}
	p.env.metrics.adminDecided(false, AdminNonLoopback)
	return &config.ConfigError{Path: "admin", Err: fmt.Errorf("the admin listener %s is not on loopback and has no access control: configure adminAccess (tokens or allowSpiffeIds) or listen on 127.0.0.1", addr)}
}

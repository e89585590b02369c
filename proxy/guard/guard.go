// Package guard holds the HTTP middlewares that refuse requests at the
// gateway's edge by its access policies and quotas: IPRestriction and ACL
// (proxy/access) answer 403, Quota (proxy/quota) 429 with the RateLimit
// header fields and Retry-After. The policies decide; these only read what
// they need from the request (its client address, its verified consumer,
// the time) and write the answer. proxy/secure registers them as route
// middlewares of `meshbench proxy`, and bench/local's gateway uses the same
// ones, so a run and a deployed proxy refuse alike.
package guard

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/quota"
)

// Reasons of the answers, for the proxy's reason header and logs.
const (
	ReasonIPDenied      = "ip_denied"      // 403: the client address is refused
	ReasonACLDenied     = "acl_denied"     // 403: the consumer's groups are refused
	ReasonQuotaExceeded = "quota_exceeded" // 429: the consumer's quota for the period is spent
)

// Refuse writes a refusal: status, with reason, and for a 429 the wait
// until the quota renews. The proxy's own (Proxy.RefuseRateLimited, or a
// plain answer with the reason header) is what callers pass.
type Refuse func(w http.ResponseWriter, r *http.Request, status int, reason string, retryAfter time.Duration)

// PlainRefuse answers with a plain-text body, the reason in header (when
// not empty) and, for a 429, Retry-After in whole seconds (at least 1).
func PlainRefuse(header string) Refuse {
	return func(w http.ResponseWriter, _ *http.Request, status int, reason string, retryAfter time.Duration) {
		h := w.Header()
		if header != "" {
			h.Set(header, reason)
		}
		if status == http.StatusTooManyRequests {
			h.Set("Retry-After", strconv.FormatInt(ceilSeconds(retryAfter), 10))
		}
		http.Error(w, strconv.Itoa(status)+" "+reason, status)
	}
}

// ClientAddr is the address a request came from (its RemoteAddr's host),
// or the zero Addr when it has none that parses.
func ClientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// IPRestriction refuses, 403 ip_denied, the requests whose client address
// the lists refuse.
func IPRestriction(p *access.IPRestriction, refuse Refuse) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.Check(ClientAddr(r)) != nil {
				refuse(w, r, http.StatusForbidden, ReasonIPDenied, 0)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ACL refuses, 403 acl_denied, the requests whose verified consumer
// (consumer(r), "" for none) the ACL refuses. It runs after the route's
// authentication.
func ACL(p *access.ACL, consumer func(*http.Request) string, refuse Refuse) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p.Check(consumer(r)) != nil {
				refuse(w, r, http.StatusForbidden, ReasonACLDenied, 0)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Quota counts each request against key(r)'s quota at clock() and refuses
// one over it, 429 quota_exceeded with Retry-After until the window ends.
// Every answer carries the quota's state in the RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit,
// RateLimit-Remaining, RateLimit-Reset in seconds), as Kong's
// rate-limiting plugin sends them.
func Quota(q *quota.Quota, key func(*http.Request) string, clock func() time.Time, refuse Refuse) func(http.Handler) http.Handler {
	limit := strconv.FormatInt(q.Config().Limit, 10)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := q.Allow(clock(), key(r))
			h := w.Header()
			h.Set("RateLimit-Limit", limit)
			h.Set("RateLimit-Remaining", strconv.FormatInt(d.Remaining, 10))
			h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
			if !d.Allowed {
				refuse(w, r, http.StatusTooManyRequests, ReasonQuotaExceeded, d.Reset)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ceilSeconds is d in whole seconds, rounded up, at least 1.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/meshbench/meshbench/proxy/config"
)

// snapshot is one applied configuration: routes and clusters, immutable
// once built. Requests hold a reference to the snapshot they started with, so
// a reload never changes the routes or clusters under a request in flight;
// the old snapshot is retired when its last request finishes.
type snapshot struct {
	cfg      config.Config // with defaults applied
	routes   []*route
	sidecar  *sidecarTable
	inbound  *route
	clusters map[string]*cluster
	order    []*cluster // by name
	admin    *adminAccess
	tls      *edgeTLSSet // the tls section's certificates; nil without one

	refs    atomic.Int64 // 1 while current, plus one per request in flight
	drained chan struct{}
}

// acquire takes a reference unless the snapshot has been retired and
// drained.
func (s *snapshot) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 {
		close(s.drained)
	}
}

// find routes a request: the inbound route on the inbound listener, else
// the first matching gateway route or the sidecar service it names. It
// returns the route and the path the route sees and forwards (as sent,
// normalised as the route says, and without the service segment when a
// sidecar path prefix named the service), or errPathRejected when the
// route refuses the path (400).
func (s *snapshot) find(r *http.Request, inbound bool) (*route, string, error) {
	return s.findBy(r.Method, requestHost(r), receivedPath(r.URL), headerFields(r.Header), inbound)
}

// errPathRejected is a path the route that matches it refuses: an escaped
// slash where its pathNormalization says reject.
var errPathRejected = errors.New("escaped slash in the path")

// findBy is find for a request given by its method, host (see
// config.HostKey), path as sent (escaped, see receivedPath) and header
// fields. Each gateway route matches the path as its own normalisation
// makes it, computed once for routes that share one.
func (s *snapshot) findBy(method, host, p string, hdr config.Fields, inbound bool) (*route, string, error) {
	if inbound {
		return s.inbound, p, nil
	}
	if s.cfg.Mode == config.ModeSidecar {
		rt, p := s.sidecar.find(host, p)
		return rt, p, nil
	}
	var (
		last     config.PathNormalizer
		lastPath = p
		rejected bool
	)
	for _, rt := range s.routes {
		if rt.norm != last {
			last = rt.norm
			lastPath, rejected = last.Normalize(p)
		}
		if rt.match.Match(method, host, lastPath, hdr) {
			if rejected {
				return rt, lastPath, errPathRejected
			}
			return rt, lastPath, nil
		}
	}
	return nil, p, nil
}

// receivedPath is a request's path as the client sent it, escapes
// included, which routes match and the proxy forwards: url.URL keeps it in
// RawPath when its escaping is not the default one, and Path is it
// otherwise. "" (an absolute-form target without a path) is "/".
func receivedPath(u *url.URL) string {
	if u.RawPath != "" {
		if p, err := url.PathUnescape(u.RawPath); err == nil && p == u.Path {
			return u.RawPath
		}
	}
	if u.Path == "" {
		return "/"
	}
	return u.EscapedPath()
}

// allRoutes returns every route of the snapshot: gateway routes, sidecar
// services and the inbound route.
func (s *snapshot) allRoutes() []*route {
	all := slices.Clone(s.routes)
	if s.sidecar != nil {
		for _, rt := range s.sidecar.services {
			all = append(all, rt)
		}
	}
	if s.inbound != nil {
		all = append(all, s.inbound)
	}
	return all
}

// requestHost returns the request's host as routes match it (see
// config.HostKey).
func requestHost(r *http.Request) string {
	h := r.Host
	if h == "" {
		h = r.URL.Host
	}
	return config.HostKey(h)
}

// headerFields is an http.Header as the fields a route match reads.
type headerFields http.Header

// Joined returns the field's values joined with ",".
func (h headerFields) Joined(name string) (string, bool) {
	vs, ok := h[name]
	switch {
	case !ok:
		return "", false
	case len(vs) == 1:
		return vs[0], true
	}
	return strings.Join(vs, ","), true
}

// sidecarTable maps service names to outbound routes.
type sidecarTable struct {
	domains    []string
	pathPrefix bool
	services   map[string]*route // lower-case service name
}

func (t *sidecarTable) find(host, p string) (*route, string) {
	for _, d := range t.domains {
		if h, ok := strings.CutSuffix(host, strings.ToLower(d)); ok && h != "" {
			host = h
			break
		}
	}
	if rt := t.services[host]; rt != nil {
		return rt, p
	}
	if t.pathPrefix && len(p) > 1 {
		seg, rest, _ := strings.Cut(p[1:], "/")
		if rt := t.services[strings.ToLower(seg)]; rt != nil {
			return rt, "/" + rest
		}
	}
	return nil, p
}

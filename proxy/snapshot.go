package proxy

import (
	"net/http"
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
	order    []*cluster  // by name
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
// returns the route and the path the route sees (cleaned, and without the
// service segment when a sidecar path prefix named the service).
func (s *snapshot) find(r *http.Request, inbound bool) (*route, string) {
	return s.findBy(r.Method, requestHost(r), config.CleanPath(r.URL.Path), headerFields(r.Header), inbound)
}

// findBy is find for a request given by its method, host (see
// config.HostKey), cleaned path (config.CleanPath) and header fields.
func (s *snapshot) findBy(method, host, p string, hdr config.Fields, inbound bool) (*route, string) {
	if inbound {
		return s.inbound, p
	}
	if s.cfg.Mode == config.ModeSidecar {
		return s.sidecar.find(host, p)
	}
	for _, rt := range s.routes {
		if rt.match.Match(method, host, p, hdr) {
			return rt, p
		}
	}
	return nil, p
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

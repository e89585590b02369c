package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
)

// snapshot is one applied configuration: routes and clusters, immutable
// once built. Requests hold a reference to the snapshot they started with, so
// a reload never changes the routes or clusters under a request in flight;
// the old snapshot is retired when its last request finishes.
type snapshot struct {
	cfg      Config // with defaults applied
	routes   []*route
	sidecar  *sidecarTable
	inbound  *route
	clusters map[string]*cluster
	order    []*cluster // by name

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
	p := cleanPath(r.URL.Path)
	if inbound {
		return s.inbound, p
	}
	if s.cfg.Mode == ModeSidecar {
		return s.sidecar.find(r, p)
	}
	host := requestHost(r)
	for _, rt := range s.routes {
		if rt.match.match(r, host, p) {
			return rt, p
		}
	}
	return nil, p
}

// sidecarTable maps service names to outbound routes.
type sidecarTable struct {
	domains    []string
	pathPrefix bool
	services   map[string]*route // lower-case service name
}

func (t *sidecarTable) find(r *http.Request, p string) (*route, string) {
	host := requestHost(r)
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

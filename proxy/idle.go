package proxy

import "slices"

// CloseIdleConnections closes the idle upstream connections of the named
// clusters of the current configuration (every cluster when none is
// named); connections with a request in flight finish it and go back to
// the pool. proxy/secure calls it after a certificate renewal, so that no
// pooled connection outlives the certificate it was made with.
func (p *Proxy) CloseIdleConnections(clusters ...string) {
	s := p.snap.Load()
	if s == nil {
		return
	}
	for _, c := range s.order {
		if len(clusters) == 0 || slices.Contains(clusters, c.name) {
			c.transport.CloseIdleConnections()
		}
	}
}

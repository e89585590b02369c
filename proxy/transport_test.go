package proxy

import (
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/h1"
)

// TestClusterClients: plain-text HTTP/1.1 clusters send through the proxy's
// own client (which the fast path needs); the other protocols, and
// clusters with maxConnsPerHost, through net/http's Transport.
func TestClusterClients(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClusterConfig
		own  bool
	}{
		{name: "http1", cfg: ClusterConfig{Name: "up"}, own: true},
		{name: "http1 with maxConnsPerHost", cfg: ClusterConfig{Name: "up", Connection: ConnectionConfig{MaxConnsPerHost: 4}}},
		{name: "h2c", cfg: ClusterConfig{Name: "up", Protocol: ProtocolH2C}},
		{name: "https", cfg: ClusterConfig{Name: "up", Protocol: ProtocolHTTPS}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTransport(clusterDefaults(tc.cfg), breaker.NewAdmission(breaker.Thresholds{}), nil)
			defer c.CloseIdleConnections()
			_, own := c.(*h1.Client)
			_, std := c.(*http.Transport)
			if own != tc.own || std == tc.own {
				t.Errorf("client %T, want the proxy's own: %v", c, tc.own)
			}
		})
	}
}

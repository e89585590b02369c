package proxy

import (
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/h1"
)

// TestClusterClients: plain-text HTTP/1.1 clusters send through the proxy's
// own client (which the fast path needs); the other protocols, and
// clusters with maxConnsPerHost, through net/http's Transport.
func TestClusterClients(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.ClusterConfig
		own  bool
	}{
		{name: "http1", cfg: config.ClusterConfig{Name: "up"}, own: true},
		{name: "http1 with maxConnsPerHost", cfg: config.ClusterConfig{Name: "up", Connection: config.ConnectionConfig{MaxConnsPerHost: 4}}},
		{name: "h2c", cfg: config.ClusterConfig{Name: "up", Protocol: config.ProtocolH2C}},
		{name: "https", cfg: config.ClusterConfig{Name: "up", Protocol: config.ProtocolHTTPS}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTransport(config.Defaults(config.Config{Clusters: []config.ClusterConfig{tc.cfg}}).Clusters[0], breaker.NewAdmission(breaker.Thresholds{}), nil)
			defer c.CloseIdleConnections()
			_, own := c.(*h1.Client)
			_, std := c.(*http.Transport)
			if own != tc.own || std == tc.own {
				t.Errorf("client %T, want the proxy's own: %v", c, tc.own)
			}
		})
	}
}

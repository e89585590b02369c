package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	in := Config{
		Routes: []RouteConfig{{Cluster: "a", Policy: Policy{Retry: RetryConfig{Attempts: 2}, RateLimit: &RateLimitConfig{Rate: 1},
			RateLimits: []RateLimitConfig{{Rate: 2}}}}},
		Clusters: []ClusterConfig{{Name: "a", HealthCheck: &HealthCheckConfig{}}},
		Sidecar:  SidecarConfig{Outbound: []OutboundConfig{{Service: "risk"}}},
	}
	got := Defaults(in)
	if in.Routes[0].Name != "" || in.Routes[0].Retry.Budget != nil || in.Routes[0].RateLimit.Type != "" || in.Routes[0].RateLimits[0].Type != "" ||
		in.Clusters[0].Protocol != "" || in.Clusters[0].HealthCheck.Path != "" || in.Sidecar.Outbound[0].Cluster != "" {
		t.Fatalf("Defaults modified its input: %+v", in)
	}
	r := got.Routes[0]
	switch {
	case got.Mode != ModeGateway || got.Listen != DefaultListen || got.Server.MaxBodyBytes != DefaultMaxBodyBytes:
		t.Errorf("top level %+v", got)
	case r.Name != "route0" || r.Timeout.D() != DefaultRouteTimeout || r.Retry.Budget == nil || r.RateLimit.Type != "token_bucket" ||
		r.RateLimits[0].Type != "token_bucket":
		t.Errorf("route %+v", r)
	case got.Clusters[0].Protocol != ProtocolHTTP1 || got.Clusters[0].HealthCheck.Path != DefaultHealthPath ||
		got.Clusters[0].Connection.ConnectTimeout.D() != time.Second:
		t.Errorf("cluster %+v", got.Clusters[0])
	case got.Sidecar.Outbound[0].Cluster != "risk":
		t.Errorf("outbound %+v", got.Sidecar.Outbound[0])
	}
	if again := Defaults(got); !reflect.DeepEqual(again, got) {
		t.Errorf("Defaults is not idempotent:\n%+v\nthen\n%+v", got, again)
	}
}

// TestServerSlowClientDefaults: the slow-client bounds get their defaults
// when absent, keep an explicit 0 (none), and refuse negative values by
// their key path.
func TestServerSlowClientDefaults(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		body, send time.Duration
		slow       int
		err        string
	}{
		{name: "absent", yaml: "server: {}\n", body: DefaultBodyTimeout, send: DefaultSendTimeout, slow: DefaultMaxSlowConnections},
		{name: "explicit zero", yaml: "server: {bodyTimeout: 0s, sendTimeout: 0s, maxSlowConnections: 0}\n"},
		{name: "set", yaml: "server: {bodyTimeout: 250ms, sendTimeout: 2s, maxSlowConnections: 7}\n",
			body: 250 * time.Millisecond, send: 2 * time.Second, slow: 7},
		{name: "negative", yaml: "server: {bodyTimeout: -1s}\n", err: "server.bodyTimeout"},
		{name: "negative limit", yaml: "server: {maxSlowConnections: -1}\n", err: "server.maxSlowConnections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			if err := DecodeYAML("cfg.yaml", []byte(tc.yaml), &cfg); err != nil {
				t.Fatal(err)
			}
			err := Validate(cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil && strings.Contains(err.Error(), "server.") {
				t.Fatal(err)
			}
			s := Defaults(cfg).Server
			if s.BodyTimeout.D() != tc.body || s.SendTimeout.D() != tc.send || *s.MaxSlowConnections != tc.slow {
				t.Errorf("bodyTimeout %v sendTimeout %v maxSlowConnections %d, want %v %v %d",
					s.BodyTimeout, s.SendTimeout, *s.MaxSlowConnections, tc.body, tc.send, tc.slow)
			}
		})
	}
}

package config

import (
	"reflect"
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

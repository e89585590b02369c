package proxy

import (
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

// TestSharedLimits: the top level's rateLimit and consumerRateLimit count
// the requests of every gateway route together, before each route's own
// limits.
func TestSharedLimits(t *testing.T) {
	twoRoutes := func(cfg config.Config, up string) config.Config {
		cfg.Clusters = []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}}
		cfg.Routes = []config.RouteConfig{
			{Name: "a", Match: config.MatchConfig{Prefix: "/a"}, Cluster: "up"},
			{Name: "b", Match: config.MatchConfig{Prefix: "/b"}, Cluster: "up",
				Policy: config.Policy{RateLimit: &config.RateLimitConfig{Rate: 0.001, Burst: 100}}},
		}
		return cfg
	}
	t.Run("one limiter for every route", func(t *testing.T) {
		h := start(t, twoRoutes(config.Config{RateLimit: &config.RateLimitConfig{Rate: 0.001, Burst: 2}}, upstream(t, echo("up"))))
		for _, p := range []string{"/a", "/b"} {
			if resp, _ := h.get(t, p); resp.StatusCode != 200 {
				t.Fatalf("%s: status %d within the shared burst", p, resp.StatusCode)
			}
		}
		for _, p := range []string{"/a", "/b"} {
			if resp, _ := h.get(t, p); resp.StatusCode != 429 || resp.Header.Get(HeaderReason) != ReasonRateLimited {
				t.Errorf("%s: status %d reason %q, want 429 from the shared limiter", p, resp.StatusCode, resp.Header.Get(HeaderReason))
			}
		}
		if got := metricValue(t, h.p, `meshbench_proxy_rejections_total{reason="rate_limited",route="b"}`); got != 1 {
			t.Errorf("route b's rejections %v, want 1", got)
		}
	})
	t.Run("one limiter per consumer for every route", func(t *testing.T) {
		h := start(t, twoRoutes(config.Config{ConsumerRateLimit: &config.ConsumerRateLimitConfig{Key: "header:X-Api-Key",
			RateLimitConfig: config.RateLimitConfig{Rate: 0.001, Burst: 1}}}, upstream(t, echo("up"))))
		if resp, _ := h.get(t, "/a", "X-Api-Key", "alice"); resp.StatusCode != 200 {
			t.Fatalf("alice on a: %d", resp.StatusCode)
		}
		if resp, _ := h.get(t, "/b", "X-Api-Key", "alice"); resp.StatusCode != 429 || resp.Header.Get(HeaderReason) != ReasonConsumerLimited {
			t.Errorf("alice on b: %d %q, want 429 %s", resp.StatusCode, resp.Header.Get(HeaderReason), ReasonConsumerLimited)
		}
		if resp, _ := h.get(t, "/b", "X-Api-Key", "bob"); resp.StatusCode != 200 {
			t.Errorf("bob on b: %d", resp.StatusCode)
		}
	})
	t.Run("not in sidecar mode", func(t *testing.T) {
		_, err := New(config.Config{Mode: config.ModeSidecar, RateLimit: &config.RateLimitConfig{Rate: 1, Burst: 1}}, quiet(t))
		if err == nil {
			t.Fatal("a sidecar took shared limits")
		}
	})
}

package proxy

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

// TestClusterStreams: a cluster's policies draw from the streams the proxy
// derives from its seed and the cluster's name, beside the cluster's own,
// so that a seeded proxy makes the same random choices from one version
// to the next.
func TestClusterStreams(t *testing.T) {
	b := &builder{seed: 42}
	s := b.streams("payments")
	for name, off := range map[string]uint64{config.StreamOutlier: 1, config.StreamConcurrency: 2} {
		want := rand.New(rand.NewPCG(42, hashString("payments")+off)).Uint64()
		if got := s(name).Uint64(); got != want {
			t.Errorf("stream %s drew %d, want %d", name, got, want)
		}
	}
}

// TestRefusalNamesEveryProblem: a configuration is refused with every
// problem at once, the configuration's own (config.Validate) and those only
// the proxy sees (here an unknown middleware), each a *config.ConfigError
// with its key path.
func TestRefusalNamesEveryProblem(t *testing.T) {
	mw := config.Policy{Middlewares: []config.MiddlewareConfig{{Name: "auth"}}}
	for _, tc := range []struct {
		name string
		cfg  config.Config
		want []string
	}{
		{name: "valid but for the middleware", cfg: oneRoute(config.ClusterConfig{Name: "a", Endpoints: eps("127.0.0.1:1")}, mw),
			want: []string{`routes[0].middlewares[0].name: unknown middleware "auth" (registered: none)`}},
		{name: "invalid", cfg: config.Config{
			Clusters: []config.ClusterConfig{{Name: "a", Balancer: config.BalancerConfig{Type: "fastest"}}},
			Routes:   []config.RouteConfig{{Cluster: "b", Policy: mw}},
		}, want: []string{"clusters[0].balancer: ", `routes[0].cluster: unknown cluster "b"`, `routes[0].middlewares[0].name: unknown middleware "auth"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, quiet(t))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%T is not a *config.ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

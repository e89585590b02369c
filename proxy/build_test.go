package proxy

import (
	"math/rand/v2"
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

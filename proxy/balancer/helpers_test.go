package balancer

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// epoch is the virtual start of every test.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// at returns epoch + d.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// endpoints returns n equal-weight endpoints "e0".."e{n-1}" in zone "z".
func endpoints(n int) []Endpoint {
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i] = Endpoint{ID: fmt.Sprintf("e%d", i), Zone: "z", Tag: i}
	}
	return eps
}

// tb is what the helpers need of *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// mustNew builds a balancer or fails the test.
func mustNew(t tb, cfg Config) Balancer {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return b
}

// mustPick picks or fails the test.
func mustPick(t tb, b Balancer, now time.Time, key uint64, r *rand.Rand) Pick {
	t.Helper()
	p, err := b.Pick(now, key, r)
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	return p
}

// newRand returns a seeded generator.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// counts picks n times at now (keys 0..n-1) and returns picks per ID.
func counts(t tb, b Balancer, now time.Time, n int, r *rand.Rand) map[string]int {
	t.Helper()
	c := map[string]int{}
	for i := range n {
		p := mustPick(t, b, now, uint64(i), r)
		p.Done(now, time.Millisecond, nil)
		c[p.Endpoint().ID]++
	}
	return c
}

// poolOf returns the implementation behind b.
func poolOf(b Balancer) *pool { return b.(*pool) }

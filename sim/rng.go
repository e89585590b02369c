package sim

import (
	"hash/fnv"
	"math/rand/v2"
)

// Stream returns the random stream of the component called name in a run
// seeded with seed: a PCG generator seeded from (seed, FNV-1a of name).
//
// Every component (a load generator, a replica, a proxy's cluster) draws from
// its own stream, so adding a component, or changing how often one draws,
// does not shift the draws of any other: two variants of a scenario see the
// same arrivals and the same service times, and differ only where their
// policies differ (common random numbers).
func Stream(seed uint64, name string) *rand.Rand {
	return rand.New(rand.NewPCG(seed, nameHash(name)))
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return h.Sum64()
}

package fleet

import (
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// Stream numbers: each kind of draw has its own stream, so that adding a
// service time does not shift which requests fail.
const (
	streamServiceTime uint64 = iota + 1
	streamErrors
	streamFaultLatency
	streamRisk
)

// lockedRand is a seeded generator shared by the requests of one replica.
// Requests draw in the order they reach the draw, so a sequence of requests
// sent one at a time draws the same values under the same seed.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed, stream uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, stream))}
}

// with runs f with the generator held.
func (l *lockedRand) with(f func(r *rand.Rand)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l.r)
}

// bernoulli reports true with probability p.
func (l *lockedRand) bernoulli(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64() < p
}

// hash64 is FNV-1a over the parts, each followed by a zero byte so that
// ("ab","c") and ("a","bc") differ.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

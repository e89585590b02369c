// Package consumer says who sends each request of a workload with
// consumers (scenarios.Consumers): which consumer, with which credential
// (good or one of the bad kinds), from which source address. Every backend
// asks it the same question for the workload's n-th request and gets the
// same answer, so the simulator and the real backends send the same
// consumer sequence for a seed. It also holds the run's test JWT issuer
// (Issuer), whose key is derived from the seed.
//
// The package is pure: no clock, no I/O, no goroutines; the caller passes
// the request's sequence number and, for tokens, the time.
package consumer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"sort"
	"strconv"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

// Set is the consumers of one workload of a run.
type Set struct {
	workload string
	identity string
	seed     uint64 // the workload's stream: the run's seed and the workload's index
	base     int    // consumers of the plan's earlier workloads: the first source address
	cdf      []float64
	last     int       // the last consumer with a weight
	kinds    []string  // bad credential kinds with a share
	badCDF   []float64 // cumulative shares of kinds
}

// Pick is who sends one request.
type Pick struct {
	// Consumer is the consumer's index, 0 to Count-1.
	Consumer int
	// Bad is the kind of bad credential the request carries
	// (scenarios.BadMissing, ...), or "" for the consumer's good one.
	Bad string
}

// ForPlan returns the consumers of each workload of load (nil for a
// workload without), in a run seeded with seed. The consumers of all
// workloads are numbered on, so no two share a source address.
func ForPlan(load []scenarios.Workload, seed uint64) []*Set {
	sets := make([]*Set, len(load))
	base := 0
	for i := range load {
		if sets[i] = newSet(&load[i], i, seed); sets[i] != nil {
			sets[i].base = base
			base += sets[i].Count()
		}
	}
	return sets
}

// newSet returns the consumers of workload w, the index-th of the plan, in
// a run seeded with seed; nil when w has none.
func newSet(w *scenarios.Workload, index int, seed uint64) *Set {
	c := w.Consumers
	if c == nil || c.Count < 1 {
		return nil
	}
	s := &Set{workload: w.Name, identity: c.Identity, seed: splitmix(seed ^ splitmix(uint64(index)+0x636f6e73756d))}
	weights := Weights(c)
	s.cdf = cumulative(weights)
	for i, x := range weights {
		if x > 0 {
			s.last = i
		}
	}
	kinds, shares := c.BadCredentials.Kinds()
	s.kinds = kinds
	sum := 0.0
	for _, f := range shares {
		sum += f
		s.badCDF = append(s.badCDF, sum)
	}
	return s
}

// Weights are the consumers' shares of the requests, summing to 1: even
// (uniform, the default), 1/(i+1)^s normalised (zipf), or the explicit
// shares of the first consumers with the rest split evenly.
func Weights(c *scenarios.Consumers) []float64 {
	w := make([]float64, c.Count)
	switch {
	case len(c.Shares) > 0:
		rest := 1.0
		for i, f := range c.Shares {
			w[i] = float64(f)
			rest -= float64(f)
		}
		if n := c.Count - len(c.Shares); n > 0 {
			for i := len(c.Shares); i < c.Count; i++ {
				w[i] = max(rest, 0) / float64(n)
			}
		}
	case c.Skew != nil && c.Skew.Type == scenarios.SkewZipf:
		for i := range w {
			w[i] = 1 / math.Pow(float64(i+1), c.Skew.S)
		}
	default:
		for i := range w {
			w[i] = 1
		}
	}
	total := 0.0
	for _, x := range w {
		total += x
	}
	if total > 0 {
		for i := range w {
			w[i] /= total
		}
	}
	return w
}

func cumulative(w []float64) []float64 {
	cdf := make([]float64, len(w))
	sum := 0.0
	for i, x := range w {
		sum += x
		cdf[i] = sum
	}
	return cdf
}

// Count is the number of consumers.
func (s *Set) Count() int { return len(s.cdf) }

// Identity is what the consumers carry (scenarios.IdentityJWT, ...).
func (s *Set) Identity() string { return s.identity }

// Pick says who sends the workload's n-th request (n from 0): two uniform
// numbers hashed from the workload's stream and n, one for the consumer
// (by the cumulative weights) and one for the bad credential.
func (s *Set) Pick(n uint64) Pick {
	h1 := splitmix(s.seed ^ splitmix(2*n))
	h2 := splitmix(s.seed ^ splitmix(2*n+1))
	u1, u2 := unit(h1), unit(h2)
	// The first consumer whose cumulative weight exceeds u1: never one of
	// weight zero, whose cumulative weight equals its predecessor's. Past
	// the end (rounding) is the last consumer that has weight.
	i := sort.Search(len(s.cdf), func(i int) bool { return s.cdf[i] > u1 })
	if i == len(s.cdf) {
		i = s.last
	}
	p := Pick{Consumer: i}
	for k, c := range s.badCDF {
		if u2 < c {
			p.Bad = s.kinds[k]
			break
		}
	}
	return p
}

// Name is consumer i's name: "<workload>-<i>". It is a JWT consumer's
// sub and an API-key consumer's key name at the gateway.
func (s *Set) Name(i int) string { return s.workload + "-" + strconv.Itoa(i) }

// APIKey is consumer i's API key: 32 hex digits derived from the
// workload's stream, so the gateway and the load agree without sharing
// state.
func (s *Set) APIKey(i int) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], splitmix(s.seed^splitmix(uint64(i)+0x6b6579)))
	binary.BigEndian.PutUint64(b[8:], splitmix(s.seed^splitmix(uint64(i)+0x6b657932)))
	return "mbk_" + hex.EncodeToString(b[:])
}

// UnknownAPIKey is the key consumer i sends as a bad credential of kind
// unknownKey: a key the gateway does not hold.
func (s *Set) UnknownAPIKey(i int) string { return "mbk_unknown_" + s.APIKey(i)[4:] }

// Keys are the consumers' API keys as the gateway stores them: named by
// Name, hashed (auth.HashAPIKey).
func (s *Set) Keys() []auth.APIKey {
	keys := make([]auth.APIKey, s.Count())
	for i := range keys {
		keys[i] = auth.APIKey{Name: s.Name(i), Hash: auth.HashAPIKey(s.APIKey(i))}
	}
	return keys
}

// Source is the source address consumer i connects from on the real
// backends: 127.1.0.0/16 counted from 127.1.0.1 over the consumers of all
// the plan's workloads (Linux routes all of 127.0.0.0/8 to the loopback
// interface, so the gateway sees each consumer's own client_ip).
func (s *Set) Source(i int) netip.Addr {
	n := s.base + i + 1
	return netip.AddrFrom4([4]byte{127, 1, byte(n >> 8), byte(n)})
}

// Anonymous is the source address of requests of a workload without
// consumers.
var Anonymous = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// KeyName is the consumer name the gateway gives a key it holds that no
// consumer owns (a key listed in the route's auth.keys, or any key on a
// route that lists none): "key-" and the first 12 hex digits of its
// SHA-256, as proxy/auth names keys.
func KeyName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key-" + hex.EncodeToString(sum[:6])
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

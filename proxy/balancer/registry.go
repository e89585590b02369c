package balancer

import (
	"fmt"
	"strings"
	"time"
)

// Config selects and tunes a balancer. Zero values mean the documented
// defaults, which follow Envoy, Finagle and the Maglev paper.
type Config struct {
	// Type is the balancer's name, one of Names().
	Type string
	// Choices is how many random endpoints least_request and peak_ewma
	// compare (power of N choices); at least 2, default 2 as Envoy's
	// choice_count. When Choices >= the number of available endpoints they
	// scan all of them instead.
	Choices int
	// ActiveRequestBias is least_request's exponent in Envoy's effective
	// weight weight/(active+1)^bias; default 1.0. Zero means the default, so
	// Envoy's bias 0 (ignore active requests) is not expressible: use random
	// or weighted_round_robin for weight-only balancing.
	ActiveRequestBias float64
	// DecayTime is peak_ewma's EWMA time constant; default 10s as Finagle.
	DecayTime time.Duration
	// DefaultRTT is peak_ewma's cost of an endpoint with no latency
	// observation yet, decaying from when it was added, as tower/Linkerd's
	// default RTT. Zero means Finagle's rule instead: an unprobed endpoint
	// costs nothing while idle and a large penalty while it has outstanding
	// requests, so it receives one probe at a time until it answers.
	DefaultRTT time.Duration
	// MinRingSize and MaxRingSize bound ring_hash's number of virtual nodes;
	// defaults 1024 and 8388608 (8M) as Envoy.
	MinRingSize, MaxRingSize int
	// TableSize is maglev's lookup table size, a prime; default 65537 as
	// Envoy and the Maglev paper. It should be well above 100 × endpoints
	// for the table to stay balanced.
	TableSize int
	// SlowStart ramps up new and recovered endpoints; see SlowStart.
	SlowStart SlowStart
	// Locality prefers the caller's zone; see Locality.
	Locality Locality
}

// Defaults, in one place.
const (
	defaultChoices     = 2
	defaultBias        = 1.0
	defaultDecayTime   = 10 * time.Second
	defaultMinRingSize = 1024
	defaultMaxRingSize = 8 << 20
	defaultTableSize   = 65537
	maxTableSize       = 5000011 // Envoy's largest suggested maglev table
	defaultAggression  = 1.0
	defaultMinWeightPc = 10.0
	defaultOverprov    = 1.4
)

// kind describes one registered balancer.
type kind struct {
	name     string
	build    func(cfg Config) algorithm
	track    uint8 // what Done feeds back
	spill    int   // how the locality spill is drawn
	keepDown bool  // groups keep unavailable endpoints (ip_hash)
}

// kinds is the registry, in the order Names reports.
var kinds = []kind{
	{name: "round_robin", build: newRoundRobin, spill: spillSeq},
	{name: "weighted_round_robin", build: newWeightedRoundRobin, spill: spillSeq},
	{name: "random", build: newRandom, spill: spillRand},
	{name: "least_request", build: newLeastRequest, track: trackActive, spill: spillRand},
	{name: "peak_ewma", build: newPeakEWMA, track: trackActive | trackLatency, spill: spillRand},
	{name: "ring_hash", build: newRingHash, spill: spillKey},
	{name: "maglev", build: newMaglev, spill: spillKey},
	{name: "ip_hash", build: newIPHash, spill: spillKey, keepDown: true},
}

// Names returns the balancer types New accepts.
func Names() []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.name
	}
	return names
}

// New returns the balancer cfg.Type names, with defaults applied. It has no
// endpoints until Update. Unknown types and out-of-range settings are errors.
func New(cfg Config) (Balancer, error) {
	for _, k := range kinds {
		if k.name == cfg.Type {
			c, err := cfg.withDefaults()
			if err != nil {
				return nil, fmt.Errorf("balancer %s: %w", cfg.Type, err)
			}
			return newPool(c, k), nil
		}
	}
	return nil, fmt.Errorf("balancer: unknown type %q (valid: %s)", cfg.Type, strings.Join(Names(), ", "))
}

// withDefaults validates c and fills in zero values.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Choices == 0:
		c.Choices = defaultChoices
	case c.Choices < 2:
		return c, fmt.Errorf("choices %d: must be at least 2", c.Choices)
	}
	switch {
	case c.ActiveRequestBias == 0:
		c.ActiveRequestBias = defaultBias
	case c.ActiveRequestBias < 0:
		return c, fmt.Errorf("active request bias %g: must not be negative", c.ActiveRequestBias)
	}
	switch {
	case c.DecayTime == 0:
		c.DecayTime = defaultDecayTime
	case c.DecayTime < 0:
		return c, fmt.Errorf("decay time %v: must not be negative", c.DecayTime)
	}
	if c.DefaultRTT < 0 {
		return c, fmt.Errorf("default RTT %v: must not be negative", c.DefaultRTT)
	}
	if c.MinRingSize == 0 {
		c.MinRingSize = defaultMinRingSize
	}
	if c.MaxRingSize == 0 {
		c.MaxRingSize = defaultMaxRingSize
	}
	if c.MinRingSize < 1 || c.MaxRingSize < c.MinRingSize {
		return c, fmt.Errorf("ring size %d..%d: need 1 <= min <= max", c.MinRingSize, c.MaxRingSize)
	}
	if c.TableSize == 0 {
		c.TableSize = defaultTableSize
	}
	if c.TableSize > maxTableSize || !isPrime(c.TableSize) {
		return c, fmt.Errorf("table size %d: must be a prime no larger than %d", c.TableSize, maxTableSize)
	}
	ss := &c.SlowStart
	if ss.Window < 0 {
		return c, fmt.Errorf("slow start window %v: must not be negative", ss.Window)
	}
	switch {
	case ss.Aggression == 0:
		ss.Aggression = defaultAggression
	case ss.Aggression < 0:
		return c, fmt.Errorf("slow start aggression %g: must be positive", ss.Aggression)
	}
	switch {
	case ss.MinWeightPercent == 0:
		ss.MinWeightPercent = defaultMinWeightPc
	case ss.MinWeightPercent < 0 || ss.MinWeightPercent > 100:
		return c, fmt.Errorf("slow start min weight percent %g: must be in (0, 100]", ss.MinWeightPercent)
	}
	switch {
	case c.Locality.OverprovisioningFactor == 0:
		c.Locality.OverprovisioningFactor = defaultOverprov
	case c.Locality.OverprovisioningFactor < 0:
		return c, fmt.Errorf("overprovisioning factor %g: must be positive", c.Locality.OverprovisioningFactor)
	}
	return c, nil
}

// isPrime reports whether n is prime, by trial division (n is small).
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

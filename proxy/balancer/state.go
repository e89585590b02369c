package balancer

import (
	"sync/atomic"
	"time"
)

// state is the part of what the balancer remembers about one endpoint ID
// that picks and completions touch. It is shared by every snapshot that
// contains the ID, and by in-flight picks made from older snapshots, so Done
// always lands on the counters the next pick reads. It fills one 64-byte
// cache line, so endpoints do not share lines under concurrent picks.
type state struct {
	active  atomic.Int64 // requests picked and not yet Done
	latency ewma         // peak_ewma's cost
	_       [32]byte
}

// member is the rest of what the balancer remembers about an endpoint ID,
// guarded by pool.mu; snapshots copy it into entries.
type member struct {
	st        *state
	available bool
	ramping   bool      // in slow start since rampStart
	rampStart time.Time // when the current slow-start window began
}

// entry is one endpoint inside an immutable snapshot. The fields picks read
// come first, so that they share a cache line.
type entry struct {
	st        *state
	weight    float64   // ep.weight() as a float
	inverse   float64   // 1 / weight
	avail     bool      // only ip_hash keeps unavailable entries in its groups
	ramping   bool      // slow start active when the snapshot was built
	rampStart time.Time // copied from member
	rampEnd   time.Time // rampStart + window
	ep        Endpoint
}

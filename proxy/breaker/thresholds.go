package breaker

import (
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
)

// Envoy's defaults for a cluster's circuit-breaking thresholds, applied when a
// Thresholds field is 0 (Envoy: "if not specified").
const (
	DefaultMaxConnections = 1024
	DefaultMaxPending     = 1024
	DefaultMaxRequests    = 1024
	DefaultMaxRetries     = 3
)

// Special threshold values. Envoy tells "not specified" (use the default) from an
// explicit 0 (admit nothing: its check is in-use < max). A Go int has only one zero,
// so 0 keeps Envoy's "not specified" and None stands for Envoy's explicit 0.
const (
	// None admits nothing, as an explicit 0 in Envoy does: MaxRetries: None turns
	// retries off. Every negative value means the same.
	None = -1
	// Unlimited never refuses. Envoy has no such switch; its FAQ suggests setting
	// the thresholds very high, which is what this is.
	Unlimited = math.MaxInt
)

// Resource names one of the counters Envoy's cluster circuit breakers guard.
type Resource int

const (
	// Connections are upstream connections (max_connections).
	Connections Resource = iota
	// PendingRequests are requests queued waiting for a connection
	// (max_pending_requests).
	PendingRequests
	// Requests are requests outstanding to the cluster (max_requests).
	Requests
	// Retries are retries outstanding to the cluster (max_retries).
	Retries

	numResources
)

// String returns the resource's name as Envoy's threshold fields spell it, without
// the max_ prefix.
func (r Resource) String() string {
	switch r {
	case Connections:
		return "connections"
	case PendingRequests:
		return "pending_requests"
	case Requests:
		return "requests"
	case Retries:
		return "retries"
	}
	return "Resource(" + strconv.Itoa(int(r)) + ")"
}

// Thresholds are the per-cluster limits of Envoy's circuit breaking
// (config.cluster.v3.CircuitBreakers.Thresholds, one priority). For every field,
// 0 means Envoy's default (1024, 1024, 1024, 3), None or any negative value admits
// nothing, and Unlimited never refuses.
type Thresholds struct {
	MaxConnections int // concurrent upstream connections
	MaxPending     int // requests waiting for a connection
	MaxRequests    int // concurrent requests
	MaxRetries     int // concurrent retries
}

// Limit returns the effective limit for r after applying the rules above.
func (t Thresholds) Limit(r Resource) int {
	var v, def int
	switch r {
	case Connections:
		v, def = t.MaxConnections, DefaultMaxConnections
	case PendingRequests:
		v, def = t.MaxPending, DefaultMaxPending
	case Requests:
		v, def = t.MaxRequests, DefaultMaxRequests
	case Retries:
		v, def = t.MaxRetries, DefaultMaxRetries
	default:
		panic(fmt.Sprintf("breaker: unknown %v", r))
	}
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Admission enforces Thresholds with one atomic counter per Resource: Acquire takes
// a unit if one is free and fails otherwise, Release gives it back. Unlike Envoy,
// whose check and increment are separate steps, the counter is advanced with
// compare-and-swap, so no interleaving of goroutines ever takes it past its limit.
// Admission is safe for concurrent use and takes no lock.
type Admission struct {
	c [numResources]resourceCounter
}

// resourceCounter is padded to a cache line so that goroutines working on
// different resources do not contend for one line.
type resourceCounter struct {
	used     atomic.Int64
	overflow atomic.Uint64
	limit    int64
	_        [40]byte
}

// NewAdmission returns an Admission enforcing t, with nothing in use.
func NewAdmission(t Thresholds) *Admission {
	a := new(Admission)
	for r := range numResources {
		a.c[r].limit = int64(t.Limit(r))
	}
	return a
}

// Acquire takes one unit of r and reports whether it could: false means r is at its
// limit (Envoy's overflow), and nothing was taken.
func (a *Admission) Acquire(r Resource) bool {
	c := a.counter(r)
	for {
		n := c.used.Load()
		if n >= c.limit {
			c.overflow.Add(1)
			return false
		}
		if c.used.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back one unit of r taken by a successful Acquire. Releasing more than
// was acquired is a programming error and panics.
func (a *Admission) Release(r Resource) {
	c := a.counter(r)
	for {
		n := c.used.Load()
		if n <= 0 {
			panic(fmt.Sprintf("breaker: Release(%v) without a matching Acquire", r))
		}
		if c.used.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// InUse returns how many units of r are held.
func (a *Admission) InUse(r Resource) int { return int(a.counter(r).used.Load()) }

// Limit returns the effective limit of r.
func (a *Admission) Limit(r Resource) int { return int(a.counter(r).limit) }

// Remaining returns how many more units of r may be acquired now (Envoy's remaining_*
// gauges).
func (a *Admission) Remaining(r Resource) int {
	c := a.counter(r)
	return int(max(c.limit-c.used.Load(), 0))
}

// Overflows returns how many Acquire calls for r failed (Envoy's *_overflow counters).
func (a *Admission) Overflows(r Resource) uint64 { return a.counter(r).overflow.Load() }

func (a *Admission) counter(r Resource) *resourceCounter {
	if r < 0 || r >= numResources {
		panic(fmt.Sprintf("breaker: unknown %v", r))
	}
	return &a.c[r]
}

package ratelimit

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Concurrency caps the number of requests in flight at a fixed limit, as
// Envoy's max_requests circuit-breaker threshold does for a cluster: a
// request that would exceed the cap is rejected at once rather than queued.
// It is a single atomic counter, so Acquire and Release take no lock.
type Concurrency struct {
	limit    int64
	inFlight atomic.Int64
}

// NewConcurrency allows up to limit requests in flight. It panics if limit
// is negative: a programmer error (NewConcurrencyLimiter validates
// configuration).
func NewConcurrency(limit int) *Concurrency {
	if limit < 0 {
		panic(fmt.Sprintf("ratelimit: NewConcurrency(%d): limit must be >= 0", limit))
	}
	return &Concurrency{limit: int64(limit)}
}

// Acquire takes a slot if fewer than Limit requests are in flight. now is
// unused: a fixed cap does not depend on time.
func (c *Concurrency) Acquire(now time.Time) bool {
	for {
		n := c.inFlight.Load()
		if n >= c.limit {
			return false
		}
		if c.inFlight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release returns a slot taken by Acquire; now, latency and ok are unused.
// It panics when no slot is held, which means a Release without its Acquire.
func (c *Concurrency) Release(now time.Time, latency time.Duration, ok bool) {
	if c.inFlight.Add(-1) < 0 {
		c.inFlight.Add(1)
		panic("ratelimit: Concurrency.Release without a matching Acquire")
	}
}

// Limit is the fixed cap.
func (c *Concurrency) Limit() int { return int(c.limit) }

// InFlight is the number of slots currently held.
func (c *Concurrency) InFlight() int { return int(c.inFlight.Load()) }

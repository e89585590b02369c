package auth

import (
	"sync"
	"time"
)

// IntrospectionCache holds introspection answers by token until their
// expiry, told the time: Get at now returns an answer stored less than its
// ttl before now. At most max answers are kept: a Put into a full cache
// first drops the expired ones, then the one that expires soonest.
// It is safe for concurrent use.
type IntrospectionCache struct {
	max int

	mu      sync.Mutex
	entries map[string]cachedAnswer
	hits    int64
	misses  int64
}

type cachedAnswer struct {
	ans     Introspection
	expires time.Time
}

// IntrospectionStats are a cache's counters.
type IntrospectionStats struct {
	Hits, Misses int64
	Entries      int
}

// NewIntrospectionCache returns a cache of at most max answers.
func NewIntrospectionCache(max int) *IntrospectionCache {
	return &IntrospectionCache{max: max, entries: map[string]cachedAnswer{}}
}

// Get returns tok's answer if one is fresh at now.
func (c *IntrospectionCache) Get(now time.Time, tok string) (Introspection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[tok]
	if ok && now.Before(e.expires) {
		c.hits++
		return e.ans, true
	}
	if ok {
		delete(c.entries, tok)
	}
	c.misses++
	return Introspection{}, false
}

// Put stores tok's answer, fresh for ttl from now; a ttl <= 0 stores
// nothing.
func (c *IntrospectionCache) Put(now time.Time, tok string, ans Introspection, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[tok]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[tok] = cachedAnswer{ans: ans, expires: now.Add(ttl)}
}

// evict drops the expired answers, and the soonest to expire if none was.
func (c *IntrospectionCache) evict(now time.Time) {
	var soonest string
	var at time.Time
	dropped := false
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			dropped = true
			continue
		}
		if soonest == "" || e.expires.Before(at) || e.expires.Equal(at) && k < soonest {
			soonest, at = k, e.expires
		}
	}
	if !dropped && soonest != "" {
		delete(c.entries, soonest)
	}
}

// Stats returns the cache's counters.
func (c *IntrospectionCache) Stats() IntrospectionStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return IntrospectionStats{Hits: c.hits, Misses: c.misses, Entries: len(c.entries)}
}

package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Keyed applies a separate rate limiter to each key (a consumer, route or
// client IP) with bounded memory, as nginx's limit_req_zone does for
// $binary_remote_addr:
//
//   - at most MaxKeys keys are tracked; a new key beyond that evicts the
//     least recently used one (nginx likewise drops the least recently
//     used state when its zone is full);
//   - a key not seen for IdleTTL is dropped, checked lazily on each call
//     against the now passed in, oldest first.
//
// A forgotten key that returns starts from a fresh limiter (a full bucket,
// empty windows), which is why IdleTTL defaults to the time after which its
// limiter would have been fresh anyway. Looking up a known key does not
// allocate; a new key allocates its limiter and a copy of the key, so the
// caller's buffer is never retained.
type Keyed struct {
	mu      sync.Mutex
	cfg     Config    // resolved
	origin  time.Time // first call; last-seen times are kept as offsets from it
	started bool
	keys    map[string]*keyedEntry
	newest  *keyedEntry // most recently used
	oldest  *keyedEntry // least recently used
	maxKeys int
	idleTTL time.Duration
}

// keyedEntry is one key's limiter, linked into Keyed's recency list.
type keyedEntry struct {
	key          string
	last         time.Duration // since Keyed.origin
	newer, older *keyedEntry
	bucket       TokenBucket   // token_bucket (bucket.lim != nil)
	window       windowCounter // sliding_window, guarded by Keyed.mu
}

// NewKeyed builds a per-key limiter; cfg.Type is token_bucket or
// sliding_window and configures every key's limiter, and cfg.MaxKeys and
// cfg.IdleTTL bound the memory.
func NewKeyed(cfg Config) (*Keyed, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if IsConcurrency(cfg.Type) {
		return nil, fmt.Errorf("ratelimit: keyed: type %q is a concurrency limiter; keyed limiting takes %s or %s",
			cfg.Type, TypeTokenBucket, TypeSlidingWindow)
	}
	return &Keyed{
		cfg:     cfg,
		keys:    make(map[string]*keyedEntry, min(cfg.MaxKeys, 1024)),
		maxKeys: cfg.MaxKeys,
		idleTTL: cfg.IdleTTL,
	}, nil
}

// Allow counts one request for key at now. It is AllowN(now, key, 1).
func (k *Keyed) Allow(now time.Time, key string) Decision {
	return k.AllowN(now, key, 1)
}

// AllowN counts n requests for key at now against key's own limiter.
func (k *Keyed) AllowN(now time.Time, key string, n int) Decision {
	k.mu.Lock()
	if !k.started {
		k.origin, k.started = now, true
	}
	// One Sub per call; the bookkeeping below compares integers.
	t := now.Sub(k.origin)
	k.expire(t)
	e := k.keys[key]
	if e == nil {
		e = k.add(t, key)
	} else {
		k.touch(e)
		e.last = max(e.last, t)
	}
	if e.bucket.lim != nil {
		// The bucket never changes after the entry is built and has its own
		// lock, so it is consulted after Keyed's lock is released; if the
		// key is evicted meanwhile, this request was simply its last.
		b := &e.bucket
		k.mu.Unlock()
		return b.AllowN(now, n)
	}
	d := e.window.allow(t, int64(n))
	k.mu.Unlock()
	return d
}

// Len is the number of keys tracked, never more than MaxKeys.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// expire drops keys idle for IdleTTL or longer, from the least recently
// used end; it stops at the first key still live, so each call costs O(1)
// plus the keys it drops.
func (k *Keyed) expire(t time.Duration) {
	for e := k.oldest; e != nil && t-e.last >= k.idleTTL; e = k.oldest {
		k.remove(e)
	}
}

// add starts tracking key, evicting the least recently used key if full.
func (k *Keyed) add(t time.Duration, key string) *keyedEntry {
	if len(k.keys) >= k.maxKeys {
		k.remove(k.oldest)
	}
	e := &keyedEntry{key: strings.Clone(key), last: t}
	switch k.cfg.Type {
	case TypeTokenBucket:
		e.bucket = *NewTokenBucket(k.cfg.Rate, k.cfg.Burst)
	default:
		e.window = newWindowCounter(k.cfg.Limit, k.cfg.Window)
	}
	k.keys[e.key] = e
	k.pushNewest(e)
	return e
}

func (k *Keyed) remove(e *keyedEntry) {
	k.unlink(e)
	delete(k.keys, e.key)
}

// touch marks e as the most recently used key.
func (k *Keyed) touch(e *keyedEntry) {
	if k.newest == e {
		return
	}
	k.unlink(e)
	k.pushNewest(e)
}

func (k *Keyed) pushNewest(e *keyedEntry) {
	e.older, e.newer = k.newest, nil
	if k.newest != nil {
		k.newest.newer = e
	}
	k.newest = e
	if k.oldest == nil {
		k.oldest = e
	}
}

func (k *Keyed) unlink(e *keyedEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		k.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		k.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

package cache

import (
	"container/list"
	"net/http"
	"sync"
	"time"
)

// Entry is one stored response.
type Entry struct {
	// Status, Header and Body are the response as stored.
	Status int
	Header http.Header
	Body   []byte
	// StoredAt is when the response was stored (the cache's clock).
	StoredAt time.Time
	// InitialAge is the response's age when it was stored (RFC 9111 §4.2.3
	// corrected_initial_age).
	InitialAge time.Duration
	// Lifetime is the freshness lifetime (§4.2.1).
	Lifetime time.Duration

	primary, variant string
	size             int64
	elem             *list.Element
}

// Age is the entry's current age at now (§4.2.3 current_age).
func (e *Entry) Age(now time.Time) time.Duration {
	return e.InitialAge + max(0, now.Sub(e.StoredAt))
}

// Fresh reports whether the entry is fresh at now (§4.2).
func (e *Entry) Fresh(now time.Time) bool { return e.Lifetime > e.Age(now) }

// entryOverhead approximates the bookkeeping of one entry (struct, list
// element, map slots) so that many tiny responses still count.
const entryOverhead = 256

func (e *Entry) computeSize() int64 {
	n := int64(entryOverhead + len(e.Body) + len(e.primary) + len(e.variant))
	for k, vs := range e.Header {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// Store is an in-memory map of entries bounded by a byte budget, evicting
// the least recently used entries first. Entries are addressed by a primary
// key (the URI) and a variant (the Vary header values), so that all
// variants of a URI can be invalidated together. Time is an argument. It is
// safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	maxBytes int64
	maxCount int // 0: no bound on the number of entries
	bytes    int64
	lru      *list.List // front: most recently used; values are *Entry
	entries  map[string]map[string]*Entry
	stats    Stats
}

// Stats counts what a Store did.
type Stats struct {
	Hits, Misses, Stores, Evictions, Expired, Invalidated int64
	// Entries and Bytes are the current contents.
	Entries int
	Bytes   int64
}

// NewStore returns a store that holds at most maxBytes.
func NewStore(maxBytes int64) *Store {
	return &Store{maxBytes: maxBytes, lru: list.New(), entries: map[string]map[string]*Entry{}}
}

// Get returns the entry for primary and variant if it is fresh at now,
// marking it recently used. A stale entry is removed and counts as a miss.
func (s *Store) Get(primary, variant string, now time.Time) (*Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[primary][variant]
	if e == nil {
		s.stats.Misses++
		return nil, false
	}
	if !e.Fresh(now) {
		s.remove(e)
		s.stats.Expired++
		s.stats.Misses++
		return nil, false
	}
	s.lru.MoveToFront(e.elem)
	s.stats.Hits++
	return e, true
}

// SetMaxEntries bounds the number of entries as well as their bytes (0:
// no bound), as nginx's keys_zone size bounds keys; Put evicts the least
// recently used entries beyond it.
func (s *Store) SetMaxEntries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxCount = n
}

// Put stores e under primary and variant, replacing what was there and
// evicting least recently used entries until it fits. An entry larger than
// the whole budget is refused.
func (s *Store) Put(primary, variant string, e *Entry) bool {
	e.primary, e.variant = primary, variant
	e.size = e.computeSize()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.size > s.maxBytes {
		return false
	}
	if old := s.entries[primary][variant]; old != nil {
		s.remove(old)
	}
	for s.bytes+e.size > s.maxBytes || (s.maxCount > 0 && s.lru.Len() >= s.maxCount) {
		s.remove(s.lru.Back().Value.(*Entry))
		s.stats.Evictions++
	}
	vs := s.entries[primary]
	if vs == nil {
		vs = map[string]*Entry{}
		s.entries[primary] = vs
	}
	vs[variant] = e
	e.elem = s.lru.PushFront(e)
	s.bytes += e.size
	s.stats.Stores++
	return true
}

// Invalidate removes every variant stored under primary.
func (s *Store) Invalidate(primary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries[primary] {
		s.remove(e)
		s.stats.Invalidated++
	}
}

// Stats returns the counters and current size.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Entries = s.lru.Len()
	st.Bytes = s.bytes
	return st
}

func (s *Store) remove(e *Entry) {
	s.lru.Remove(e.elem)
	s.bytes -= e.size
	vs := s.entries[e.primary]
	delete(vs, e.variant)
	if len(vs) == 0 {
		delete(s.entries, e.primary)
	}
}

package cache

import (
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestStoreInvariants: under any sequence of puts, gets and invalidations,
// the store stays within its budget and its byte count equals the sum of
// its entries' sizes.
func TestStoreInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxBytes := rapid.Int64Range(entryOverhead, 20_000).Draw(t, "maxBytes")
		s := NewStore(maxBytes)
		now := epoch
		for i := range rapid.IntRange(1, 200).Draw(t, "ops") {
			key := strconv.Itoa(rapid.IntRange(0, 15).Draw(t, "key"))
			variant := strconv.Itoa(rapid.IntRange(0, 2).Draw(t, "variant"))
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				e := &Entry{Status: 200, Body: make([]byte, rapid.IntRange(0, 4000).Draw(t, "size")),
					StoredAt: now, Lifetime: time.Duration(rapid.IntRange(1, 100).Draw(t, "ttl")) * time.Second}
				s.Put(key, variant, e)
			case 2:
				if e, ok := s.Get(key, variant, now); ok && !e.Fresh(now) {
					t.Fatalf("op %d: Get returned a stale entry", i)
				}
			case 3:
				s.Invalidate(key)
			}
			now = now.Add(time.Duration(rapid.IntRange(0, 5).Draw(t, "advance")) * time.Second)
			var sum int64
			n := 0
			for _, vs := range s.entries {
				for _, e := range vs {
					sum += e.size
					n++
				}
			}
			st := s.Stats()
			if st.Bytes > maxBytes || st.Bytes != sum || st.Entries != n {
				t.Fatalf("op %d: stats %+v, sum %d over %d entries, max %d", i, st, sum, n, maxBytes)
			}
		}
	})
}

// TestStoreMaxEntries checks that an entry bound evicts the least recently
// used entry, whatever the byte budget.
func TestStoreMaxEntries(t *testing.T) {
	s := NewStore(1 << 20)
	s.SetMaxEntries(2)
	now := time.Unix(0, 0)
	put := func(k string) { s.Put(k, "", &Entry{Status: 200, StoredAt: now, Lifetime: time.Minute}) }
	put("a")
	put("b")
	if _, ok := s.Get("a", "", now); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	put("c")
	if _, ok := s.Get("b", "", now); ok {
		t.Error("b survived: the least recently used entry must go first")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := s.Get(k, "", now); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if st := s.Stats(); st.Entries != 2 || st.Evictions != 1 {
		t.Errorf("stats %+v, want 2 entries and 1 eviction", st)
	}
}

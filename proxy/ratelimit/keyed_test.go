package ratelimit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func mustKeyed(t interface {
	Helper()
	Fatal(...any)
}, cfg Config) *Keyed {
	t.Helper()
	k, err := NewKeyed(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyedKeysAreIndependent(t *testing.T) {
	for _, typ := range []string{TypeTokenBucket, TypeSlidingWindow} {
		t.Run(typ, func(t *testing.T) {
			k := mustKeyed(t, Config{Type: typ, Rate: 2, Burst: 2, Limit: 2, Window: time.Second})
			for _, key := range []string{"alice", "bob"} {
				for i := range 2 {
					if !k.Allow(epoch, key).Allowed {
						t.Fatalf("%s request %d denied", key, i)
					}
				}
				if d := k.Allow(epoch, key); d.Allowed || d.RetryAfter <= 0 {
					t.Fatalf("%s third request: %+v, want denied with a RetryAfter", key, d)
				}
			}
		})
	}
}

func TestKeyedEvictsLeastRecentlyUsed(t *testing.T) {
	k := mustKeyed(t, Config{Type: TypeTokenBucket, Rate: 1, Burst: 1, MaxKeys: 2, IdleTTL: time.Hour})
	k.Allow(epoch, "a") // a's bucket empty
	k.Allow(epoch, "b") // b's bucket empty
	if k.Allow(epoch, "a").Allowed {
		t.Fatal("a admitted twice") // also makes a the most recent
	}
	k.Allow(epoch, "c") // full: evicts b, the least recently used
	if k.Len() != 2 {
		t.Fatalf("Len %d, want 2", k.Len())
	}
	if k.Allow(epoch, "a").Allowed {
		t.Fatal("a was evicted instead of b")
	}
	if !k.Allow(epoch, "b").Allowed { // forgotten, so a fresh bucket (evicting c)
		t.Fatal("b was not evicted")
	}
}

func TestKeyedIdleKeysExpire(t *testing.T) {
	k := mustKeyed(t, Config{Type: TypeSlidingWindow, Limit: 1, Window: time.Second, IdleTTL: 10 * time.Second})
	k.Allow(at(0), "a")
	k.Allow(at(5*time.Second), "b")
	k.Allow(at(9*time.Second), "b")
	if k.Len() != 2 {
		t.Fatalf("Len %d, want 2", k.Len())
	}
	k.Allow(at(10*time.Second), "c") // a idle for 10s: gone
	if k.Len() != 2 {
		t.Fatalf("Len %d after a expired, want 2 (b, c)", k.Len())
	}
	k.Allow(at(30*time.Second), "c") // b idle 21s: gone; c touched
	if k.Len() != 1 {
		t.Fatalf("Len %d, want 1", k.Len())
	}
}

func TestKeyedDefaultIdleTTLIsLossless(t *testing.T) {
	// With the default IdleTTL a key is forgotten only once its limiter is
	// back to the initial state, so expiry changes no decision.
	k := mustKeyed(t, Config{Type: TypeTokenBucket, Rate: 0.01, Burst: 2}) // refill takes 200s
	if k.cfg.IdleTTL != 200*time.Second {
		t.Fatalf("IdleTTL %v, want 200s", k.cfg.IdleTTL)
	}
	k.Allow(epoch, "a")
	k.Allow(epoch, "a")
	if d := k.Allow(at(199*time.Second), "a"); !d.Allowed {
		t.Fatalf("at 199s: %+v, want admitted (1.99 tokens)", d)
	}
}

// keyedModel is a plain model of Keyed's bookkeeping: a slice in recency
// order and one dedicated limiter per remembered key.
type keyedModel struct {
	cfg   Config
	order []string // least recently used first
	last  map[string]time.Duration
	own   map[string]Limiter
}

func (m *keyedModel) allow(now time.Duration, key string) Decision {
	for len(m.order) > 0 && now-m.last[m.order[0]] >= m.cfg.IdleTTL {
		m.forget(m.order[0])
	}
	if _, ok := m.own[key]; ok {
		m.order = slices.DeleteFunc(m.order, func(k string) bool { return k == key })
	} else {
		if len(m.order) >= m.cfg.MaxKeys {
			m.forget(m.order[0])
		}
		m.own[key], _ = New(m.cfg)
	}
	m.order = append(m.order, key)
	m.last[key] = now
	return m.own[key].Allow(at(now))
}

func (m *keyedModel) forget(key string) {
	m.order = slices.DeleteFunc(m.order, func(k string) bool { return k == key })
	delete(m.own, key)
}

// TestKeyedProperties: under random keys and times Keyed makes the same
// decisions as the model, and never tracks more than MaxKeys keys.
func TestKeyedProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		typ := rapid.SampledFrom([]string{TypeTokenBucket, TypeSlidingWindow}).Draw(t, "type")
		cfg := Config{Type: typ, Rate: 5, Burst: 3, Limit: 3, Window: time.Second,
			MaxKeys: rapid.IntRange(1, 8).Draw(t, "maxKeys"),
			IdleTTL: time.Duration(rapid.IntRange(1, 5).Draw(t, "ttl")) * time.Second}
		universe := rapid.IntRange(1, 12).Draw(t, "keys")
		k := mustKeyed(t, cfg)
		m := &keyedModel{cfg: cfg, last: map[string]time.Duration{}, own: map[string]Limiter{}}
		now := time.Duration(0)
		for i := range rapid.IntRange(1, 200).Draw(t, "steps") {
			now += time.Duration(rapid.IntRange(0, 1500).Draw(t, "ms")) * ms
			key := fmt.Sprintf("k%d", rapid.IntRange(0, universe-1).Draw(t, "key"))
			got, want := k.Allow(at(now), key), m.allow(now, key)
			if got != want {
				t.Fatalf("step %d key %s at %v: %+v, model says %+v", i, key, now, got, want)
			}
			if n := k.Len(); n != len(m.order) || n > cfg.MaxKeys {
				t.Fatalf("step %d: Len %d, model %d, MaxKeys %d", i, n, len(m.order), cfg.MaxKeys)
			}
		}
	})
}

func TestKeyedExistingKeyDoesNotAllocate(t *testing.T) {
	for _, typ := range []string{TypeTokenBucket, TypeSlidingWindow} {
		t.Run(typ, func(t *testing.T) {
			k := mustKeyed(t, Config{Type: typ, Rate: 1e9, Limit: 1 << 30})
			keys := make([]string, 100)
			for i := range keys {
				keys[i] = fmt.Sprintf("10.0.0.%d", i)
				k.Allow(epoch, keys[i])
			}
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				i++
				k.Allow(epoch.Add(time.Duration(i)), keys[i%len(keys)])
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per Allow on a known key", allocs)
			}
		})
	}
}

func TestKeyedDoesNotRetainCallerKey(t *testing.T) {
	k := mustKeyed(t, Config{Type: TypeSlidingWindow, Limit: 1})
	buf := []byte("client-1")
	k.Allow(epoch, string(buf[:6]))
	for key := range k.keys {
		if key != "client" {
			t.Fatalf("stored key %q", key)
		}
	}
}

func BenchmarkKeyed(b *testing.B) {
	for _, typ := range []string{TypeTokenBucket, TypeSlidingWindow} {
		for _, nkeys := range []int{1, 1000, 100000} {
			k := mustKeyed(b, Config{Type: typ, Rate: 1e9, Limit: 1 << 30, MaxKeys: 100000})
			keys := make([]string, nkeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
				k.Allow(epoch, keys[i]) // known keys only: the path that must not allocate
			}
			b.Run(fmt.Sprintf("%s/keys=%d", typ, nkeys), func(b *testing.B) {
				b.ReportAllocs()
				defer cpuMeter(b)()
				for i := 0; b.Loop(); i++ {
					k.Allow(epoch.Add(time.Duration(i)), keys[i%nkeys])
				}
			})
			b.Run(fmt.Sprintf("%s/keys=%d/parallel", typ, nkeys), func(b *testing.B) {
				b.ReportAllocs()
				defer cpuMeter(b)()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						k.Allow(epoch.Add(time.Duration(i)), keys[i%nkeys])
					}
				})
			})
		}
	}
	b.Run("churn/maxKeys=1000", func(b *testing.B) {
		// Every request is a new key: the eviction path, which allocates.
		k := mustKeyed(b, Config{Type: TypeSlidingWindow, Limit: 10, MaxKeys: 1000})
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = fmt.Sprintf("key-%d", i)
		}
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			k.Allow(epoch, keys[i%len(keys)])
		}
	})
}

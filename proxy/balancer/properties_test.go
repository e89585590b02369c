package balancer

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// universe is the pool of endpoints the property tests draw sets from.
func universe() []Endpoint {
	eps := make([]Endpoint, 12)
	for i := range eps {
		eps[i] = Endpoint{ID: fmt.Sprintf("u%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", 9000+i), Zone: string(rune('a' + i%3)), Weight: i%4 + 1, Tag: i}
	}
	return eps
}

// drawConfig draws a configuration of the given type with random options.
func drawConfig(t *rapid.T, typ string) Config {
	cfg := Config{Type: typ, Choices: rapid.SampledFrom([]int{0, 2, 3, 5, 20}).Draw(t, "choices")}
	if rapid.Bool().Draw(t, "slowStart") {
		cfg.SlowStart = SlowStart{Window: 30 * time.Second, Aggression: rapid.Float64Range(0.5, 3).Draw(t, "aggression")}
	}
	if rapid.Bool().Draw(t, "locality") {
		cfg.Locality = Locality{Enabled: true, LocalZone: "a"}
	}
	if typ == "maglev" {
		cfg.TableSize = 251 // keep rebuilds cheap
	}
	return cfg
}

// model is what the tests know the balancer should hold.
type model struct {
	set   map[string]Endpoint
	avail map[string]bool
}

func (m *model) anyAvailable() bool {
	for id := range m.set {
		if m.avail[id] {
			return true
		}
	}
	return false
}

// TestPicksOnlyAvailable drives every balancer through random updates,
// availability changes, picks and completions, and checks that a pick is
// always a current, available endpoint, returned unchanged, and that
// ErrNoEndpoint comes exactly when nothing is available.
func TestPicksOnlyAvailable(t *testing.T) {
	for _, typ := range Names() {
		t.Run(typ, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				b := mustNew(t, drawConfig(t, typ))
				r := newRand(rapid.Uint64().Draw(t, "seed"))
				all := universe()
				m := model{set: map[string]Endpoint{}, avail: map[string]bool{}}
				var inflight []Pick
				now := epoch
				steps := rapid.IntRange(1, 150).Draw(t, "steps")
				for range steps {
					now = now.Add(time.Duration(rapid.Int64Range(0, int64(5*time.Second)).Draw(t, "dt")))
					switch op := rapid.IntRange(0, 9).Draw(t, "op"); op {
					case 0: // new set: a random subset in random order
						perm := rapid.Permutation(all).Draw(t, "perm")
						eps := perm[:rapid.IntRange(0, len(perm)).Draw(t, "size")]
						next := map[string]Endpoint{}
						for _, ep := range eps {
							next[ep.ID] = ep
							if _, kept := m.set[ep.ID]; !kept {
								m.avail[ep.ID] = true
							}
						}
						m.set = next
						b.Update(now, eps)
					case 1, 2:
						id := rapid.SampledFrom(all).Draw(t, "id").ID
						ok := rapid.Bool().Draw(t, "ok")
						b.SetAvailable(now, id, ok)
						if _, in := m.set[id]; in {
							m.avail[id] = ok
						}
					case 3:
						if len(inflight) > 0 {
							i := rapid.IntRange(0, len(inflight)-1).Draw(t, "done")
							inflight[i].Done(now, time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "latency")), nil)
							inflight = slices.Delete(inflight, i, i+1)
						}
					default:
						key := rapid.Uint64().Draw(t, "key")
						p, err := b.Pick(now, key, r)
						if !m.anyAvailable() {
							if err != ErrNoEndpoint {
								t.Fatalf("nothing available: Pick = %v, %v; want ErrNoEndpoint", p.Endpoint(), err)
							}
							continue
						}
						if err != nil {
							t.Fatalf("Pick: %v", err)
						}
						ep := p.Endpoint()
						want, in := m.set[ep.ID]
						switch {
						case !in:
							t.Fatalf("picked %q, not in the set", ep.ID)
						case !m.avail[ep.ID]:
							t.Fatalf("picked unavailable %q", ep.ID)
						case ep != want:
							t.Fatalf("picked %+v, set has %+v", ep, want)
						}
						inflight = append(inflight, p)
					}
				}
			})
		})
	}
}

// TestDeterministic checks that the same seed and calls give the same picks.
func TestDeterministic(t *testing.T) {
	for _, typ := range Names() {
		t.Run(typ, func(t *testing.T) {
			run := func() []string {
				b := mustNew(t, Config{Type: typ, SlowStart: SlowStart{Window: 20 * time.Second}, Locality: Locality{Enabled: true, LocalZone: "a"}})
				r := newRand(42)
				all := universe()
				b.Update(epoch, all[:8])
				var got []string
				now := epoch
				for i := range 3000 {
					now = now.Add(7 * time.Millisecond)
					switch i {
					case 500:
						b.Update(now, all) // four new endpoints ramp up
					case 1000:
						b.SetAvailable(now, "u0", false)
						b.SetAvailable(now, "u3", false)
					case 2000:
						b.SetAvailable(now, "u0", true)
					}
					p := mustPick(t, b, now, uint64(i*i), r)
					p.Done(now, time.Duration(p.Endpoint().Tag+1)*time.Millisecond, nil)
					got = append(got, p.Endpoint().ID)
				}
				return got
			}
			a, b := run(), run()
			if !slices.Equal(a, b) {
				t.Fatal("two runs with the same seed picked differently")
			}
		})
	}
}

// TestConcurrent picks and completes from several goroutines while the set
// and availability change; run with -race. Endpoints u10 and u11 are never
// available after the start, so they must never be picked.
func TestConcurrent(t *testing.T) {
	for _, typ := range Names() {
		t.Run(typ, func(t *testing.T) {
			b := mustNew(t, Config{Type: typ, TableSize: 1009, SlowStart: SlowStart{Window: time.Second}})
			all := universe()
			b.Update(epoch, all)
			b.SetAvailable(epoch, "u10", false)
			b.SetAvailable(epoch, "u11", false)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := newRand(uint64(g))
					for i := range 2000 {
						now := epoch.Add(time.Duration(i) * time.Millisecond)
						p, err := b.Pick(now, uint64(i), r)
						if err != nil {
							errs <- err
							return
						}
						if id := p.Endpoint().ID; id == "u10" || id == "u11" {
							errs <- fmt.Errorf("picked unavailable %s", id)
							return
						}
						p.Done(now, time.Millisecond, nil)
					}
				}()
			}
			for i := range 200 {
				now := epoch.Add(time.Duration(i) * 10 * time.Millisecond)
				b.SetAvailable(now, all[i%10].ID, i%2 == 0)
				if i%20 == 0 { // drop some of u0..u2; u10 and u11 stay, unavailable
					b.Update(now, append(slices.Clone(all[i%3:10]), all[10:]...))
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

package balancer

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestRoundRobinExactlyFair: over n×k consecutive picks from n available
// endpoints each is picked exactly k times, from whatever cursor position,
// whatever the weights, and with some endpoints unavailable.
func TestRoundRobinExactlyFair(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		eps := endpoints(n)
		for i := range eps {
			eps[i].Weight = rapid.IntRange(0, 9).Draw(t, "weight") // ignored
		}
		b := mustNew(t, Config{Type: "round_robin"})
		b.Update(epoch, eps)
		down := map[string]bool{}
		for _, ep := range eps[1:] {
			if rapid.Bool().Draw(t, "down") {
				b.SetAvailable(epoch, ep.ID, false)
				down[ep.ID] = true
			}
		}
		counts(t, b, epoch, rapid.IntRange(0, 100).Draw(t, "warmup"), nil)
		k := rapid.IntRange(1, 5).Draw(t, "k")
		avail := n - len(down)
		got := counts(t, b, epoch, avail*k, nil)
		for _, ep := range eps {
			want := k
			if down[ep.ID] {
				want = 0
			}
			if got[ep.ID] != want {
				t.Fatalf("%s picked %d times in %d picks over %d available, want %d", ep.ID, got[ep.ID], avail*k, avail, want)
			}
		}
	})
}

func TestRoundRobinOrder(t *testing.T) {
	b := mustNew(t, Config{Type: "round_robin"})
	b.Update(epoch, endpoints(3))
	var got string
	for range 7 {
		got += mustPick(t, b, epoch, 0, nil).Endpoint().ID + " "
	}
	if want := "e0 e1 e2 e0 e1 e2 e0 "; got != want {
		t.Fatalf("picks = %q, want %q", got, want)
	}
	// The cursor survives an update: the rotation continues.
	b.Update(epoch, endpoints(4))
	if id := mustPick(t, b, epoch, 0, nil).Endpoint().ID; id != "e3" {
		t.Fatalf("after update picked %s, want e3 (cursor 7 mod 4)", id)
	}
}

// TestRoundRobinWithoutRand: round robin and the hash balancers accept a nil
// *rand.Rand, even when the local zone spills.
func TestRoundRobinWithoutRand(t *testing.T) {
	for _, typ := range []string{"round_robin", "weighted_round_robin", "ring_hash", "maglev", "ip_hash"} {
		t.Run(typ, func(t *testing.T) {
			b := mustNew(t, Config{Type: typ, Locality: Locality{Enabled: true, LocalZone: "a"}})
			var eps []Endpoint
			for i := range 6 {
				eps = append(eps, Endpoint{ID: fmt.Sprint(i), Zone: string(rune('a' + i%2))})
			}
			b.Update(epoch, eps)
			b.SetAvailable(epoch, "0", false) // local zone 2/3 healthy: spills
			for i := range 100 {
				mustPick(t, b, epoch.Add(time.Duration(i)), uint64(i), nil)
			}
		})
	}
}

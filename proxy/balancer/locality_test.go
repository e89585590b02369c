package balancer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestLocalShare(t *testing.T) {
	tests := []struct {
		name             string
		la, lt, ra, rt   int
		overprovisioning float64
		want             float64
	}{
		{"all healthy stays local", 10, 10, 10, 10, 0, 1},
		{"80% healthy × 1.4 ≥ 100% stays local", 8, 10, 10, 10, 0, 1},
		{"just above 1/1.4 stays local", 72, 100, 10, 10, 0, 1},
		{"70% healthy spills 2%", 7, 10, 10, 10, 0, 0.98},
		{"half healthy spills 30%", 5, 10, 10, 10, 0, 0.7},
		{"nothing local", 0, 10, 10, 10, 0, 0},
		{"no local zone", 0, 0, 10, 10, 0, 0},
		{"both degraded: normalised", 5, 10, 1, 10, 0, 0.7 / (0.7 + 0.14)},
		{"nothing remote keeps all local", 3, 10, 0, 10, 0, 1},
		{"nothing anywhere", 0, 10, 0, 10, 0, 0},
		{"factor 1 spills at once", 9, 10, 10, 10, 1, 0.9},
		{"factor 2", 4, 10, 10, 10, 2, 0.8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Locality{Enabled: true, OverprovisioningFactor: tt.overprovisioning}
			if got := l.LocalShare(tt.la, tt.lt, tt.ra, tt.rt); math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("LocalShare(%d/%d, %d/%d) = %v, want %v", tt.la, tt.lt, tt.ra, tt.rt, got, tt.want)
			}
		})
	}
}

// TestLocalShareProperties: the local share is in [0, 1], never falls as
// more local endpoints become available, and is 1 whenever the local zone
// is at least 1/1.4 healthy.
func TestLocalShareProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := Locality{}
		lt := rapid.IntRange(1, 50).Draw(t, "localTotal")
		la := rapid.IntRange(0, lt-1).Draw(t, "localAvailable")
		rt := rapid.IntRange(0, 50).Draw(t, "remoteTotal")
		ra := rapid.IntRange(0, rt).Draw(t, "remoteAvailable")
		s, more := l.LocalShare(la, lt, ra, rt), l.LocalShare(la+1, lt, ra, rt)
		switch {
		case s < 0 || s > 1:
			t.Fatalf("share %v out of range", s)
		case more < s:
			t.Fatalf("share fell from %v to %v with one more local endpoint", s, more)
		case 1.4*float64(la) >= float64(lt) && s != 1:
			t.Fatalf("%d/%d healthy spills: share %v", la, lt, s)
		}
	})
}

// zoned returns n endpoints in zone a followed by n in zone b.
func zoned(n int) []Endpoint {
	var eps []Endpoint
	for _, z := range []string{"a", "b"} {
		for i := range n {
			eps = append(eps, Endpoint{ID: fmt.Sprintf("%s%d", z, i), Zone: z})
		}
	}
	return eps
}

// TestLocalitySpill marks half of the local zone unavailable, so 70% of
// requests stay local and 30% spill, spread over the other zone.
func TestLocalitySpill(t *testing.T) {
	for _, typ := range Names() {
		t.Run(typ, func(t *testing.T) {
			b := mustNew(t, Config{Type: typ, Locality: Locality{Enabled: true, LocalZone: "a"}})
			b.Update(epoch, zoned(10))
			healthy := counts(t, b, epoch, 1000, newRand(1))
			for id := range healthy {
				if id[0] != 'a' {
					t.Fatalf("healthy local zone sent a request to %s", id)
				}
			}
			for i := range 5 {
				b.SetAvailable(epoch, fmt.Sprintf("a%d", i), false)
			}
			const n = 20000
			got := counts(t, b, at(time.Hour), n, newRand(2)) // after any slow start
			local := 0
			for id, c := range got {
				if id[0] == 'a' {
					local += c
				}
			}
			// Round robin's Weyl sequence is within a few picks; the others
			// draw (randomly or by key): 5 standard deviations is 0.016.
			if share := float64(local) / n; math.Abs(share-0.7) > 0.016 {
				t.Fatalf("local share %.4f, want 0.7", share)
			}
			for i := range 10 {
				if c := got[fmt.Sprintf("b%d", i)]; c == 0 {
					t.Fatalf("remote b%d got nothing: spill not spread (%v)", i, got)
				}
			}
		})
	}
}

// TestLocalityHashKeepsZone: a hash balancer sends a key to the same zone
// every time, even while spilling.
func TestLocalityHashKeepsZone(t *testing.T) {
	b := mustNew(t, Config{Type: "maglev", TableSize: 1009, Locality: Locality{Enabled: true, LocalZone: "a"}})
	b.Update(epoch, zoned(4))
	b.SetAvailable(epoch, "a0", false)
	b.SetAvailable(epoch, "a1", false)
	for k := range uint64(500) {
		first := mustPick(t, b, epoch, k, nil).Endpoint().ID
		for range 3 {
			if id := mustPick(t, b, epoch, k, nil).Endpoint().ID; id != first {
				t.Fatalf("key %d went to %s then %s", k, first, id)
			}
		}
	}
}

func TestLocalityNoLocalEndpoints(t *testing.T) {
	b := mustNew(t, Config{Type: "round_robin", Locality: Locality{Enabled: true, LocalZone: "c"}})
	b.Update(epoch, zoned(2))
	if got := counts(t, b, epoch, 400, nil); len(got) != 4 || got["a0"] != 100 {
		t.Fatalf("with no endpoint in the local zone, picks = %v, want all four evenly", got)
	}
}

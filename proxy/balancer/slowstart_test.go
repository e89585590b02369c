package balancer

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestSlowStartFactor(t *testing.T) {
	tests := []struct {
		name    string
		cfg     SlowStart
		elapsed time.Duration
		want    float64
	}{
		{"disabled", SlowStart{}, 0, 1},
		{"start counts as 1s", SlowStart{Window: 10 * time.Second}, 0, 0.1},
		{"linear half way", SlowStart{Window: 10 * time.Second}, 5 * time.Second, 0.5},
		{"end of window", SlowStart{Window: 10 * time.Second}, 10 * time.Second, 1},
		{"after window", SlowStart{Window: 10 * time.Second}, time.Hour, 1},
		{"aggression 2 is a square root", SlowStart{Window: 100 * time.Second, Aggression: 2}, 25 * time.Second, 0.5},
		{"aggression 0.5 is a square", SlowStart{Window: 100 * time.Second, Aggression: 0.5}, 50 * time.Second, 0.25},
		{"min weight floor", SlowStart{Window: 100 * time.Second, MinWeightPercent: 30}, 10 * time.Second, 0.3},
		{"default floor 10%", SlowStart{Window: 100 * time.Second}, 2 * time.Second, 0.1},
		{"window under a second", SlowStart{Window: 500 * time.Millisecond}, 100 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Factor(tt.elapsed); math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("Factor(%v) = %v, want %v", tt.elapsed, got, tt.want)
			}
		})
	}
}

// TestSlowStartFactorRamps: the factor never decreases with time, stays in
// [MinWeightPercent/100, 1] and is 1 from the end of the window.
func TestSlowStartFactorRamps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := SlowStart{
			Window:           time.Duration(rapid.Int64Range(int64(time.Second), int64(time.Hour)).Draw(t, "window")),
			Aggression:       rapid.Float64Range(0.1, 10).Draw(t, "aggression"),
			MinWeightPercent: rapid.Float64Range(1, 100).Draw(t, "min"),
		}
		a := time.Duration(rapid.Int64Range(0, int64(2*time.Hour)).Draw(t, "a"))
		b := a + time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "later"))
		fa, fb := s.Factor(a), s.Factor(b)
		switch {
		case fb < fa:
			t.Fatalf("factor fell from %v at %v to %v at %v", fa, a, fb, b)
		case fa < s.MinWeightPercent/100-1e-15 || fa > 1:
			t.Fatalf("factor %v at %v outside [%v, 1]", fa, a, s.MinWeightPercent/100)
		case a >= s.Window && fa != 1:
			t.Fatalf("factor %v after the window", fa)
		}
	})
}

// TestSlowStartRamps adds a sixth endpoint to five under every balancer
// and measures its share of picks 3s, 30s and 61s into its 60s window. Done
// follows each Pick at once, so least_request and peak_ewma see an idle
// system, where a weight-scaling ramp would be a step. Early the endpoint
// gets under half its fair 1/6 (factor 0.1: about 0.02), then more, and
// after the window about 1/6.
func TestSlowStartRamps(t *testing.T) {
	for _, typ := range Names() {
		t.Run(typ, func(t *testing.T) {
			b := mustNew(t, Config{Type: typ, SlowStart: SlowStart{Window: 60 * time.Second}})
			eps := endpoints(6)
			b.Update(epoch, eps[:5])
			added := at(10 * time.Second)
			b.Update(added, eps)
			r := newRand(9)
			share := func(elapsed time.Duration) float64 {
				now := added.Add(elapsed)
				const n = 12000
				got := 0
				for range n {
					p := mustPick(t, b, now, r.Uint64(), r)
					if p.Endpoint().ID == "e5" {
						got++
					}
					p.Done(now, time.Millisecond, nil)
				}
				return float64(got) / n
			}
			early, mid, late := share(3*time.Second), share(30*time.Second), share(61*time.Second)
			t.Logf("new endpoint's share at 3s %.3f, 30s %.3f, 61s %.3f", early, mid, late)
			if !(early < mid && early < 0.5/6) {
				t.Fatalf("share at 3s %.3f, at 30s %.3f: want a ramp starting under %.3f", early, mid, 0.5/6)
			}
			if math.Abs(late-1.0/6) > 0.3/6 {
				t.Fatalf("share after the window %.3f, want about %.3f", late, 1.0/6)
			}
		})
	}
}

// TestSlowStartNotOnFirstUpdate: the first endpoints do not ramp; one that
// comes back from unavailable does.
func TestSlowStartNotOnFirstUpdate(t *testing.T) {
	b := mustNew(t, Config{Type: "round_robin", SlowStart: SlowStart{Window: time.Minute}})
	b.Update(epoch, endpoints(4))
	if got := counts(t, b, at(time.Second), 400, nil); got["e0"] != 100 {
		t.Fatalf("initial endpoints ramping: %v", got)
	}
	b.SetAvailable(at(time.Second), "e0", false)
	b.SetAvailable(at(2*time.Second), "e0", true)
	got := counts(t, b, at(3*time.Second), 400, nil)
	if got["e0"] >= 50 {
		t.Fatalf("recovered endpoint not ramping: %v", got)
	}
}

// TestSlowStartHashKeysOnlyGrow: a ramping endpoint's keys under a hash
// balancer are a growing set: a key admitted early stays with it.
func TestSlowStartHashKeysOnlyGrow(t *testing.T) {
	for _, typ := range []string{"ring_hash", "maglev", "ip_hash"} {
		t.Run(typ, func(t *testing.T) {
			b := mustNew(t, Config{Type: typ, SlowStart: SlowStart{Window: 100 * time.Second}})
			eps := endpoints(5)
			b.Update(epoch, eps[:4])
			b.Update(epoch, eps)
			owned := map[uint64]bool{}
			prev := 0
			for _, s := range []int{5, 20, 50, 80, 100} {
				now := at(time.Duration(s) * time.Second)
				n := 0
				for k := range uint64(20000) {
					mine := mustPick(t, b, now, k, nil).Endpoint().ID == "e4"
					if owned[k] && !mine {
						t.Fatalf("key %d left the ramping endpoint at %ds", k, s)
					}
					if mine {
						owned[k] = true
						n++
					}
				}
				if n < prev {
					t.Fatalf("keys fell from %d to %d at %ds", prev, n, s)
				}
				prev = n
				t.Logf("%ds: %d of 20000 keys", s, n)
			}
		})
	}
}

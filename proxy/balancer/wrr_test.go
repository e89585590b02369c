package balancer

import (
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestSmoothWeightedRoundRobinSequence(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    string // one period, endpoints named a, b, c…
	}{
		{"nginx example", []int{5, 1, 1}, "aabacaa"},
		{"two to one", []int{2, 1}, "aba"},
		{"reduced by gcd", []int{4, 2}, "aba"},
		{"equal weights rotate", []int{3, 3, 3}, "abc"},
		{"heavy last", []int{1, 1, 4}, "cacbcc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eps []Endpoint
			for i, w := range tt.weights {
				eps = append(eps, Endpoint{ID: string(rune('a' + i)), Weight: w})
			}
			b := mustNew(t, Config{Type: "weighted_round_robin"})
			b.Update(epoch, eps)
			var got strings.Builder
			for range 2 * len(tt.want) {
				got.WriteString(mustPick(t, b, epoch, 0, nil).Endpoint().ID)
			}
			if want := tt.want + tt.want; got.String() != want {
				t.Fatalf("picks = %s, want %s", got.String(), want)
			}
		})
	}
}

// drawWeights draws 1..8 weights in 1..30, not all equal.
func drawWeights(t *rapid.T) []int {
	ws := rapid.SliceOfN(rapid.IntRange(1, 30), 2, 8).Draw(t, "weights")
	ws[0]++ // make sure they differ from ws[1]…
	if ws[0] == ws[1] {
		ws[0]++
	}
	return ws
}

// wrrBalancer builds a weighted_round_robin balancer over weights.
func wrrBalancer(t *rapid.T, ws []int) (Balancer, []Endpoint) {
	eps := endpoints(len(ws))
	for i := range eps {
		eps[i].Weight = ws[i]
	}
	b := mustNew(t, Config{Type: "weighted_round_robin"})
	b.Update(epoch, eps)
	return b, eps
}

// TestWRRExactProportions: any Σweights consecutive picks contain each
// endpoint exactly weight times.
func TestWRRExactProportions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := drawWeights(t)
		b, eps := wrrBalancer(t, ws)
		counts(t, b, epoch, rapid.IntRange(0, 200).Draw(t, "warmup"), nil)
		total := 0
		for _, w := range ws {
			total += w
		}
		got := counts(t, b, epoch, total, nil)
		for i, ep := range eps {
			if got[ep.ID] != ws[i] {
				t.Fatalf("weights %v: %s picked %d times in %d, want %d", ws, ep.ID, got[ep.ID], total, ws[i])
			}
		}
	})
}

// TestWRRSmooth: smooth weighted round robin never runs ahead of or behind
// an endpoint's exact share by 2 or more picks in any window, so no
// endpoint of weight w out of total W gets a run of 2W/(W-w) or more picks
// (plain weighted round robin sends runs of w).
func TestWRRSmooth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := drawWeights(t)
		b, eps := wrrBalancer(t, ws)
		total := 0
		for _, w := range ws {
			total += w
		}
		seq := make([]int, 2*total) // two periods: windows and runs wrap around
		for i := range seq {
			seq[i] = mustPick(t, b, epoch, 0, nil).Endpoint().Tag
		}
		for i := range eps {
			share := float64(ws[i]) / float64(total)
			for start := range total {
				n := 0
				for l := 1; l <= total; l++ {
					if seq[start+l-1] == i {
						n++
					}
					if d := float64(n) - share*float64(l); d >= 2 || d <= -2 {
						t.Fatalf("weights %v: endpoint %d has %d picks in a window of %d, share %.2f", ws, i, n, l, share*float64(l))
					}
				}
			}
			run, longest := 0, 0
			for _, tag := range seq {
				if tag == i {
					run++
					longest = max(longest, run)
				} else {
					run = 0
				}
			}
			if bound := 2 * float64(total) / float64(total-ws[i]); float64(longest) >= bound {
				t.Fatalf("weights %v: endpoint %d has a run of %d, bound %.1f", ws, i, longest, bound)
			}
		}
	})
}

// TestWRRDynamicMatchesSchedule: the per-pick algorithm (used during slow
// start and for long periods) produces the precomputed schedule.
func TestWRRDynamicMatchesSchedule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := drawWeights(t)
		schedule, _ := smoothSchedule(ws)
		es := make([]*entry, len(ws))
		for i := range es {
			es[i] = &entry{st: &state{}}
		}
		s := newSmooth(ws)
		rp := ramp{}
		for k := range 3 * len(schedule) {
			got := slices.Index(es, s.next(epoch, es, &rp))
			if want := int(schedule[k%len(schedule)]); got != want {
				t.Fatalf("weights %v: pick %d = %d, schedule says %d", ws, k, got, want)
			}
		}
	})
}

// TestWRRLongPeriod: weights whose period is too long to precompute fall
// back to the per-pick algorithm and keep exact proportions.
func TestWRRLongPeriod(t *testing.T) {
	ws := []int{1000003, 999983, 7} // coprime: period ~2e6, × 3 endpoints > maxScheduleWork
	if s, dynamic := smoothSchedule(ws); s != nil || !dynamic {
		t.Fatalf("smoothSchedule(%v) precomputed %d entries, want dynamic", ws, len(s))
	}
	eps := endpoints(3)
	for i := range eps {
		eps[i].Weight = ws[i] / 1000 // 1000, 999, 0 → 1
	}
	eps[2].Weight = 1
	b := mustNew(t, Config{Type: "weighted_round_robin"})
	b.Update(epoch, eps)
	got := counts(t, b, epoch, 2000, nil)
	if got["e0"] != 1000 || got["e1"] != 999 || got["e2"] != 1 {
		t.Fatalf("counts over one period = %v", got)
	}
	eps[0].Weight, eps[1].Weight, eps[2].Weight = ws[0], ws[1], ws[2]
	b.Update(epoch, eps)
	if !poolOf(b).snap.Load().first.(*rrPicker).dynamic {
		t.Fatal("long period not served dynamically")
	}
	got = counts(t, b, epoch.Add(time.Second), 1000, nil)
	if got["e0"]+got["e1"] != 1000 || got["e0"] < 499 || got["e0"] > 501 {
		t.Fatalf("counts = %v, want e0 and e1 alternating", got)
	}
}

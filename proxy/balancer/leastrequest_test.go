package balancer

import (
	"testing"
	"time"
)

// activeOf returns the active request count of id.
func activeOf(b Balancer, id string) int64 {
	return poolOf(b).members[id].st.active.Load()
}

func TestLeastRequestFullScanPicksLeastActive(t *testing.T) {
	b := mustNew(t, Config{Type: "least_request", Choices: 4})
	b.Update(epoch, endpoints(4))
	r := newRand(1)
	// With every endpoint scanned, outstanding picks spread perfectly.
	var picks []Pick
	for range 40 {
		picks = append(picks, mustPick(t, b, epoch, 0, r))
	}
	for _, id := range []string{"e0", "e1", "e2", "e3"} {
		if a := activeOf(b, id); a != 10 {
			t.Fatalf("%s has %d active after 40 picks over 4, want 10", id, a)
		}
	}
	for _, p := range picks {
		p.Done(epoch, time.Millisecond, nil)
	}
	for _, id := range []string{"e0", "e1", "e2", "e3"} {
		if a := activeOf(b, id); a != 0 {
			t.Fatalf("%s has %d active after all Done, want 0", id, a)
		}
	}
}

func TestLeastRequestWeighted(t *testing.T) {
	tests := []struct {
		name    string
		bias    float64
		weights []int
		picks   int
		want    []int64 // active per endpoint after picks without Done
	}{
		// weight/(active+1) equalises at active+1 ∝ weight.
		{"bias 1 weights 1:3", 1, []int{1, 3}, 398, []int64{99, 299}},
		// weight/(active+1)^2 equalises at active+1 ∝ sqrt(weight).
		{"bias 2 weights 1:4", 2, []int{1, 4}, 298, []int64{99, 199}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := endpoints(len(tt.weights))
			for i := range eps {
				eps[i].Weight = tt.weights[i]
			}
			b := mustNew(t, Config{Type: "least_request", ActiveRequestBias: tt.bias})
			b.Update(epoch, eps)
			r := newRand(3)
			for range tt.picks {
				mustPick(t, b, epoch, 0, r)
			}
			for i, ep := range eps {
				if a := activeOf(b, ep.ID); a < tt.want[i]-1 || a > tt.want[i]+1 {
					t.Errorf("%s (weight %d) has %d active, want %d ± 1", ep.ID, ep.Weight, a, tt.want[i])
				}
			}
		})
	}
}

// TestLeastRequestP2CAvoidsBusy: with two choices out of n (drawn with
// replacement, as Envoy), an endpoint busier than all others is picked only
// when both draws hit it, 1/n² of the time, whatever the bias.
func TestLeastRequestP2CAvoidsBusy(t *testing.T) {
	for _, bias := range []float64{1, 0.5, 2} {
		b := mustNew(t, Config{Type: "least_request", ActiveRequestBias: bias})
		b.Update(epoch, append(endpoints(5), Endpoint{ID: "busy"}))
		poolOf(b).members["busy"].st.active.Store(100)
		r := newRand(5)
		const n = 36000
		got := 0
		for range n {
			p := mustPick(t, b, epoch, 0, r)
			if p.Endpoint().ID == "busy" {
				got++
			}
			p.Done(epoch, time.Millisecond, nil)
		}
		// Expected n/36 = 1000; 5 standard deviations is about 160.
		if got < 840 || got > 1160 {
			t.Errorf("bias %v: busy endpoint picked %d of %d times, want about %d", bias, got, n, n/36)
		}
	}
}

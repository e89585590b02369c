package balancer

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// TestAliasTableExact: the alias table's probabilities are exactly the
// normalised weights.
func TestAliasTableExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ws := rapid.SliceOfN(rapid.IntRange(1, 100), 1, 50).Draw(t, "weights")
		es := make([]*entry, len(ws))
		total := 0.0
		for i, w := range ws {
			es[i] = &entry{weight: float64(w)}
			total += float64(w)
		}
		prob, alias := aliasTable(es)
		if prob == nil {
			for _, w := range ws {
				if w != ws[0] {
					t.Fatalf("weights %v: no table for unequal weights", ws)
				}
			}
			return
		}
		n := float64(len(ws))
		got := make([]float64, len(ws))
		for i := range ws {
			got[i] += prob[i] / n
			got[alias[i]] += (1 - prob[i]) / n
		}
		for i, w := range ws {
			if want := float64(w) / total; math.Abs(got[i]-want) > 1e-12 {
				t.Fatalf("weights %v: endpoint %d has probability %v, want %v", ws, i, got[i], want)
			}
		}
	})
}

func TestRandomProportions(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
	}{
		{"uniform", []int{1, 1, 1, 1, 1}},
		{"weighted", []int{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := endpoints(len(tt.weights))
			total := 0
			for i, w := range tt.weights {
				eps[i].Weight = w
				total += w
			}
			b := mustNew(t, Config{Type: "random"})
			b.Update(epoch, eps)
			const n = 100000
			got := counts(t, b, epoch, n, newRand(7))
			for i, ep := range eps {
				want := float64(n) * float64(tt.weights[i]) / float64(total)
				// 5 standard deviations of a binomial count: fails by chance
				// with probability ~1e-6 for a given seed, and the seed is fixed.
				if tol := 5 * math.Sqrt(want); math.Abs(float64(got[ep.ID])-want) > tol {
					t.Errorf("%s: %d picks, want %.0f ± %.0f", ep.ID, got[ep.ID], want, tol)
				}
			}
		})
	}
}

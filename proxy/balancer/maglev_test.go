package balancer

import "testing"

// entriesPerEndpoint counts table slots per endpoint index.
func entriesPerEndpoint(table []int32, n int) []int {
	c := make([]int, n)
	for _, o := range table {
		c[o]++
	}
	return c
}

// TestMaglevBalanced: with 100 endpoints and the default 65537-slot table,
// the fullest endpoint has at most 1.05× the slots of the emptiest (the
// algorithm gives each 655 or 656: 1.0015).
func TestMaglevBalanced(t *testing.T) {
	for f := range 5 {
		c := entriesPerEndpoint(maglevTable(groupOf(idSet(f, 100)), 65537), 100)
		lo, hi := c[0], c[0]
		for _, v := range c {
			lo, hi = min(lo, v), max(hi, v)
		}
		if float64(hi)/float64(lo) > 1.05 {
			t.Fatalf("set %d: entries per endpoint between %d and %d, ratio %.4f > 1.05", f, lo, hi, float64(hi)/float64(lo))
		}
	}
}

// TestMaglevRemoval: removing one of 100 endpoints moves its own 1/100 of
// the keys plus at most another 1/100 of the rest (the Maglev paper's
// "minimal disruption" is approximate; measured ≈0.6/100).
func TestMaglevRemoval(t *testing.T) {
	const n, m = 100, 65537
	for f := range 5 {
		ids := idSet(f, n)
		gone := 17 * f % n
		rest := without(ids, gone)
		before := maglevTable(groupOf(ids), m)
		after := maglevTable(groupOf(rest), m)
		moved, kept := 0, 0
		for slot := range before {
			if int(before[slot]) == gone {
				continue
			}
			kept++
			if ids[before[slot]] != rest[after[slot]] {
				moved++
			}
		}
		if frac := float64(moved) / float64(kept); frac > 1.0/n {
			t.Errorf("set %d: %.4f of the other endpoints' slots moved, bound %.4f", f, frac, 1.0/n)
		}
	}
}

// TestMaglevWeighted: slots are proportional to weight, as Envoy's maglev.
func TestMaglevWeighted(t *testing.T) {
	weights := []int{1, 2, 3, 4}
	c := entriesPerEndpoint(maglevTable(groupOf(idSet(0, 4), weights...), 65537), 4)
	for i, w := range weights {
		want := 65537.0 * float64(w) / 10
		if got := float64(c[i]); got < want-2 || got > want+2 {
			t.Errorf("weight %d: %d slots, want %.0f ± 2", w, c[i], want)
		}
	}
}

// TestMaglevSmallTable: more endpoints than slots still fills the table
// without looping forever.
func TestMaglevSmallTable(t *testing.T) {
	table := maglevTable(groupOf(idSet(0, 20)), 7)
	for _, o := range table {
		if o < 0 {
			t.Fatalf("table %v has empty slots", table)
		}
	}
}

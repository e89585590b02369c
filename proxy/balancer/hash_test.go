package balancer

import (
	"fmt"
	"testing"
)

// groupOf builds entries for ids with weight 1 (or weights[i]), as a
// snapshot would, for testing pickers directly.
func groupOf(ids []string, weights ...int) []*entry {
	es := make([]*entry, len(ids))
	for i, id := range ids {
		w := 1
		if i < len(weights) {
			w = weights[i]
		}
		es[i] = &entry{ep: Endpoint{ID: id, Weight: w}, weight: float64(w), inverse: 1 / float64(w), avail: true, st: &state{}}
	}
	return es
}

// idSet returns n endpoint IDs of family f.
func idSet(f, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("svc%d-pod%d", f, i)
	}
	return ids
}

// without returns ids without element i.
func without(ids []string, i int) []string {
	return append(append([]string{}, ids[:i]...), ids[i+1:]...)
}

func TestHashVnode(t *testing.T) {
	// hashVnode(id, k) must equal hashing the string id_k.
	for _, k := range []int{0, 7, 10, 12345} {
		if got, want := hashVnode("pod", k), hashString(fmt.Sprintf("pod_%d", k)); got != want {
			t.Errorf("hashVnode(pod, %d) = %x, want %x", k, got, want)
		}
	}
}

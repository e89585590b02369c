package balancer

import "testing"

func TestIPHashResidues(t *testing.T) {
	// nginx: hash mod total weight picks the endpoint whose cumulative
	// weight range contains it.
	p := ipHash{}.newPicker(0, groupOf(idSet(0, 3), 1, 2, 3), ramp{}).(*ipHashPicker)
	want := []int{0, 1, 1, 2, 2, 2}
	for w := range uint64(6) {
		if got := p.index(w); got != want[w] {
			t.Errorf("index(%d) = %d, want %d", w, got, want[w])
		}
	}
	p.residues = nil // the binary search agrees with the table
	for w := range uint64(6) {
		if got := p.index(w); got != want[w] {
			t.Errorf("binary search index(%d) = %d, want %d", w, got, want[w])
		}
	}
}

// TestIPHashDownKeepsOtherKeys: as nginx keeps down servers in its list,
// marking endpoints unavailable moves none of the other endpoints' keys,
// and when only one endpoint is left it gets every key.
func TestIPHashDownKeepsOtherKeys(t *testing.T) {
	b := mustNew(t, Config{Type: "ip_hash"})
	eps := endpoints(8)
	eps[3].Weight = 3
	b.Update(epoch, eps)
	first := map[uint64]string{}
	for k := range uint64(5000) {
		first[k] = mustPick(t, b, epoch, k, nil).Endpoint().ID
	}
	b.SetAvailable(epoch, "e3", false)
	b.SetAvailable(epoch, "e5", false)
	for k := range uint64(5000) {
		got := mustPick(t, b, epoch, k, nil).Endpoint().ID
		if got == "e3" || got == "e5" {
			t.Fatalf("key %d went to unavailable %s", k, got)
		}
		if was := first[k]; was != "e3" && was != "e5" && got != was {
			t.Fatalf("key %d moved from available %s to %s", k, was, got)
		}
	}
	for _, ep := range eps[1:] {
		b.SetAvailable(epoch, ep.ID, false)
	}
	for k := range uint64(1000) {
		if got := mustPick(t, b, epoch, k, nil).Endpoint().ID; got != "e0" {
			t.Fatalf("key %d went to %s with only e0 available", k, got)
		}
	}
}

package balancer

import (
	"testing"
	"time"
	"unsafe"
)

// TestStateKeptAcrossUpdate: an endpoint that stays in the set keeps its
// active requests, latency estimate, availability and slow-start start time,
// whatever else changes; one that leaves and comes back starts afresh.
func TestStateKeptAcrossUpdate(t *testing.T) {
	b := mustNew(t, Config{Type: "peak_ewma", Choices: 3, DefaultRTT: time.Millisecond, SlowStart: SlowStart{Window: time.Minute}})
	p := poolOf(b)
	eps := endpoints(3)
	b.Update(epoch, eps)

	// e0: two requests in flight, one completed with 40ms. With equal costs
	// the full scan spreads outstanding picks evenly, so nine picks give e0
	// three.
	r := newRand(1)
	var e0, others []Pick
	for range 9 {
		if pk := mustPick(t, b, epoch, 0, r); pk.Endpoint().ID == "e0" {
			e0 = append(e0, pk)
		} else {
			others = append(others, pk)
		}
	}
	if len(e0) != 3 {
		t.Fatalf("e0 got %d of 9 picks, want 3", len(e0))
	}
	for _, pk := range others {
		pk.Done(epoch, time.Millisecond, nil)
	}
	e0[0].Done(at(time.Second), 40*time.Millisecond, nil)
	cost, _ := valueAt(&p.members["e0"].st.latency, int64(time.Second))
	// e1 ejected; e3 joins at 10s and ramps.
	b.SetAvailable(at(time.Second), "e1", false)
	b.Update(at(10*time.Second), append(eps, Endpoint{ID: "e3"}))

	// A new set: reordered, e2 dropped, e0's weight and zone changed.
	next := []Endpoint{{ID: "e3"}, {ID: "e1"}, {ID: "e0", Weight: 5, Zone: "b"}, {ID: "e4"}}
	b.Update(at(20*time.Second), next)

	st := p.members["e0"].st
	if a := st.active.Load(); a != 2 {
		t.Errorf("e0 active = %d after update, want 2", a)
	}
	if c, _ := valueAt(&st.latency, int64(time.Second)); c != cost {
		t.Errorf("e0 cost = %v after update, want %v", c, cost)
	}
	if p.members["e1"].available {
		t.Error("e1 became available through an update")
	}
	if m := p.members["e3"]; !m.ramping || !m.rampStart.Equal(at(10*time.Second)) {
		t.Errorf("e3 ramp = %v from %v, want from 10s", m.ramping, m.rampStart)
	}
	if m := p.members["e4"]; !m.rampStart.Equal(at(20 * time.Second)) {
		t.Errorf("e4 ramp from %v, want 20s", m.rampStart)
	}
	for _, pk := range e0[1:] { // in-flight picks from the old snapshot land on the same counter
		pk.Done(at(21*time.Second), time.Millisecond, nil)
	}
	if a := st.active.Load(); a != 0 {
		t.Errorf("e0 active = %d after the old picks completed, want 0", a)
	}
	if got := mustPick(t, b, at(time.Hour), 0, r).Endpoint(); got.ID == "e0" && got.Weight != 5 {
		t.Errorf("picked stale endpoint %+v", got)
	}

	// e0 leaves and comes back: fresh state.
	b.Update(at(30*time.Second), next[:2])
	b.Update(at(40*time.Second), next)
	if m := p.members["e0"]; m.st == st || m.st.active.Load() != 0 || !m.rampStart.Equal(at(40*time.Second)) {
		t.Error("e0 kept state across removal")
	}
}

func TestUpdateDuplicates(t *testing.T) {
	b := mustNew(t, Config{Type: "round_robin"})
	b.Update(epoch, []Endpoint{{ID: "x", Tag: 1}, {ID: "y"}, {ID: "x", Tag: 2}})
	got := counts(t, b, epoch, 4, nil)
	if got["x"] != 2 || got["y"] != 2 {
		t.Fatalf("picks = %v, want x and y twice each", got)
	}
	if tag := mustPick(t, b, epoch, 0, nil).Endpoint().Tag; tag != 1 {
		t.Fatalf("duplicate ID replaced the first: tag %d", tag)
	}
}

func TestSetAvailableUnknownAndRepeated(t *testing.T) {
	b := mustNew(t, Config{Type: "round_robin"})
	b.SetAvailable(epoch, "ghost", false) // before any update: ignored
	b.Update(epoch, endpoints(2))
	before := poolOf(b).snap.Load()
	b.SetAvailable(epoch, "ghost", false)
	b.SetAvailable(epoch, "e0", true) // already available
	if poolOf(b).snap.Load() != before {
		t.Fatal("no-op SetAvailable rebuilt the snapshot")
	}
}

// TestStateFillsCacheLine: per-endpoint state is one 64-byte line, so that
// concurrent picks of different endpoints do not share lines.
func TestStateFillsCacheLine(t *testing.T) {
	if size := unsafe.Sizeof(state{}); size != 64 {
		t.Fatalf("state is %d bytes, want 64", size)
	}
}

package breaker

import (
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"
)

func TestThresholdsLimit(t *testing.T) {
	tests := []struct {
		name string
		th   Thresholds
		want [numResources]int
	}{
		{"zero is Envoy's defaults", Thresholds{}, [numResources]int{1024, 1024, 1024, 3}},
		{"explicit values", Thresholds{MaxConnections: 10, MaxPending: 20, MaxRequests: 30, MaxRetries: 1}, [numResources]int{10, 20, 30, 1}},
		{"None admits nothing", Thresholds{MaxConnections: None, MaxPending: None, MaxRequests: None, MaxRetries: None}, [numResources]int{0, 0, 0, 0}},
		{"any negative admits nothing", Thresholds{MaxRetries: -7}, [numResources]int{1024, 1024, 1024, 0}},
		{"Unlimited", Thresholds{MaxRequests: Unlimited}, [numResources]int{1024, 1024, Unlimited, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAdmission(tt.th)
			for r := range numResources {
				if got := tt.th.Limit(r); got != tt.want[r] {
					t.Errorf("Limit(%v) = %d, want %d", r, got, tt.want[r])
				}
				if got := a.Limit(r); got != tt.want[r] {
					t.Errorf("Admission.Limit(%v) = %d, want %d", r, got, tt.want[r])
				}
			}
		})
	}
}

func TestAdmissionAcquireRelease(t *testing.T) {
	a := NewAdmission(Thresholds{MaxRetries: 2, MaxPending: None})
	steps := []struct {
		name string
		r    Resource
		acq  bool // Acquire, else Release
		want bool // Acquire's answer
	}{
		{"first retry", Retries, true, true},
		{"second retry", Retries, true, true},
		{"third retry overflows", Retries, true, false},
		{"release one", Retries, false, false},
		{"retry again", Retries, true, true},
		{"pending None refuses", PendingRequests, true, false},
		{"requests independent", Requests, true, true},
	}
	for _, s := range steps {
		if s.acq {
			if got := a.Acquire(s.r); got != s.want {
				t.Fatalf("%s: Acquire(%v) = %v, want %v", s.name, s.r, got, s.want)
			}
		} else {
			a.Release(s.r)
		}
	}
	if got := a.InUse(Retries); got != 2 {
		t.Errorf("InUse(retries) = %d, want 2", got)
	}
	if got := a.Remaining(Retries); got != 0 {
		t.Errorf("Remaining(retries) = %d, want 0", got)
	}
	if got := a.Overflows(Retries); got != 1 {
		t.Errorf("Overflows(retries) = %d, want 1", got)
	}
	if got := a.Overflows(PendingRequests); got != 1 {
		t.Errorf("Overflows(pending) = %d, want 1", got)
	}
	if got := a.Remaining(Requests); got != 1023 {
		t.Errorf("Remaining(requests) = %d, want 1023", got)
	}
}

func TestAdmissionReleaseWithoutAcquirePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Release without Acquire did not panic")
		}
	}()
	NewAdmission(Thresholds{}).Release(Connections)
}

func TestResourceString(t *testing.T) {
	want := []string{"connections", "pending_requests", "requests", "retries"}
	for r := range numResources {
		if got := r.String(); got != want[r] {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want[r])
		}
	}
	if got := Resource(7).String(); got != "Resource(7)" {
		t.Errorf("unknown resource = %q", got)
	}
}

// TestAdmissionNeverExceedsLimits drives random Acquire/Release sequences and checks
// them against counting by hand: Acquire succeeds exactly when a unit is free.
func TestAdmissionNeverExceedsLimits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		th := Thresholds{
			MaxConnections: rapid.IntRange(-1, 6).Draw(t, "conns"),
			MaxPending:     rapid.IntRange(-1, 6).Draw(t, "pending"),
			MaxRequests:    rapid.IntRange(-1, 6).Draw(t, "requests"),
			MaxRetries:     rapid.IntRange(-1, 6).Draw(t, "retries"),
		}
		a := NewAdmission(th)
		var held [numResources]int
		var overflows [numResources]uint64
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			r := Resource(rapid.IntRange(0, int(numResources)-1).Draw(t, "resource"))
			if held[r] > 0 && rapid.Bool().Draw(t, "release") {
				a.Release(r)
				held[r]--
			} else {
				want := held[r] < th.Limit(r)
				if got := a.Acquire(r); got != want {
					t.Fatalf("Acquire(%v) with %d held of %d = %v", r, held[r], th.Limit(r), got)
				}
				if want {
					held[r]++
				} else {
					overflows[r]++
				}
			}
			for q := range numResources {
				if a.InUse(q) != held[q] || a.InUse(q) > a.Limit(q) || a.Overflows(q) != overflows[q] {
					t.Fatalf("%v: in use %d (want %d) limit %d overflows %d (want %d)",
						q, a.InUse(q), held[q], a.Limit(q), a.Overflows(q), overflows[q])
				}
			}
		}
	})
}

// TestAdmissionConcurrentNeverExceeds hammers one resource from many goroutines and
// checks that the number of holders never passes the limit.
func TestAdmissionConcurrentNeverExceeds(t *testing.T) {
	const limit, workers, rounds = 5, 16, 2000
	a := NewAdmission(Thresholds{MaxRequests: limit})
	var holders, peak atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				if !a.Acquire(Requests) {
					continue
				}
				h := holders.Add(1)
				for {
					p := peak.Load()
					if h <= p || peak.CompareAndSwap(p, h) {
						break
					}
				}
				holders.Add(-1)
				a.Release(Requests)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("peak holders %d > limit %d", p, limit)
	}
	if a.InUse(Requests) != 0 {
		t.Fatalf("in use after all released: %d", a.InUse(Requests))
	}
}

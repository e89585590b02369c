package breaker

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestWindowMatchesBruteForce checks the ring of buckets against counting every
// outcome by hand: an outcome counts while its bucket is among the newest n.
func TestWindowMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "buckets")
		width := time.Duration(rapid.IntRange(1, 1000).Draw(t, "widthMs")) * time.Millisecond
		w := newWindow(width*time.Duration(n), n)
		w.origin = t0
		type ev struct {
			epoch int64
			ok    bool
		}
		var evs []ev
		now := t0
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for i := range steps {
			now = now.Add(time.Duration(rapid.Int64Range(0, int64(3*width)).Draw(t, "dt")))
			if rapid.IntRange(0, 40).Draw(t, "clear") == 0 {
				w.advance(now)
				w.clear()
				evs = evs[:0]
				continue
			}
			okv := rapid.Bool().Draw(t, "ok")
			w.add(now, okv)
			head := int64(now.Sub(t0) / width)
			evs = append(evs, ev{head, okv})
			total, failed := 0, 0
			for _, e := range evs {
				if head-e.epoch < int64(n) {
					total++
					if !e.ok {
						failed++
					}
				}
			}
			if w.total != total || w.failed != failed {
				t.Fatalf("step %d: window %d/%d failed, brute force %d/%d", i, w.failed, w.total, failed, total)
			}
		}
	})
}

// TestBreakerInvariants drives a breaker with random calls at non-decreasing times
// and checks what must hold after every call.
func TestBreakerInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			FailureRatio:        rapid.SampledFrom([]float64{0, 0.2, 0.5, 1}).Draw(t, "ratio"),
			MinRequests:         rapid.IntRange(1, 10).Draw(t, "minRequests"),
			ConsecutiveFailures: rapid.IntRange(0, 5).Draw(t, "consecutive"),
			Window:              time.Duration(rapid.IntRange(1, 20).Draw(t, "windowS")) * time.Second,
			Buckets:             rapid.IntRange(1, 10).Draw(t, "buckets"),
			SleepWindow:         time.Duration(rapid.IntRange(1, 10).Draw(t, "sleepS")) * time.Second,
			HalfOpenProbes:      rapid.IntRange(1, 4).Draw(t, "probes"),
		}
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eff := cfg.withDefaults()
		b.Record(t0, true) // t0 becomes the window's origin, as in the brute force below
		width := eff.Window / time.Duration(eff.Buckets)

		type ev struct {
			at time.Time
			ok bool
		}
		var (
			now          = t0
			closedEvents = []ev{{t0, true}} // outcomes recorded since the circuit last closed
			run          int                // failures in a row recorded while closed
			prev         = Closed
			episode      time.Time // half-open since, or since lost probes were replaced
			admitted     int       // probes admitted since the circuit went half-open
			reported     int       // of those, how many reported
		)
		for i := range rapid.IntRange(1, 200).Draw(t, "calls") {
			now = now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "dtMs")) * time.Millisecond)
			kind := rapid.IntRange(0, 2).Draw(t, "op")
			before := b.State(now) // applies the time-driven transition first
			if before == HalfOpen && prev != HalfOpen {
				episode, admitted, reported = now, 0, 0
			}
			switch kind {
			case 0:
				got := b.Allow(now)
				switch before {
				case Closed:
					if !got {
						t.Fatalf("call %d: closed breaker refused", i)
					}
				case Open:
					if got {
						t.Fatalf("call %d: open breaker admitted", i)
					}
				case HalfOpen:
					if got {
						if admitted >= eff.HalfOpenProbes {
							if now.Sub(episode) < eff.SleepWindow {
								t.Fatalf("call %d: probe %d admitted within one sleep window (limit %d)", i, admitted+1, eff.HalfOpenProbes)
							}
							episode, admitted = now, reported
						}
						admitted++
					}
				}
			default:
				okv := kind == 1
				tr := b.Record(now, okv)
				if tr.From != before {
					t.Fatalf("call %d: transition from %v, state was %v", i, tr.From, before)
				}
				if before == Closed {
					closedEvents = append(closedEvents, ev{now, okv})
					if okv {
						run = 0
					} else {
						run++
					}
					total, failed := 0, 0
					head := now.Sub(t0) / width
					live := closedEvents[:0]
					for _, e := range closedEvents {
						if head-e.at.Sub(t0)/width < time.Duration(eff.Buckets) {
							live = append(live, e)
							total++
							if !e.ok {
								failed++
							}
						}
					}
					closedEvents = live
					shouldTrip := (eff.ConsecutiveFailures > 0 && run >= eff.ConsecutiveFailures) ||
						(eff.FailureRatio > 0 && total >= eff.MinRequests && float64(failed) >= eff.FailureRatio*float64(total))
					if shouldTrip != (tr.To == Open) {
						t.Fatalf("call %d: run %d, window %d/%d failed: tripped=%v", i, run, failed, total, tr.To == Open)
					}
				}
				if before == HalfOpen && reported < admitted {
					reported++
				}
				if before == Open && tr.Changed() {
					t.Fatalf("call %d: outcome while open changed state: %v", i, tr)
				}
			}
			prev = b.State(now)
			if prev == Closed && before != Closed {
				closedEvents, run = closedEvents[:0], 0
			}
			st := b.Stats()
			wantGap := uint64(0)
			if prev == Open {
				wantGap = 1
			}
			if st.Opened-st.HalfOpened != wantGap {
				t.Fatalf("call %d: %+v in state %v", i, st, prev)
			}
		}
	})
}

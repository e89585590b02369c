package outlier

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestNeverEjectsBeyondMaxPercent drives two detectors built alike with random
// outcome streams and sweeps, and checks after every call that:
//   - the ejected share never passes MaxEjectionPercent (or one host, with
//     AlwaysEjectOneHost);
//   - the events tell the whole story: replaying them gives exactly the hosts
//     Ejected reports and the Active count;
//   - a sweep returns exactly the ejected hosts whose ejection time has passed;
//   - every ejection lasts base × k for some k ≥ 1, capped at MaxEjectionTime;
//   - both detectors produce the same events (determinism).
func TestNeverEjectsBeyondMaxPercent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 25).Draw(t, "hosts")
		base := time.Duration(rapid.IntRange(1, 30).Draw(t, "baseS")) * time.Second
		seed := rapid.Uint64().Draw(t, "seed")
		enforcing := []int{0, None, 30, 100}
		cfg := Config{
			Interval:                           time.Duration(rapid.IntRange(1, 20).Draw(t, "intervalS")) * time.Second,
			BaseEjectionTime:                   base,
			MaxEjectionTime:                    base * time.Duration(rapid.IntRange(1, 5).Draw(t, "maxMultiple")),
			MaxEjectionPercent:                 rapid.IntRange(-1, 100).Draw(t, "maxPercent"),
			AlwaysEjectOneHost:                 rapid.Bool().Draw(t, "alwaysOne"),
			Consecutive5xx:                     rapid.IntRange(-1, 4).Draw(t, "consecutive5xx"),
			ConsecutiveGatewayFailure:          rapid.IntRange(-1, 4).Draw(t, "consecutiveGateway"),
			EnforcingConsecutive5xx:            rapid.SampledFrom(enforcing).Draw(t, "enf5xx"),
			EnforcingConsecutiveGatewayFailure: rapid.SampledFrom(enforcing).Draw(t, "enfGateway"),
			SplitExternalLocalOriginErrors:     rapid.Bool().Draw(t, "split"),
			ConsecutiveLocalOriginFailure:      rapid.IntRange(-1, 4).Draw(t, "consecutiveLocal"),
			SuccessRate: SuccessRate{
				StdevFactor:   rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(t, "stdev"),
				MinimumHosts:  rapid.IntRange(-1, 5).Draw(t, "srHosts"),
				RequestVolume: rapid.IntRange(-1, 10).Draw(t, "srVolume"),
				Enforcing:     rapid.SampledFrom(enforcing).Draw(t, "enfSR"),
			},
			FailurePercentage: FailurePercentage{
				Threshold:     rapid.IntRange(-1, 100).Draw(t, "fpThreshold"),
				MinimumHosts:  rapid.IntRange(-1, 5).Draw(t, "fpHosts"),
				RequestVolume: rapid.IntRange(-1, 10).Draw(t, "fpVolume"),
				Enforcing:     rapid.SampledFrom(enforcing).Draw(t, "enfFP"),
			},
		}
		cfgB := cfg
		cfg.Rand = rand.New(rand.NewPCG(seed, 1))
		cfgB.Rand = rand.New(rand.NewPCG(seed, 1))
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		twin, err := New(cfgB)
		if err != nil {
			t.Fatal(err)
		}
		hosts := ids(n)
		d.SetHosts(t0, hosts)
		twin.SetHosts(t0, hosts)

		s := cfg.resolve()
		limit := s.maxPercent * n / 100
		if s.alwaysOne {
			limit = max(limit, 1)
		}
		until := map[string]time.Time{} // ejected hosts, from the events
		now := t0
		for call := range rapid.IntRange(1, 400).Draw(t, "calls") {
			now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "dtMs")) * time.Millisecond)
			var evs, twinEvs []Event
			sweep := rapid.IntRange(0, 9).Draw(t, "op") == 0
			if sweep {
				evs, twinEvs = d.Sweep(now), twin.Sweep(now)
			} else {
				id := rapid.SampledFrom(hosts).Draw(t, "host")
				o := Outcome(rapid.IntRange(0, int(numOutcomes)-1).Draw(t, "outcome"))
				evs, twinEvs = d.Record(now, id, o), twin.Record(now, id, o)
			}
			if !reflect.DeepEqual(evs, twinEvs) {
				t.Fatalf("call %d: detectors built alike disagree: %+v vs %+v", call, evs, twinEvs)
			}
			due := map[string]bool{}
			if sweep {
				for id, u := range until {
					if !now.Before(u) {
						due[id] = true
					}
				}
			}
			for _, e := range evs {
				if e.At != now {
					t.Fatalf("call %d: event at %v, now %v", call, e.At, now)
				}
				_, was := until[e.ID]
				if e.Ejected {
					if was {
						t.Fatalf("call %d: %s ejected twice", call, e.ID)
					}
					dur := e.Until.Sub(e.At)
					if dur != s.maxEjection && (dur%base != 0 || dur < base || dur > s.maxEjection) {
						t.Fatalf("call %d: ejection of %v with base %v, max %v", call, dur, base, s.maxEjection)
					}
					until[e.ID] = e.Until
					continue
				}
				if !was || !due[e.ID] {
					t.Fatalf("call %d: %s returned (ejected %v, due %v)", call, e.ID, was, due[e.ID])
				}
				delete(until, e.ID)
				delete(due, e.ID)
			}
			if len(due) > 0 {
				t.Fatalf("call %d: hosts due back were not returned: %v", call, due)
			}
			ejected := 0
			for _, id := range hosts {
				_, want := until[id]
				if d.Ejected(id) != want {
					t.Fatalf("call %d: Ejected(%s) = %v, events say %v", call, id, d.Ejected(id), want)
				}
				if want {
					ejected++
				}
			}
			if st := d.Stats(); st.Active != ejected {
				t.Fatalf("call %d: Active %d, %d ejected", call, st.Active, ejected)
			}
			if ejected > limit {
				t.Fatalf("call %d: %d of %d hosts ejected, limit %d (max %d%%, always-one %v)",
					call, ejected, n, limit, s.maxPercent, s.alwaysOne)
			}
		}
	})
}

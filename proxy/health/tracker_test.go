package health

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func mustTracker(t interface{ Fatal(...any) }, cfg Config) *Tracker {
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestThresholds(t *testing.T) {
	const (
		pass = true
		fail = false
	)
	type step struct {
		ok      bool
		changed bool
		healthy bool
	}
	tests := []struct {
		name         string
		startHealthy bool
		healthy, bad int // thresholds
		steps        []step
	}{
		{name: "healthy flips on the 3rd consecutive failure", startHealthy: true, healthy: 2, bad: 3, steps: []step{
			{fail, false, true}, {fail, false, true}, {fail, true, false}, {fail, false, false}}},
		{name: "a success resets the failure run", startHealthy: true, healthy: 2, bad: 3, steps: []step{
			{fail, false, true}, {fail, false, true}, {pass, false, true}, {fail, false, true}, {fail, false, true}, {fail, true, false}}},
		{name: "unhealthy flips back on the 2nd consecutive success", startHealthy: true, healthy: 2, bad: 1, steps: []step{
			{fail, true, false}, {pass, false, false}, {fail, false, false}, {pass, false, false}, {pass, true, true}, {pass, false, true}}},
		{name: "thresholds of 1 flip every change", startHealthy: true, healthy: 1, bad: 1, steps: []step{
			{pass, false, true}, {fail, true, false}, {pass, true, true}, {fail, true, false}}},
		{name: "envoy start: first success makes a new host healthy", startHealthy: false, healthy: 3, bad: 2, steps: []step{
			{pass, true, true}, {fail, false, true}, {fail, true, false}, {pass, false, false}, {pass, false, false}, {pass, true, true}}},
		{name: "envoy start: a first failure keeps it unhealthy and spends the shortcut", startHealthy: false, healthy: 3, bad: 2, steps: []step{
			{fail, false, false}, {pass, false, false}, {pass, false, false}, {pass, true, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustTracker(t, Config{HealthyThreshold: tc.healthy, UnhealthyThreshold: tc.bad, StartHealthy: tc.startHealthy})
			tr.Add(t0, "a", nil)
			if got := tr.Healthy("a"); got != tc.startHealthy {
				t.Fatalf("initial Healthy = %v, want %v", got, tc.startHealthy)
			}
			now := t0
			for i, s := range tc.steps {
				now = now.Add(time.Second)
				changed, healthy := tr.Report(now, "a", s.ok, nil)
				if changed != s.changed || healthy != s.healthy {
					t.Fatalf("step %d (ok=%v): Report = (%v, %v), want (%v, %v)", i, s.ok, changed, healthy, s.changed, s.healthy)
				}
				if tr.Healthy("a") != healthy {
					t.Fatalf("step %d: Healthy disagrees with Report", i)
				}
			}
		})
	}
}

// TestThresholdsProperty: for any thresholds and run of results, the state
// flips exactly when the run of equal results reaches the threshold.
func TestThresholdsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ht := rapid.IntRange(1, 6).Draw(t, "healthyThreshold")
		ut := rapid.IntRange(1, 6).Draw(t, "unhealthyThreshold")
		start := rapid.Bool().Draw(t, "startHealthy")
		results := rapid.SliceOfN(rapid.Bool(), 1, 200).Draw(t, "results")
		tr := mustTracker(t, Config{HealthyThreshold: ht, UnhealthyThreshold: ut, StartHealthy: start})
		tr.Add(t0, "x", nil)

		healthy, first := start, !start
		run := 0 // consecutive results equal to the last one
		for i, ok := range results {
			if i > 0 && ok == results[i-1] {
				run++
			} else {
				run = 1
			}
			want := healthy
			switch {
			case ok && !healthy && (first || run == ht):
				want = true
			case !ok && healthy && run >= ut:
				want = false
			}
			first = false
			changed, got := tr.Report(t0.Add(time.Duration(i)*time.Second), "x", ok, nil)
			if got != want || changed != (want != healthy) {
				t.Fatalf("result %d (ok=%v, run %d): Report = (%v, %v), want (%v, %v)", i, ok, run, changed, got, want != healthy, want)
			}
			healthy = want
		}
	})
}

// TestJitteredScheduleBounds: every probe is scheduled Interval plus a wait in
// [0, Jitter × Interval) after its report, and every first probe within
// [0, InitialJitter) of its Add.
func TestJitteredScheduleBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		interval := time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "interval"))
		jitter := rapid.Float64Range(0, 2).Draw(t, "jitter")
		initial := time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(t, "initialJitter"))
		seed := rapid.Uint64().Draw(t, "seed")
		tr := mustTracker(t, Config{Interval: interval, Jitter: jitter, InitialJitter: initial})
		r := rand.New(rand.NewPCG(seed, 1))

		span := time.Duration(jitter * float64(interval))
		within := func(got, from time.Time, width time.Duration) bool {
			d := got.Sub(from)
			if width <= 0 {
				return d == 0
			}
			return d >= 0 && d < width
		}
		now := t0
		for i := range 20 {
			id := fmt.Sprint("ep", i)
			tr.Add(now, id, r)
			if got := tr.Next(id); !within(got, now, initial) {
				t.Fatalf("Add at %v: first probe at %v, want within [0, %v)", now, got, initial)
			}
			for range 5 {
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "gap")))
				tr.Report(now, id, rapid.Bool().Draw(t, "ok"), r)
				if got := tr.Next(id); !within(got, now.Add(interval), span) {
					t.Fatalf("report at %v: next probe at %v, want %v + [0, %v)", now, got, now.Add(interval), span)
				}
			}
		}
	})
}

func TestJitterSpreadsProbes(t *testing.T) {
	tr := mustTracker(t, Config{Interval: 10 * time.Second, Jitter: 0.5})
	r := rand.New(rand.NewPCG(9, 9))
	tr.Add(t0, "a", r)
	var lo, hi time.Duration = time.Hour, 0
	for range 2000 {
		tr.Report(t0, "a", true, r)
		d := tr.Next("a").Sub(t0) - 10*time.Second
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 100*time.Millisecond || hi < 4900*time.Millisecond {
		t.Errorf("jitter spans [%v, %v], want close to [0, 5s)", lo, hi)
	}
}

// TestDueDrivesProbes runs 1000 endpoints for ten minutes of virtual time the
// way the simulator would: wake at NextDue, claim Due, report. Every endpoint
// is probed once per interval-plus-jitter, in due order, never twice at once.
func TestDueDrivesProbes(t *testing.T) {
	const n = 1000
	cfg := Config{Interval: 5 * time.Second, Jitter: 0.2, InitialJitter: 5 * time.Second, UnhealthyThreshold: 2, HealthyThreshold: 2, StartHealthy: true}
	tr := mustTracker(t, cfg)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		tr.Add(t0, fmt.Sprint("ep", i), r)
	}
	lastProbe := make(map[string]time.Time)
	probes := 0
	var ids []string
	end := t0.Add(10 * time.Minute)
	for {
		now, ok := tr.NextDue()
		if !ok {
			t.Fatal("NextDue: nothing scheduled")
		}
		if now.After(end) {
			break
		}
		ids = tr.Due(now, ids[:0])
		if len(ids) == 0 {
			t.Fatalf("NextDue said %v but Due returned nothing", now)
		}
		if again := tr.Due(now, nil); len(again) != 0 {
			t.Fatalf("Due returned claimed endpoints again: %v", again)
		}
		for _, id := range ids {
			if due := tr.Next(id); due.After(now) {
				t.Fatalf("%s returned at %v but due at %v", id, now, due)
			}
			if prev, seen := lastProbe[id]; seen {
				gap := now.Sub(prev)
				if gap < cfg.Interval || gap >= cfg.Interval+cfg.Interval/5 {
					t.Fatalf("%s probed %v after its previous probe, want [5s, 6s)", id, gap)
				}
			}
			lastProbe[id] = now
			probes++
			// Endpoint 7 is down: it must flip after exactly two probes.
			changed, healthy := tr.Report(now, id, id != "ep7", r)
			if id == "ep7" && changed && healthy {
				t.Fatal("ep7 became healthy")
			}
		}
	}
	if len(lastProbe) != n {
		t.Errorf("%d endpoints probed, want %d", len(lastProbe), n)
	}
	// Ten minutes at one probe per 5-6s: between 100 and 121 probes each.
	if probes < n*100 || probes > n*121 {
		t.Errorf("%d probes, want between %d and %d", probes, n*100, n*121)
	}
	if tr.Healthy("ep7") || !tr.Healthy("ep8") {
		t.Errorf("Healthy(ep7)=%v Healthy(ep8)=%v, want false and true", tr.Healthy("ep7"), tr.Healthy("ep8"))
	}
}

func TestDueOrderAndTies(t *testing.T) {
	tr := mustTracker(t, Config{Interval: time.Second})
	// Added at the same instant with no initial jitter: due together, in
	// the order added.
	for _, id := range []string{"c", "a", "b"} {
		tr.Add(t0, id, nil)
	}
	tr.Add(t0.Add(-time.Second), "early", nil)
	tr.Add(t0.Add(time.Second), "late", nil)
	if got, want := tr.Due(t0, nil), []string{"early", "c", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Due = %q, want %q", got, want)
	}
	if at, ok := tr.NextDue(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("NextDue = %v, %v; want %v", at, ok, t0.Add(time.Second))
	}
}

func TestAddRemove(t *testing.T) {
	tr := mustTracker(t, DefaultConfig())
	tr.Add(t0, "a", nil)
	tr.Add(t0, "b", nil)
	tr.Report(t0, "a", false, nil)
	tr.Add(t0.Add(time.Hour), "a", nil) // re-adding keeps state and schedule
	if got := tr.Next("a"); !got.Equal(t0.Add(DefaultInterval)) {
		t.Errorf("re-Add moved a's probe to %v", got)
	}
	claimed := tr.Due(t0, nil) // claims b
	tr.Remove("b")
	if changed, healthy := tr.Report(t0, "b", true, nil); changed || healthy {
		t.Error("Report for a removed endpoint had an effect")
	}
	tr.Remove("a")
	tr.Remove("never")
	if tr.Len() != 0 || tr.Healthy("a") || !tr.Next("a").IsZero() {
		t.Errorf("after Remove: Len=%d Healthy(a)=%v Next(a)=%v", tr.Len(), tr.Healthy("a"), tr.Next("a"))
	}
	if _, ok := tr.NextDue(); ok {
		t.Error("NextDue reports a probe after every endpoint was removed")
	}
	if !slices.Equal(claimed, []string{"b"}) {
		t.Errorf("Due = %q, want [b]", claimed)
	}
}

// TestHeapUnderChurn checks the schedule against a sorted model while
// endpoints are added, removed, claimed and reported in random order.
func TestHeapUnderChurn(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tr := mustTracker(t, Config{Interval: time.Second, Jitter: 1, InitialJitter: 3 * time.Second})
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0))
		now := t0
		claimed := map[string]bool{}
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			id := fmt.Sprint(rapid.IntRange(0, 30).Draw(t, "id"))
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0:
				tr.Add(now, id, r)
			case 1:
				tr.Remove(id)
				delete(claimed, id)
			case 2:
				tr.Report(now, id, rapid.Bool().Draw(t, "ok"), r)
				delete(claimed, id)
			case 3:
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(2*time.Second)).Draw(t, "advance")))
			case 4:
				var prev time.Time
				for _, got := range tr.Due(now, nil) {
					due := tr.Next(got)
					if due.After(now) || due.Before(prev) || claimed[got] {
						t.Fatalf("Due returned %s due %v at %v (previous %v, claimed %v)", got, due, now, prev, claimed[got])
					}
					prev = due
					claimed[got] = true
				}
			}
			if next, ok := tr.NextDue(); ok {
				// The heap's minimum is the earliest unclaimed due time.
				for i := range 31 {
					id := fmt.Sprint(i)
					if due := tr.Next(id); !due.IsZero() && !claimed[id] && due.Before(next) {
						t.Fatalf("NextDue %v but %s is due earlier at %v", next, id, due)
					}
				}
			}
		}
	})
}

func TestDeterministicForSeed(t *testing.T) {
	run := func() []time.Time {
		tr := mustTracker(t, Config{Interval: time.Second, Jitter: 0.3, InitialJitter: time.Second})
		r := rand.New(rand.NewPCG(77, 0))
		var out []time.Time
		for i := range 50 {
			id := fmt.Sprint(i)
			tr.Add(t0, id, r)
			tr.Report(t0.Add(time.Duration(i)*time.Millisecond), id, i%3 == 0, r)
			out = append(out, tr.Next(id))
		}
		return out
	}
	if a, b := run(), run(); !slices.EqualFunc(a, b, time.Time.Equal) {
		t.Error("two runs with the same seed scheduled differently")
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{name: "zero value", cfg: Config{}},
		{name: "defaults", cfg: DefaultConfig()},
		{name: "all wrong", cfg: Config{Interval: -1, Timeout: -1, Jitter: -0.5, InitialJitter: -1, HealthyThreshold: -1, UnhealthyThreshold: -2},
			wantErr: []string{"interval -1ns", "timeout -1ns", "jitter -0.5", "initial jitter -1ns", "healthy threshold -1", "unhealthy threshold -2"}},
		{name: "jitter overflow", cfg: Config{Interval: time.Hour, Jitter: 1e10}, wantErr: []string{"too large"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New: nil error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "health check: ") {
					t.Errorf("New error %q, want it to contain %q", err, w)
				}
			}
		})
	}
	tr := mustTracker(t, Config{})
	if got := tr.Config(); got.Interval != DefaultInterval || got.Timeout != DefaultTimeout ||
		got.HealthyThreshold != DefaultHealthyThreshold || got.UnhealthyThreshold != DefaultUnhealthyThreshold || got.StartHealthy {
		t.Errorf("Config() = %+v, want defaults with StartHealthy false", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	tr := mustTracker(t, Config{Interval: time.Second, Jitter: 0.1})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			var ids []string
			for i := range 500 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				id := fmt.Sprint(g, "-", i%50)
				tr.Add(now, id, r)
				for _, d := range tr.Due(now, ids[:0]) {
					tr.Report(now, d, i%2 == 0, r)
				}
				tr.Healthy(id)
				if i%7 == 0 {
					tr.Remove(id)
				}
			}
		})
	}
	wg.Wait()
}

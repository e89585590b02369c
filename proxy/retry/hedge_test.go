package retry

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func mustHedger(t interface{ Fatal(...any) }, cfg HedgeConfig) *Hedger {
	h, err := NewHedger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// truePercentile is the nearest-rank percentile of xs.
func truePercentile(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[nearestRank(p, uint64(len(s)))-1]
}

func TestHedgerFixedDelay(t *testing.T) {
	h := mustHedger(t, HedgeConfig{Delay: 40 * time.Millisecond})
	for i := range 1000 {
		h.Observe(t0, time.Duration(i)*time.Millisecond)
	}
	if got := h.Delay(); got != 40*time.Millisecond {
		t.Errorf("Delay = %v, want the fixed 40ms", got)
	}
	if got := h.MaxHedges(); got != DefaultMaxHedges {
		t.Errorf("MaxHedges = %d, want default %d", got, DefaultMaxHedges)
	}
}

func TestHedgerFallsBackUntilMinSamples(t *testing.T) {
	h := mustHedger(t, HedgeConfig{Delay: 50 * time.Millisecond, Percentile: 90, MinSamples: 10})
	for i := 1; i <= 9; i++ {
		h.Observe(t0, time.Duration(i)*time.Millisecond)
		if got := h.Delay(); got != 50*time.Millisecond {
			t.Fatalf("after %d samples Delay = %v, want the 50ms fallback", i, got)
		}
	}
	h.Observe(t0, 10*time.Millisecond)
	// Ten samples 1..10ms: p90 by nearest rank is the 9th, 9ms, which
	// falls in a bucket whose upper edge is within 1/16 above it.
	if got := h.Delay(); got < 9*time.Millisecond || got > 9*time.Millisecond*17/16 {
		t.Errorf("Delay = %v, want p90 = 9ms within +1/16", got)
	}
}

// TestHedgerFollowsPercentile: for any latencies and percentile, Delay is
// never below the true nearest-rank percentile of what was observed in the
// window and exceeds it by at most 1/16 (the histogram's bucket width).
func TestHedgerFollowsPercentile(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := rapid.Float64Range(0.1, 99.9).Draw(t, "percentile")
		lat := rapid.SliceOfN(rapid.Int64Range(0, int64(10*time.Minute)), 1, 2000).Draw(t, "latencies")
		h := mustHedger(t, HedgeConfig{Delay: time.Second, Percentile: p, MinSamples: 1, Window: time.Hour})
		xs := make([]time.Duration, len(lat))
		for i, l := range lat {
			xs[i] = time.Duration(l)
			h.Observe(t0.Add(time.Duration(i)*time.Millisecond), xs[i])
		}
		want := truePercentile(xs, p)
		got := h.Delay()
		if got < want || got > want+want/16 {
			t.Fatalf("Delay = %v, true p%v = %v: want in [%v, %v]", got, p, want, want, want+want/16)
		}
	})
}

// TestHedgerForgetsOldGenerations: with observations spread over many
// windows, Delay follows exactly the samples of the current and the previous
// generation, generations being Window-long and counted from the first
// observation.
func TestHedgerForgetsOldGenerations(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		window := time.Duration(rapid.Int64Range(1, 100).Draw(t, "windowMillis")) * time.Millisecond
		minSamples := rapid.IntRange(1, 20).Draw(t, "minSamples")
		h := mustHedger(t, HedgeConfig{Delay: time.Hour, Percentile: 90, MinSamples: minSamples, Window: window})
		type sample struct {
			gen int64
			lat time.Duration
		}
		var seen []sample
		now := t0
		for i := range rapid.IntRange(1, 300).Draw(t, "n") {
			if i > 0 {
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(window)).Draw(t, "gap")))
			}
			lat := time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "latency"))
			gen := int64(now.Sub(t0) / window)
			h.Observe(now, lat)
			seen = append(seen, sample{gen, lat})

			var live []time.Duration
			for _, s := range seen {
				if s.gen >= gen-1 {
					live = append(live, s.lat)
				}
			}
			got := h.Delay()
			if len(live) < minSamples {
				if got != time.Hour {
					t.Fatalf("step %d: %d live samples, Delay = %v, want the fallback", i, len(live), got)
				}
				continue
			}
			want := truePercentile(live, 90)
			if got < want || got > want+want/16 {
				t.Fatalf("step %d: Delay = %v, p90 of %d live samples = %v", i, got, len(live), want)
			}
		}
	})
}

func TestHedgerTracksShiftingLatency(t *testing.T) {
	h := mustHedger(t, HedgeConfig{Delay: time.Second, Percentile: 95, Window: 10 * time.Second})
	r := rand.New(rand.NewPCG(3, 4))
	// Uniform(0, 100ms): p95 is 95ms. 200 requests a second for 30s.
	now := t0
	for range 6000 {
		now = now.Add(5 * time.Millisecond)
		h.Observe(now, time.Duration(r.Int64N(int64(100*time.Millisecond))))
	}
	if got := h.Delay(); got < 90*time.Millisecond || got > 95*time.Millisecond*17/16 {
		t.Errorf("fast phase Delay = %v, want about 95ms", got)
	}
	// Latency jumps tenfold. Within two windows the old samples are gone.
	for range 4000 {
		now = now.Add(5 * time.Millisecond)
		h.Observe(now, time.Duration(r.Int64N(int64(time.Second))))
	}
	if got := h.Delay(); got < 900*time.Millisecond || got > 950*time.Millisecond*17/16 {
		t.Errorf("slow phase Delay = %v, want about 950ms", got)
	}
	// A long silence forgets everything: back to the fallback.
	now = now.Add(time.Minute)
	h.Observe(now, 10*time.Millisecond)
	if got := h.Delay(); got != time.Second {
		t.Errorf("after silence Delay = %v, want the 1s fallback", got)
	}
}

func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		name string
		v    uint64
		edge uint64
	}{
		{name: "zero", v: 0, edge: 0},
		{name: "exact below 32", v: 31, edge: 31},
		{name: "pairs from 32", v: 32, edge: 33},
		{name: "1ms", v: 1_000_000, edge: 1_015_807},
		{name: "clamped", v: 1 << 50, edge: histMax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := upperEdge(bucketOf(tc.v)); got != tc.edge {
				t.Errorf("upperEdge(bucketOf(%d)) = %d, want %d", tc.v, got, tc.edge)
			}
		})
	}
	// Every value up to histMax lands in a bucket whose upper edge is at most
	// 1/16 above it, and buckets are ordered.
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Uint64Range(0, histMax).Draw(t, "v")
		b := bucketOf(v)
		if e := upperEdge(b); e < v || e-v > v/16 {
			t.Fatalf("v=%d bucket %d edge %d", v, b, e)
		}
		if b > 0 && upperEdge(b-1) >= v {
			t.Fatalf("v=%d also fits bucket %d", v, b-1)
		}
	})
}

func TestNewHedgerValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HedgeConfig
		wantErr []string
	}{
		{name: "fixed", cfg: HedgeConfig{Delay: time.Millisecond}},
		{name: "percentile", cfg: HedgeConfig{Delay: time.Millisecond, Percentile: 99.9, MaxHedges: 2}},
		{name: "zero delay", cfg: HedgeConfig{}, wantErr: []string{"delay 0s: must be positive"}},
		{name: "percentile 100", cfg: HedgeConfig{Delay: time.Millisecond, Percentile: 100}, wantErr: []string{"percentile 100"}},
		{name: "all wrong", cfg: HedgeConfig{Delay: -1, Percentile: -5, MaxHedges: -1, MinSamples: -1, Window: -1},
			wantErr: []string{"delay -1ns", "percentile -5", "max hedges -1", "min samples -1", "window -1ns"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHedger(tc.cfg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("NewHedger: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewHedger: nil error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "hedging: ") {
					t.Errorf("NewHedger error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestHedgerConcurrentUse(t *testing.T) {
	h := mustHedger(t, HedgeConfig{Delay: time.Second, Percentile: 50, MinSamples: 1})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				h.Observe(t0.Add(time.Duration(i)*time.Millisecond), time.Duration(g+1)*time.Millisecond)
				_ = h.Delay()
			}
		})
	}
	wg.Wait()
	// 2000 samples each of 1, 2, 3, 4ms: the median by nearest rank is 2ms.
	if got := h.Delay(); got < 2*time.Millisecond || got > 2*time.Millisecond*17/16 {
		t.Errorf("Delay = %v, want the median 2ms", got)
	}
}

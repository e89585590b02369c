package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// adaptiveRig drives an AdaptiveConcurrency in rounds, one per sample
// window: at the start of a round it admits as many requests as it can (or
// up to want), and releases them all latency later.
type adaptiveRig struct {
	t   *testing.T
	a   *AdaptiveConcurrency
	now time.Time
}

func (r *adaptiveRig) round(latency time.Duration, want int) (admitted int) {
	start := r.now
	for (want <= 0 || admitted < want) && r.a.Acquire(start) {
		admitted++
	}
	for range admitted {
		r.a.Release(start.Add(latency), latency, true)
	}
	r.now = start.Add(r.a.cfg.SampleWindow)
	return admitted
}

func newRig(t *testing.T, cfg Config) *adaptiveRig {
	t.Helper()
	a, err := NewAdaptiveConcurrency(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &adaptiveRig{t: t, a: a, now: epoch}
}

// measure runs rounds at latency until the minRTT measurement ends.
func (r *adaptiveRig) measure(latency time.Duration) {
	r.t.Helper()
	for i := 0; r.a.Stats().Measuring; i++ {
		if i > 100 {
			r.t.Fatal("minRTT measurement never ended")
		}
		if got := r.a.Limit(); got != r.a.cfg.MinLimit {
			r.t.Fatalf("limit %d while measuring, want MinLimit %d", got, r.a.cfg.MinLimit)
		}
		r.round(latency, 0)
	}
	if got := r.a.Stats().MinRTT; got != latency {
		r.t.Fatalf("minRTT %v, want %v", got, latency)
	}
}

// TestAdaptiveConcurrencyFollowsLatency is the scripted story: the limit
// grows while latency stays at minRTT, shrinks when latency rises, and grows
// again when it falls back.
func TestAdaptiveConcurrencyFollowsLatency(t *testing.T) {
	r := newRig(t, Config{MinLimit: 3, MaxLimit: 100, MinRTTSamples: 6, MinRTTInterval: time.Hour})
	r.measure(10 * ms)

	phase := func(name string, latency time.Duration, rounds int, grow bool) {
		t.Helper()
		// A window is judged when the first Release after it closes it, so
		// the first round of a phase still closes the previous phase's window.
		r.round(latency, 0)
		before := r.a.Limit()
		prev := before
		var trace []int
		for range rounds {
			r.round(latency, 0)
			got := r.a.Limit()
			trace = append(trace, got)
			if grow && got < prev || !grow && got > prev {
				t.Fatalf("%s: limit went %d -> %d (trace %v)", name, prev, got, trace)
			}
			prev = got
		}
		if grow && prev <= before || !grow && prev >= before {
			t.Fatalf("%s: limit %d -> %d, want it to %s (trace %v)", name, before, prev,
				map[bool]string{true: "grow", false: "shrink"}[grow], trace)
		}
		t.Logf("%s: %d -> %v", name, before, trace)
	}
	phase("latency at minRTT", 10*ms, 12, true)
	if got := r.a.Limit(); got != 100 {
		t.Fatalf("limit %d after a long healthy spell, want MaxLimit 100", got)
	}
	phase("latency quadruples", 40*ms, 6, false)
	if g := r.a.Stats().Gradient; g != minGradient {
		t.Fatalf("gradient %v, want the floor %v", g, minGradient)
	}
	phase("latency back to minRTT", 10*ms, 6, true)
	phase("latency within the buffer", 12*ms, 3, true) // 10ms·1.25 ≥ 12ms
	phase("latency a little high", 14*ms, 4, false)
}

func TestAdaptiveConcurrencyExactUpdate(t *testing.T) {
	r := newRig(t, Config{MinLimit: 3, MaxLimit: 1000, Limit: 16, MinRTTSamples: 3, MinRTTInterval: time.Hour})
	r.measure(10 * ms)
	r.round(20*ms, 0) // fills a window with 16 samples of 20ms
	r.round(20*ms, 0) // its first Release closes that window
	// gradient = 10ms·1.25/20ms = 0.625; limit = 16·0.625 + √16 = 14.
	if s := r.a.Stats(); s.Gradient != 0.625 || s.SampleRTT != 20*ms || s.Limit != 14 {
		t.Fatalf("stats %+v, want gradient 0.625, sampleRTT 20ms, limit 14", s)
	}
}

func TestAdaptiveConcurrencyAppLimited(t *testing.T) {
	r := newRig(t, Config{MinLimit: 3, Limit: 20, MinRTTSamples: 3, MinRTTInterval: time.Hour})
	r.measure(10 * ms)
	for range 10 {
		r.round(10*ms, 2) // never more than 2 of 20 in flight
	}
	if got := r.a.Limit(); got != 20 {
		t.Fatalf("limit %d after idle healthy windows, want it held at 20", got)
	}
	for range 3 {
		r.round(50*ms, 2)
	}
	if got := r.a.Limit(); got >= 20 {
		t.Fatalf("limit %d: high latency must shrink it even when app-limited", got)
	}
}

func TestAdaptiveConcurrencyRemeasuresWithJitter(t *testing.T) {
	const interval = 10 * time.Second
	cfg := func(seed uint64) Config {
		return Config{MinLimit: 2, Limit: 10, MinRTTSamples: 4, MinRTTInterval: interval, MinRTTJitter: 0.5,
			Rand: rand.New(rand.NewPCG(seed, 0))}
	}
	r := newRig(t, cfg(1))
	r.measure(10 * ms)
	end := r.now.Add(-r.a.cfg.SampleWindow).Add(10 * ms) // the releasing instant that ended it
	next := r.a.Stats().NextMinRTT
	if next.Before(end.Add(interval)) || !next.Before(end.Add(interval*3/2)) {
		t.Fatalf("next minRTT at %v, want in [%v, %v)", next.Sub(epoch), end.Add(interval).Sub(epoch), end.Add(interval*3/2).Sub(epoch))
	}
	again := newRig(t, cfg(1))
	again.measure(10 * ms)
	if got := again.a.Stats().NextMinRTT; !got.Equal(next) {
		t.Fatalf("same seed gave next minRTT %v then %v", next.Sub(epoch), got.Sub(epoch))
	}

	// Run healthy traffic up to the due time; the limit is pinned at once.
	for r.now.Before(next) {
		r.round(10*ms, 0)
	}
	learned := r.a.limit
	if !r.a.Acquire(r.now) {
		t.Fatal("Acquire refused at an idle limiter")
	}
	r.a.Release(r.now.Add(ms), ms, true)
	if s := r.a.Stats(); !s.Measuring || s.Limit != 2 {
		t.Fatalf("at the due time: stats %+v, want measuring at MinLimit 2", s)
	}
	r.now = r.now.Add(r.a.cfg.SampleWindow)
	r.measure(20 * ms)
	if got := r.a.Limit(); got != learned {
		t.Fatalf("limit %d after re-measuring, want the learned %d restored", got, learned)
	}
}

func TestAdaptiveConcurrencyIgnoresUnfitSamples(t *testing.T) {
	r := newRig(t, Config{MinLimit: 2, Limit: 8, MinRTTSamples: 2, MinRTTInterval: time.Second})
	r.measure(10 * ms)
	a := r.a

	// Admitted before the next measurement starts: ran at the old
	// concurrency, so its latency is not an ideal-condition sample.
	early := r.now
	for range 4 {
		if !a.Acquire(early) {
			t.Fatal("Acquire refused")
		}
	}
	due := a.Stats().NextMinRTT
	a.Release(due, due.Sub(early), true) // starts the measurement, sample ignored
	a.Release(due.Add(ms), due.Add(ms).Sub(early), true)
	if !a.Stats().Measuring {
		t.Fatal("measurement ended on samples admitted before it began")
	}
	now := due.Add(2 * ms)
	a.Release(now, now.Sub(early), true)
	a.Release(now, now.Sub(early), true)
	// Failures give no sample either.
	for range 3 {
		if !a.Acquire(now) {
			t.Fatal("Acquire refused below MinLimit")
		}
		a.Release(now.Add(ms), ms, false)
	}
	if !a.Stats().Measuring {
		t.Fatal("measurement ended on failed requests")
	}
	// Fit samples end it.
	for range 2 {
		a.Acquire(now)
		a.Release(now.Add(5*ms), 5*ms, true)
	}
	if s := a.Stats(); s.Measuring || s.MinRTT != 5*ms {
		t.Fatalf("stats %+v, want measurement done with minRTT 5ms", s)
	}
}

func TestAdaptiveConcurrencyRemeasuresWhenStuckAtMin(t *testing.T) {
	r := newRig(t, Config{MinLimit: 3, Limit: 3, MinRTTSamples: 3, MinRTTInterval: time.Hour})
	r.measure(10 * ms)
	for i := 0; !r.a.Stats().Measuring; i++ {
		if i > minLimitWindowsForRemeasure+1 {
			t.Fatalf("still not re-measuring after %d windows at MinLimit", i)
		}
		r.round(100*ms, 0)
	}
	r.measure(100 * ms) // the new normal becomes the baseline
}

func TestAdaptiveConcurrencyReleaseWithoutAcquirePanics(t *testing.T) {
	a, _ := NewAdaptiveConcurrency(Config{})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	a.Release(epoch, ms, true)
}

// TestAdaptiveConcurrencyProperties drives random traffic: the limit stays
// within [MinLimit, MaxLimit], no Acquire succeeds at the limit, and two
// limiters with the same seed and inputs agree exactly.
func TestAdaptiveConcurrencyProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		minL := rapid.IntRange(1, 5).Draw(t, "minLimit")
		maxL := rapid.IntRange(minL, 60).Draw(t, "maxLimit")
		seed := rapid.Uint64().Draw(t, "seed")
		mk := func() *AdaptiveConcurrency {
			a, err := NewAdaptiveConcurrency(Config{MinLimit: minL, MaxLimit: maxL, MinRTTSamples: 5,
				MinRTTInterval: 2 * time.Second, SampleWindow: 50 * ms, Rand: rand.New(rand.NewPCG(seed, 1))})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a, twin := mk(), mk()
		now := epoch
		var held []time.Time // admission times
		t.Repeat(map[string]func(*rapid.T){
			"acquire": func(t *rapid.T) {
				limit := a.Limit()
				got := a.Acquire(now)
				if twin.Acquire(now) != got {
					t.Fatal("twins disagree on Acquire")
				}
				if got && a.InFlight() > limit {
					t.Fatalf("admitted to %d in flight at limit %d", a.InFlight(), limit)
				}
				if got {
					held = append(held, now)
				}
			},
			"release": func(t *rapid.T) {
				if len(held) == 0 {
					t.Skip("nothing held")
				}
				i := rapid.IntRange(0, len(held)-1).Draw(t, "which")
				ok := rapid.Float64Range(0, 1).Draw(t, "p") < 0.9
				a.Release(now, now.Sub(held[i]), ok)
				twin.Release(now, now.Sub(held[i]), ok)
				held = append(held[:i], held[i+1:]...)
			},
			"advance": func(t *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(0, 40).Draw(t, "ms")) * ms)
			},
			"": func(t *rapid.T) {
				s := a.Stats()
				if s.Limit < minL || s.Limit > maxL {
					t.Fatalf("limit %d outside [%d, %d]", s.Limit, minL, maxL)
				}
				if s.InFlight != len(held) {
					t.Fatalf("InFlight %d, held %d", s.InFlight, len(held))
				}
				if twin.Stats() != s {
					t.Fatalf("twins diverged: %+v vs %+v", s, twin.Stats())
				}
			},
		})
	})
}

func BenchmarkAdaptiveConcurrency(b *testing.B) {
	cfg := Config{MinRTTSamples: 50, Rand: rand.New(rand.NewPCG(1, 2))}
	b.Run("acquire-release", func(b *testing.B) {
		a, _ := NewAdaptiveConcurrency(cfg)
		b.ReportAllocs()
		defer cpuMeter(b)()
		for i := 0; b.Loop(); i++ {
			now := epoch.Add(time.Duration(i) * time.Microsecond)
			if a.Acquire(now) {
				a.Release(now.Add(ms), ms, true)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		a, _ := NewAdaptiveConcurrency(cfg)
		b.ReportAllocs()
		defer cpuMeter(b)()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				now := epoch.Add(time.Duration(i) * time.Microsecond)
				if a.Acquire(now) {
					a.Release(now.Add(ms), ms, true)
				}
			}
		})
	})
}

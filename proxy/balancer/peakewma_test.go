package balancer

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestExpNeg(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := rapid.Float64Range(0, 700).Draw(t, "x")
		if rapid.Bool().Draw(t, "small") {
			x /= 1e6
		}
		want := math.Exp(-x)
		if got := expNeg(x); math.Abs(got-want) > 1e-8*want {
			t.Fatalf("expNeg(%v) = %v, want %v (relative error %v)", x, got, want, math.Abs(got-want)/want)
		}
	})
	for _, x := range []float64{0, -1, math.NaN()} {
		if got := expNeg(x); got != 1 {
			t.Errorf("expNeg(%v) = %v, want 1", x, got)
		}
	}
	if got := expNeg(1000); got != 0 {
		t.Errorf("expNeg(1000) = %v, want 0", got)
	}
}

// valueAt returns m's estimate decayed to t (nanoseconds since the epoch),
// and whether there is one.
func valueAt(m *ewma, t int64) (float64, bool) {
	c := math.Float64frombits(m.cost.Load())
	if c < 0 {
		return 0, false
	}
	if stamp := m.stamp.Load(); t > stamp {
		c *= math.Exp(-float64(t-stamp) * m.clock.rate)
	}
	return c, true
}

// TestEWMA follows one estimate through Finagle's rules with DecayTime 10s.
func TestEWMA(t *testing.T) {
	clk := &clock{epoch: epoch, rate: 1 / float64(10*time.Second)}
	var m ewma
	m.init(clk, epoch, 0)
	ms := float64(time.Millisecond)
	approx := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*want {
			t.Fatalf("%s: cost %.6fms, want %.6fms", name, got/ms, want/ms)
		}
	}
	if _, ok := valueAt(&m, 0); ok {
		t.Fatal("unprobed estimate has a value")
	}
	m.observe(at(time.Second), 10*time.Millisecond)
	c, _ := valueAt(&m, int64(time.Second))
	approx("first observation", c, 10*ms)
	// A lower latency 1s later moves the average by 1-e^-0.1 of the way.
	m.observe(at(2*time.Second), 5*time.Millisecond)
	w := math.Exp(-0.1)
	c, _ = valueAt(&m, int64(2*time.Second))
	approx("averaged", c, 10*ms*w+5*ms*(1-w))
	// A peak replaces it.
	m.observe(at(2*time.Second), 50*time.Millisecond)
	c, _ = valueAt(&m, int64(2*time.Second))
	approx("peak", c, 50*ms)
	// Without observations it decays toward zero: e^-1 after DecayTime.
	c, _ = valueAt(&m, int64(12*time.Second))
	approx("decayed", c, 50*ms*math.Exp(-1))
	// A completion stamped earlier than the last one does not go back in time.
	m.observe(at(time.Second), 50*time.Millisecond)
	if got := m.stamp.Load(); got != int64(2*time.Second) {
		t.Fatalf("stamp moved back to %v", time.Duration(got))
	}
}

// TestPeakEWMAAvoidsSlowEndpoint: one endpoint of ten answers in 100ms, the
// others in 1ms. P2C candidates are distinct, so once measured the slow one
// loses every comparison until its cost decays toward the others'.
func TestPeakEWMAAvoidsSlowEndpoint(t *testing.T) {
	b := mustNew(t, Config{Type: "peak_ewma"})
	b.Update(epoch, endpoints(10))
	r := newRand(11)
	now := epoch
	slow := 0
	for i := range 5000 {
		now = now.Add(time.Millisecond)
		p := mustPick(t, b, now, 0, r)
		latency := time.Millisecond
		if p.Endpoint().ID == "e0" {
			latency = 100 * time.Millisecond
			if i >= 1000 {
				slow++
			}
		}
		p.Done(now, latency, nil)
	}
	// Its 100ms peak decays below the others' 1ms after ln(100)×10s ≈ 46s;
	// in these 4s it is chosen only while unprobed.
	if slow != 0 {
		t.Fatalf("slow endpoint picked %d times after warm-up, want 0", slow)
	}
}

func TestPeakEWMAUnprobed(t *testing.T) {
	tests := []struct {
		name       string
		defaultRTT time.Duration
		want       []string // two picks without Done, then one more
	}{
		// Finagle: an idle unprobed endpoint is free, then penalised while
		// its probe is outstanding.
		{"finagle penalty", 0, []string{"new", "old", "old"}},
		// tower: it costs DefaultRTT (1s), far above the measured ~59ms.
		{"default rtt", time.Second, []string{"old", "old", "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustNew(t, Config{Type: "peak_ewma", DefaultRTT: tt.defaultRTT})
			b.Update(epoch, []Endpoint{{ID: "old"}})
			now := at(30 * time.Second)
			p := mustPick(t, b, now, 0, newRand(1))
			// With a default RTT the 10ms is averaged into the decayed 1s:
			// 1s×e^-3 + 10ms×(1-e^-3) ≈ 59ms.
			p.Done(now, 10*time.Millisecond, nil)
			b.Update(now, []Endpoint{{ID: "old"}, {ID: "new"}})
			r := newRand(2)
			for i, want := range tt.want {
				if got := mustPick(t, b, now, 0, r).Endpoint().ID; got != want {
					t.Fatalf("pick %d = %s, want %s", i, got, want)
				}
			}
		})
	}
}

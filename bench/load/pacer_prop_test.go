package load

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Every pacer's schedule is a non-decreasing sequence of arrivals inside
// its window, and a function of its inputs alone: asking for arrival n
// twice, in any order, gives the same time.
func TestPacerScheduleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		window := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(20*time.Second)).Draw(t, "window"))
		seed := rapid.Uint64().Draw(t, "seed")
		var (
			arrival func(uint64) (time.Duration, bool)
			name    string
		)
		switch rapid.IntRange(0, 1).Draw(t, "kind") {
		case 0:
			name = "poisson"
			rate := rapid.Float64Range(0, 500).Draw(t, "rate")
			p, err := NewConstantPoissonPacer(rate, window, seed)
			if err != nil {
				t.Fatal(err)
			}
			arrival = p.Arrival
		default:
			name = "step"
			n := rapid.IntRange(0, 5).Draw(t, "steps")
			var steps []Step
			at := time.Duration(0)
			for range n {
				at += time.Duration(rapid.Int64Range(0, int64(5*time.Second)).Draw(t, "gap"))
				steps = append(steps, Step{At: at, Rate: rapid.Float64Range(0, 300).Draw(t, "rate")})
			}
			p, err := NewStepPacer(steps, window)
			if err != nil {
				t.Fatal(err)
			}
			arrival = p.Arrival
		}
		var prev time.Duration
		var times []time.Duration
		for n := uint64(0); n < 2000; n++ {
			at, ok := arrival(n)
			if !ok {
				break
			}
			if at < prev || at < 0 || at >= window {
				t.Fatalf("%s: arrival %d at %s after %s, window %s", name, n, at, prev, window)
			}
			prev = at
			times = append(times, at)
		}
		for range 20 {
			if len(times) == 0 {
				break
			}
			n := rapid.IntRange(0, len(times)-1).Draw(t, "again")
			if at, ok := arrival(uint64(n)); !ok || at != times[n] {
				t.Fatalf("%s: arrival %d is %s, %v the second time, %s the first", name, n, at, ok, times[n])
			}
		}
	})
}

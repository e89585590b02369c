package sim

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestQueueOrder checks the heap property: whatever the interleaving of
// pushes and pops, events come out by time and, at equal times, in the order
// they were scheduled.
func TestQueueOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		eng := NewEngine[int]()
		type ev struct {
			at  time.Duration
			seq int
		}
		var pending []ev
		next := 0
		ops := rapid.SliceOfN(rapid.IntRange(0, 9), 1, 400).Draw(t, "ops")
		for _, op := range ops {
			if op < 6 || len(pending) == 0 {
				// Few distinct times so ties are common.
				at := eng.Elapsed() + time.Duration(rapid.IntRange(0, 5).Draw(t, "dt"))
				eng.At(at, next)
				pending = append(pending, ev{at, next})
				next++
				continue
			}
			sort.SliceStable(pending, func(i, j int) bool {
				if pending[i].at != pending[j].at {
					return pending[i].at < pending[j].at
				}
				return pending[i].seq < pending[j].seq
			})
			want := pending[0]
			pending = pending[1:]
			got, ok := eng.Next()
			if !ok || got != want.seq || eng.Elapsed() != want.at {
				t.Fatalf("Next() = %d at %v, want %d at %v", got, eng.Elapsed(), want.seq, want.at)
			}
		}
		if eng.Pending() != len(pending) {
			t.Fatalf("Pending() = %d, want %d", eng.Pending(), len(pending))
		}
	})
}

func TestEngineClock(t *testing.T) {
	eng := NewEngine[string]()
	eng.After(3*time.Millisecond, "c")
	eng.At(time.Millisecond, "a")
	eng.After(-time.Second, "zero")
	eng.At(time.Millisecond, "b")
	if at, ok := eng.NextAt(); !ok || at != 0 || eng.Pending() != 4 {
		t.Fatalf("NextAt() = %v, %v with %d pending", at, ok, eng.Pending())
	}
	var got []string
	for {
		p, ok := eng.Next()
		if !ok {
			break
		}
		got = append(got, p)
		if p == "a" && !eng.Now().Equal(Epoch.Add(time.Millisecond)) {
			t.Errorf("Now() at a = %v", eng.Now())
		}
	}
	want := []string{"zero", "a", "b", "c"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
	if eng.Processed() != 4 || eng.Elapsed() != 3*time.Millisecond {
		t.Fatalf("Processed %d Elapsed %v", eng.Processed(), eng.Elapsed())
	}
	if _, ok := eng.NextAt(); ok {
		t.Fatal("NextAt() on an empty queue")
	}
}

func TestEngineRejectsPast(t *testing.T) {
	eng := NewEngine[int]()
	eng.At(time.Second, 1)
	eng.Next()
	defer func() {
		if recover() == nil {
			t.Fatal("At in the past did not panic")
		}
	}()
	eng.At(time.Millisecond, 2)
}

func TestStreamIndependent(t *testing.T) {
	a1 := Stream(7, "replica/payments[0]").Uint64()
	a2 := Stream(7, "replica/payments[0]").Uint64()
	b := Stream(7, "replica/payments[1]").Uint64()
	c := Stream(8, "replica/payments[0]").Uint64()
	if a1 != a2 {
		t.Fatal("same seed and name gave different streams")
	}
	if a1 == b || a1 == c {
		t.Fatal("different names or seeds gave the same first draw")
	}
}

// benchEvent mirrors the model's event payload: a kind, a generation and a
// pointer.
type benchEvent struct {
	kind uint8
	gen  uint32
	ptr  *int
}

// BenchmarkEngine measures the hold model: a queue kept at a steady number of
// pending events, each fired event scheduling one more at an exponential
// delay. events/s is the figure that matters.
func BenchmarkEngine(b *testing.B) {
	for _, pending := range []int{1_000, 100_000} {
		b.Run("pending="+itoa(pending), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			// Precomputed delays keep the random generator out of the figure.
			delays := make([]time.Duration, 4096)
			for i := range delays {
				delays[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
			}
			eng := NewEngine[benchEvent]()
			x := 0
			for i := 0; i < pending; i++ {
				eng.After(delays[i%len(delays)], benchEvent{kind: 1, ptr: &x})
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				ev, _ := eng.Next()
				ev.gen++
				eng.After(delays[i&(len(delays)-1)], ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

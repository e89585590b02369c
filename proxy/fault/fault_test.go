package fault

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// withinBinomial reports whether k successes of n trials at probability p
// lie within z standard deviations of the mean (exact at p = 0 and 1).
func withinBinomial(k, n int, p, z float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-mean) <= z*sd+1e-9
}

func TestDecidePercentages(t *testing.T) {
	const n = 40000
	for _, tc := range []struct {
		name         string
		delay, abort float64
	}{
		{"off", 0, 0},
		{"1% and 10%", 1, 10},
		{"half and half", 50, 50},
		{"99.5% delay, all aborted", 99.5, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(Config{
				Delay: &Delay{Fixed: time.Second, Percentage: tc.delay},
				Abort: &Abort{Status: 503, Percentage: tc.abort},
			}, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			r := seeded(42)
			var delayed, aborted, both int
			for range n {
				d := f.Decide(r)
				if d.Delay != 0 {
					delayed++
				}
				if d.Abort != 0 {
					aborted++
				}
				if d.Delay != 0 && d.Abort != 0 {
					both++
				}
			}
			pd, pa := tc.delay/100, tc.abort/100
			// 4.5σ: a false alarm about once in 150,000 seeds.
			if !withinBinomial(delayed, n, pd, 4.5) {
				t.Errorf("delayed %d of %d, want about %.0f", delayed, n, pd*n)
			}
			if !withinBinomial(aborted, n, pa, 4.5) {
				t.Errorf("aborted %d of %d, want about %.0f", aborted, n, pa*n)
			}
			if !withinBinomial(both, n, pd*pa, 4.5) {
				t.Errorf("delayed and aborted %d of %d, want about %.0f (independent draws)", both, n, pd*pa*n)
			}
		})
	}
}

func TestDecideValues(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fixed := time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "fixed"))
		status := rapid.IntRange(200, 599).Draw(t, "status")
		pd := rapid.Float64Range(0, 100).Draw(t, "delay%")
		pa := rapid.Float64Range(0, 100).Draw(t, "abort%")
		f, err := New(Config{Delay: &Delay{Fixed: fixed, Percentage: pd}, Abort: &Abort{Status: status, Percentage: pa}}, seeded(1))
		if err != nil {
			t.Fatal(err)
		}
		d := f.Decide(seeded(rapid.Uint64().Draw(t, "seed")))
		if (d.Delay != 0 && d.Delay != fixed) || (d.Abort != 0 && d.Abort != status) {
			t.Fatalf("decision %+v", d)
		}
		if (pd == 100 && d.Delay == 0) || (pd == 0 && d.Delay != 0) || (pa == 100 && d.Abort == 0) || (pa == 0 && d.Abort != 0) {
			t.Fatalf("decision %+v at %v%%/%v%%", d, pd, pa)
		}
	})
}

type recordedWait struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recordedWait) wait(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return nil
}

func TestMiddlewareAbortPercentage(t *testing.T) {
	const n = 20000
	f, err := New(Config{Abort: &Abort{Status: 503, Percentage: 25}}, seeded(7))
	if err != nil {
		t.Fatal(err)
	}
	forwarded := 0
	h := f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { forwarded++ }))
	aborted := 0
	for range n {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code == 503 {
			aborted++
			if w.Body.String() != "fault filter abort\n" {
				t.Fatalf("body %q", w.Body)
			}
		}
	}
	if aborted+forwarded != n {
		t.Fatalf("%d aborted + %d forwarded != %d", aborted, forwarded, n)
	}
	if !withinBinomial(aborted, n, 0.25, 4.5) {
		t.Fatalf("aborted %d of %d", aborted, n)
	}
	if f.Active() != 0 {
		t.Fatalf("%d faults still active", f.Active())
	}
}

type constDist time.Duration

func (c constDist) Sample(*rand.Rand) time.Duration { return time.Duration(c) }

func TestMiddlewareDelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Delay
		want time.Duration
	}{
		{"fixed", Delay{Fixed: 250 * time.Millisecond, Percentage: 100}, 250 * time.Millisecond},
		{"distribution", Delay{Distribution: constDist(40 * time.Millisecond), Percentage: 100}, 40 * time.Millisecond},
		{"negative draw is no delay", Delay{Distribution: constDist(-time.Second), Percentage: 100}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(Config{Delay: &tc.d}, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordedWait{}
			f.wait = rec.wait
			called := false
			w := httptest.NewRecorder()
			f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if !called || w.Code != 200 {
				t.Fatalf("forwarded %v, status %d", called, w.Code)
			}
			var want []time.Duration
			if tc.want > 0 {
				want = []time.Duration{tc.want}
			}
			if len(rec.waits) != len(want) || (len(want) == 1 && rec.waits[0] != want[0]) {
				t.Fatalf("waits %v, want %v", rec.waits, want)
			}
		})
	}
}

func TestMiddlewareDelayRealTimer(t *testing.T) {
	f, err := New(Config{Delay: &Delay{Fixed: time.Millisecond, Percentage: 100}}, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !called {
		t.Fatal("not forwarded after the delay")
	}
	// A request whose context has ended is answered 504 at once, not held.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f2, _ := New(Config{Delay: &Delay{Fixed: time.Hour, Percentage: 100}}, seeded(1))
	called = false
	w := httptest.NewRecorder()
	f2.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).
		ServeHTTP(w, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if called || w.Code != http.StatusGatewayTimeout {
		t.Fatalf("forwarded %v, status %d", called, w.Code)
	}
}

func TestMiddlewareHeaderMatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		match   *HeaderMatch
		headers map[string]string
		aborted bool
	}{
		{"no match configured", nil, nil, true},
		{"default header present", &HeaderMatch{}, map[string]string{"x-meshbench-fault": "1"}, true},
		{"default header absent", &HeaderMatch{}, nil, false},
		{"custom header", &HeaderMatch{Name: "x-chaos"}, map[string]string{"X-Chaos": ""}, true},
		{"value matches", &HeaderMatch{Name: "x-chaos", Value: "abort"}, map[string]string{"X-Chaos": "abort"}, true},
		{"value differs", &HeaderMatch{Name: "x-chaos", Value: "abort"}, map[string]string{"X-Chaos": "delay"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(Config{Abort: &Abort{Status: 418, Percentage: 100}, Match: tc.match}, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			f.Middleware(http.NotFoundHandler()).ServeHTTP(w, r)
			if got := w.Code == 418; got != tc.aborted {
				t.Fatalf("status %d", w.Code)
			}
		})
	}
}

func TestMiddlewareMaxActive(t *testing.T) {
	f, err := New(Config{Delay: &Delay{Fixed: time.Hour, Percentage: 100}, MaxActive: 2}, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	f.wait = func(context.Context, time.Duration) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	h := f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
		<-entered
	}
	if f.Active() != 2 {
		t.Fatalf("active %d", f.Active())
	}
	// The third request finds two faults active and passes untouched (a
	// wait here would deadlock on entered).
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	close(release)
	wg.Wait()
	if f.Active() != 0 {
		t.Fatalf("active %d after all finished", f.Active())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"percentage over 100", Config{Abort: &Abort{Status: 503, Percentage: 101}}},
		{"NaN percentage", Config{Abort: &Abort{Status: 503, Percentage: math.NaN()}}},
		{"status 600", Config{Abort: &Abort{Status: 600, Percentage: 1}}},
		{"status 100", Config{Abort: &Abort{Status: 100, Percentage: 1}}},
		{"empty delay", Config{Delay: &Delay{Percentage: 1}}},
		{"negative delay", Config{Delay: &Delay{Fixed: -1, Percentage: 1}}},
		{"negative max active", Config{MaxActive: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, seeded(1)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Fatal("accepted a nil rand")
	}
}

func BenchmarkMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"unmatched", Config{Abort: &Abort{Status: 503, Percentage: 100}, Match: &HeaderMatch{}}},
		{"abort=10%", Config{Abort: &Abort{Status: 503, Percentage: 10}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f, err := New(tc.cfg, seeded(1))
			if err != nil {
				b.Fatal(err)
			}
			h := f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("GET", "/", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

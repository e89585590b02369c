package load

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
)

// manualClock is a Clock that moves only when the test advances it.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan struct{}
}

func newManualClock() *manualClock { return &manualClock{now: time.Unix(1_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) SleepUntil(ctx context.Context, t time.Time) bool {
	c.mu.Lock()
	if !c.now.Before(t) {
		c.mu.Unlock()
		return ctx.Err() == nil
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, clockWaiter{at: t, ch: ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// Advance moves the clock by d and wakes the sleepers it passes.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if c.now.Before(w.at) {
			kept = append(kept, w)
			continue
		}
		close(w.ch)
	}
	c.waiters = kept
}

// gateTransport holds every request until the test releases it: a load
// generator whose one connection is stuck behind a slow answer.
type gateTransport struct {
	arrived chan string   // the X-Request-Id of each request as it arrives
	release chan struct{} // one answer per receive
}

func (g *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g.arrived <- req.Header.Get(HeaderRequestID)
	select {
	case <-g.release:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK",
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req,
	}, nil
}

// TestStarvedGeneratorReportsLagAndTimesFromIntendedSends starves the load
// generator: one worker, and an answer that takes 8 ms of the test's
// clock, while the schedule asks for a request every millisecond. The
// requests scheduled meanwhile go out late; each must be timed from its
// intended send time, and the lag reported.
func TestStarvedGeneratorReportsLagAndTimesFromIntendedSends(t *testing.T) {
	plan := loadPlan(t, planHeader+`duration: 5ms
load:
  - {name: starved, rate: 1000/s, arrival: constant, target: {method: GET, path: /status}}
`)
	clock := newManualClock()
	gate := &gateTransport{arrived: make(chan string), release: make(chan struct{})}
	sink := &collect{}
	cfg := Config{
		Target: "http://127.0.0.1:1", Plan: plan, Seed: 1, Sink: sink,
		Transport: gate, Timeout: time.Minute, Epoch: clock.Now(),
		clock: clock, maxWorkers: 1,
	}
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), cfg); done <- err }()

	// vegeta's ConstantPacer schedules hit n at (n+1) ms: 1, 2, 3 and 4 ms
	// within the 5 ms window.
	clock.Advance(time.Millisecond)
	if id := <-gate.arrived; id != "starved-0" {
		t.Fatalf("first request %q, want starved-0", id)
	}
	// The first answer takes until 9 ms; requests 1..3 wait for the worker.
	clock.Advance(8 * time.Millisecond)
	gate.release <- struct{}{}
	for want := 1; want <= 3; want++ {
		<-gate.arrived
		gate.release <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ms := time.Millisecond
	want := []struct{ start, lag, latency time.Duration }{
		{1 * ms, 0, 8 * ms},
		{2 * ms, 7 * ms, 7 * ms},
		{3 * ms, 6 * ms, 6 * ms},
		{4 * ms, 5 * ms, 5 * ms},
	}
	if len(sink.rs) != len(want) {
		t.Fatalf("%d results, want %d", len(sink.rs), len(want))
	}
	for i, w := range want {
		r := sink.rs[i]
		if !r.Scheduled || r.Start != w.start || r.Lag != w.lag || r.Latency != w.latency {
			t.Errorf("result %d: scheduled %v start %v lag %v latency %v; want scheduled, start %v (intended), lag %v, latency %v (from the intended send)",
				i, r.Scheduled, r.Start, r.Lag, r.Latency, w.start, w.lag, w.latency)
		}
		if r.Workload != "starved" || r.Route != "all" {
			t.Errorf("result %d filed under workload %q route %q, want starved and all", i, r.Workload, r.Route)
		}
	}

	// The aggregator reports the lag and marks the run untrustworthy past
	// the bound.
	agg := bench.NewAggregator(0, time.Millisecond)
	agg.SetMaxScheduleLag(5 * ms)
	for _, r := range sink.rs {
		agg.Record(r)
	}
	s, err := agg.Summarize(5 * ms)
	if err != nil {
		t.Fatal(err)
	}
	lag := s.ScheduleLag
	// HDR histograms keep three significant digits: 7 ms reads 7.003.
	near := func(got, want float64) bool { return got >= want && got <= want*1.001 }
	if lag == nil || lag.Requests != 4 || !near(lag.P50MS, 5) || !near(lag.P99MS, 7) || !near(lag.MaxMS, 7) || !lag.Exceeded || lag.BoundP99MS != 5 {
		t.Fatalf("schedule lag %+v, want 4 requests, p50 5 ms, p99 7 ms, max 7 ms, exceeding the 5 ms bound", lag)
	}
	if s.Untrustworthy == "" {
		t.Error("a run past the lag bound is not marked untrustworthy")
	}
	if got := s.LatencyMS.Max; !near(got, 8) {
		t.Errorf("max latency %v ms, want 8 (from the intended send time)", got)
	}
	if w := s.Workloads["starved"]; w.ScheduleLag == nil || !near(w.ScheduleLag.MaxMS, 7) {
		t.Errorf("workload stats %+v: want its schedule lag", w)
	}
}

// TestUsersHaveNoSchedule checks that closed-loop requests carry no
// schedule: no lag, not Scheduled, so the run reports none.
func TestUsersHaveNoSchedule(t *testing.T) {
	plan := loadPlan(t, planHeader+`duration: 300ms
load:
  - {name: people, users: {count: 2, thinkTime: {type: constant, value: 50ms}}, target: {method: GET, path: /status}}
`)
	sink := &collect{}
	if _, err := Run(context.Background(), Config{Target: fakeGateway(t), Plan: plan, Seed: 1, Sink: sink}); err != nil {
		t.Fatal(err)
	}
	if len(sink.rs) == 0 {
		t.Fatal("no results")
	}
	agg := bench.NewAggregator(0, 0)
	for _, r := range sink.rs {
		if r.Scheduled || r.Lag != 0 || r.Workload != "people" {
			t.Fatalf("closed-loop result %+v: want no schedule, workload people", r)
		}
		agg.Record(r)
	}
	s, err := agg.Summarize(300 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.ScheduleLag != nil || s.Untrustworthy != "" {
		t.Errorf("closed loop: schedule lag %+v, untrustworthy %q; want none", s.ScheduleLag, s.Untrustworthy)
	}
}

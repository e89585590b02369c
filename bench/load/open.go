package load

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/internal/precise"
	"github.com/meshbench/meshbench/scenarios"
)

// Clock is where the load generator reads the time and waits: the wall
// clock in a run, a controlled one in tests.
type Clock interface {
	Now() time.Time
	// SleepUntil waits until t, and returns false when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) bool
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// SleepUntil waits with package precise: a Go timer can be a millisecond
// late, and the lateness would be every request's schedule lag.
func (wallClock) SleepUntil(ctx context.Context, t time.Time) bool { return precise.Until(ctx, t) }

// openLoop sends an open-loop workload's requests at the times of its
// arrival process and measures each from its intended send time, the time
// the schedule gave it, not from when a worker got round to sending it.
//
// Vegeta's attacker, which the load used before, stamps a hit when a
// worker picks it up: when every worker is busy the pacer's tick waits,
// the hit goes out late, and its latency starts late, so a saturated load
// generator hides exactly the queueing it should measure (coordinated
// omission, as Gil Tene named it). Here the schedule is computed from the
// pacer alone — arrival n is the time Pace, asked at arrival n−1's time,
// says hit n is due, a pure function of the pacer as vegeta's contract
// has it — and each request's Start is that time; the schedule lag,
// actual − intended send time, is recorded beside it.
//
// Requests are handed to workers, at most maxWorkers of them: past that,
// the schedule waits for a free one and the lag grows. Requests still not
// sent when the clock passes the window's end by more than the client's
// timeout are not sent: a client would have given up on them.
type openLoop struct {
	clock      Clock
	epoch      time.Time
	start, end time.Duration // the workload's window on the timeline
	timeout    time.Duration
	pacer      vegeta.Pacer
	q          *requests
	client     *http.Client
	rc         *recorder
	maxWorkers uint64
}

// openHit is one request of the schedule: its number and intended send
// time on the timeline.
type openHit struct {
	n        uint64
	intended time.Duration
}

// run sends the schedule and returns when every request sent has been
// answered, or when ctx ends.
func (o *openLoop) run(ctx context.Context) {
	if !o.clock.SleepUntil(ctx, o.epoch.Add(o.start)) {
		return
	}
	hits := make(chan openHit)
	// One goroutine records the answers, as vegeta's attacker hands its
	// results to one reader: workers waiting on the recorder's lock would
	// rather be sending.
	done := make(chan openDone, 256)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for d := range done {
			o.rc.record(d.res, o.q.meta(true, d.lag))
		}
	}()
	var wg sync.WaitGroup
	workers := uint64(0)
	addWorker := func() {
		workers++
		wg.Go(func() {
			for h := range hits {
				done <- o.send(h)
			}
		})
	}
	defer func() {
		close(hits)
		wg.Wait()
		close(done)
		<-recorded
	}()
	window := o.end - o.start
	cutoff := o.epoch.Add(o.end + o.timeout)
	elapsed := time.Duration(0) // arrival n−1's time, from the workload's start
	for n := uint64(0); ; n++ {
		wait, stop := o.pacer.Pace(elapsed, n)
		if stop {
			return
		}
		elapsed += max(wait, 0)
		if elapsed >= window {
			return
		}
		h := openHit{n: n, intended: o.start + elapsed}
		at := o.epoch.Add(h.intended)
		if !o.clock.SleepUntil(ctx, at) || o.clock.Now().After(cutoff) {
			return
		}
		select {
		case hits <- h:
			continue
		case <-ctx.Done():
			return
		default:
		}
		if workers < o.maxWorkers {
			addWorker()
		}
		select {
		case hits <- h:
		case <-ctx.Done():
			return
		}
	}
}

// openDone is an answered request of the schedule and its lag.
type openDone struct {
	res *vegeta.Result
	lag time.Duration
}

// send sends one request of the schedule, timed from its intended send
// time.
func (o *openLoop) send(h openHit) openDone {
	actual := o.clock.Now().Sub(o.epoch)
	var t vegeta.Target
	key := o.q.openKey(h.n)
	o.q.target(&t, o.q.name+"-"+strconv.FormatUint(h.n, 10), key, o.q.openClient(key))
	intended := o.epoch.Add(h.intended)
	if o.q.who != nil {
		if err := o.q.who.apply(t.Header, h.n); err != nil {
			// The consumer's credential could not be made (a token not
			// signed): the request fails here, counted, and is not sent.
			res := &vegeta.Result{Seq: h.n, Method: t.Method, URL: t.URL, Timestamp: intended, Error: "load: consumer credential: " + err.Error()}
			return openDone{res: res, lag: max(actual-h.intended, 0)}
		}
	}
	res := do(o.client, &t, h.n, intended, o.clock)
	return openDone{res: res, lag: max(actual-h.intended, 0)}
}

// openWorkers is how many workers an open-loop workload may have waiting on
// answers: enough for its peak rate over the timeout, bounded by
// maxWorkers, so that goroutines do not pile up without bound.
func openWorkers(w scenarios.Workload, pacer vegeta.Pacer, timeout time.Duration) uint64 {
	peak := pacer.Rate(0)
	if sh := w.Shape; sh != nil {
		peak = max(peak, peakRate(sh))
	}
	return uint64(math.Min(maxWorkers, math.Ceil(peak*timeout.Seconds())+64))
}

// do sends one request and describes it as vegeta's attacker does — its
// latency to the end of the body, the status, the error text, the bytes
// each way and the answer's headers — with Timestamp the given send time
// and the latency counted from it on clock. The client's transport ends
// the request with the run (clientTransport), as vegeta's requests, which
// carry no context, were ended; a context of the run's on every request
// too would register each with it, one lock for all requests in flight.
func do(c *http.Client, t *vegeta.Target, seq uint64, sent time.Time, clock Clock) *vegeta.Result {
	res := &vegeta.Result{Seq: seq, Method: t.Method, URL: t.URL, Timestamp: sent}
	defer func() { res.Latency = clock.Now().Sub(res.Timestamp) }()
	req, err := t.Request()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	res.BytesIn = uint64(n)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	if req.ContentLength > 0 {
		res.BytesOut = uint64(req.ContentLength)
	}
	res.Code = uint16(resp.StatusCode)
	if res.Code < 200 || res.Code >= 400 {
		res.Error = resp.Status
	}
	res.Headers = resp.Header
	return res
}

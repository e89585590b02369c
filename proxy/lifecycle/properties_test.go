package lifecycle

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// driven is one request as the property test's random driver sees it.
type driven struct {
	r        Request
	begun    time.Time
	out      map[int]time.Time // tries sent and not yet reported or cancelled, by send time
	answered map[int]bool      // tries the driver reported answered and still holds
	wakeAt   time.Time         // the latest Wait; zero: none
	forward  int               // the try being forwarded; 0: none
	whole    int               // the try last reported by Completed; 0: none
	answers  int               // Forward and Respond actions seen
	over     bool
	rounds   int // 1 + retries sent
	sends    int
	// committed: the driver reported Committed (a streamed body past its
	// replay buffer); no try may be sent after it.
	committed bool
}

// TestProperties drives random requests through random policies with a
// random but well-behaved caller and checks what must always hold: no more
// tries than the retry policy and hedging allow, the retry budget never
// overdrawn, one answer per request and nothing after it, deadlines never
// extended, and every unit, slot and try given back at the end.
func TestProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := setup{endpoints: rapid.IntRange(1, 4).Draw(rt, "endpoints")}
		s.balancer = rapid.SampledFrom([]string{"round_robin", "least_request", "random"}).Draw(rt, "balancer")
		if rapid.Bool().Draw(rt, "timeout") {
			s.timeout = time.Duration(rapid.IntRange(1, 200).Draw(rt, "timeoutMs")) * time.Millisecond
		}
		attempts := 1
		if rapid.Bool().Draw(rt, "retries") {
			attempts = rapid.IntRange(1, 4).Draw(rt, "attempts")
			s.retry = &retry.Policy{
				Attempts: attempts,
				RetryOn:  rapid.SliceOfNDistinct(rapid.SampledFrom(retry.Names()), 1, 3, func(n string) string { return n }).Draw(rt, "retryOn"),
				Backoff:  retry.Backoff{Base: time.Duration(rapid.IntRange(1, 20).Draw(rt, "backoffMs")) * time.Millisecond},
			}
			if slices.Contains(s.retry.RetryOn, retry.OnRetriableStatusCodes) {
				s.retry.RetriableStatusCodes = []int{409}
			}
			if rapid.Bool().Draw(rt, "perTry") {
				s.retry.PerTryTimeout = time.Duration(rapid.IntRange(1, 50).Draw(rt, "perTryMs")) * time.Millisecond
			}
		}
		ratio := -1.0
		if rapid.Bool().Draw(rt, "budget") {
			ratio = float64(rapid.IntRange(0, 10).Draw(rt, "ratioTenths")) / 10
			s.budget = &retry.BudgetConfig{Ratio: ratio, TTL: time.Hour}
		}
		maxHedges := 0
		if rapid.Bool().Draw(rt, "hedging") {
			maxHedges = rapid.IntRange(1, MaxLive-1).Draw(rt, "maxHedges")
			s.hedge = &retry.HedgeConfig{Delay: time.Duration(rapid.IntRange(1, 20).Draw(rt, "hedgeMs")) * time.Millisecond, MaxHedges: maxHedges}
		}
		if rapid.Bool().Draw(rt, "thresholds") {
			s.thresholds = &breaker.Thresholds{MaxRequests: rapid.IntRange(1, 6).Draw(rt, "maxRequests"), MaxRetries: rapid.IntRange(1, 3).Draw(rt, "maxRetries")}
		} else {
			s.thresholds = &breaker.Thresholds{MaxRequests: 1 << 20, MaxRetries: 1 << 20} // counted all the same
		}
		if rapid.Bool().Draw(rt, "breaker") {
			s.breaker = &breaker.Config{ConsecutiveFailures: rapid.IntRange(1, 5).Draw(rt, "consecutive"), SleepWindow: 30 * time.Millisecond}
		}
		if rapid.Bool().Draw(rt, "concurrency") {
			s.concurrency = &ratelimit.Config{Type: "concurrency", Limit: rapid.IntRange(1, 3).Draw(rt, "limit")}
		}
		h := newHarness(rt, s)
		h.rt.Observe, h.cl.Observe = nil, nil

		reqs := make([]*driven, rapid.IntRange(1, 6).Draw(rt, "requests"))
		begun := 0
		for step := 0; ; step++ {
			if step > 2000 {
				rt.Fatalf("requests still open after %d steps", step)
			}
			var open []*driven
			for _, d := range reqs[:begun] {
				if !d.over {
					open = append(open, d)
				}
			}
			if len(open) == 0 && begun == len(reqs) {
				break
			}
			// Time moves on, never back.
			h.at(h.now.Sub(t0) + time.Duration(rapid.IntRange(0, 10).Draw(rt, "tick"))*time.Millisecond)
			if begun < len(reqs) && (len(open) == 0 || rapid.IntRange(0, 3).Draw(rt, "arrive") == 0) {
				d := &driven{out: map[int]time.Time{}, answered: map[int]bool{}, begun: h.now}
				reqs[begun] = d
				begun++
				d.r.Begin(h.rt, h.now, Arrival{Replayable: true}, h.rng)
				drainChecked(rt, h, d, attempts, maxHedges)
				continue
			}
			d := open[rapid.IntRange(0, len(open)-1).Draw(rt, "which")]
			act(rt, h, d)
			drainChecked(rt, h, d, attempts, maxHedges)
			if ratio >= 0 {
				var extra int
				for _, o := range reqs[:begun] {
					extra += o.r.Retries() + o.r.Hedges()
				}
				if float64(extra) > math.Floor(ratio*float64(begun)+1e-9) {
					rt.Fatalf("%d retries and hedges for %d requests with a budget ratio of %v", extra, begun, ratio)
				}
			}
		}
		for _, res := range []breaker.Resource{breaker.Requests, breaker.Retries} {
			if n := h.cl.Admission.InUse(res); n != 0 {
				rt.Fatalf("%v: %d units in use after every request ended", res, n)
			}
		}
		if c, ok := h.cl.Concurrency.(interface{ InFlight() int }); ok && c.InFlight() != 0 {
			rt.Fatalf("%d concurrency slots held after every request ended", c.InFlight())
		}
	})
}

// act makes one random event happen to d, as a caller could: an answer or
// a failure of a try it holds, the end of a forwarded body, a wake-up, the
// deadline, or the client leaving.
func act(rt *rapid.T, h *harness, d *driven) {
	if d.forward != 0 {
		if rapid.IntRange(0, 9).Draw(rt, "leaveDuringBody") == 0 {
			d.r.ClientGone(h.now)
		} else {
			d.r.Ended(h.now, d.forward, rapid.IntRange(0, 4).Draw(rt, "broken") == 0)
		}
		d.over, d.forward = true, 0
		return
	}
	var tries []int
	for id := range d.out {
		if !d.answered[id] {
			tries = append(tries, id)
		}
	}
	slices.Sort(tries)
	dl, hasDL := d.r.Deadline()
	choice := rapid.IntRange(0, 9).Draw(rt, "event")
	switch {
	case choice == 0:
		d.r.ClientGone(h.now)
	case choice == 1 && hasDL:
		h.now = maxTime(h.now, dl)
		d.r.Expire(h.now)
	case choice <= 3 && !d.wakeAt.IsZero():
		h.now = maxTime(h.now, d.wakeAt)
		d.r.Wake(h.now)
	case choice == 4 && !d.committed && rapid.IntRange(0, 3).Draw(rt, "commit") == 0:
		keep := 1
		if len(tries) > 0 {
			keep = tries[rapid.IntRange(0, len(tries)-1).Draw(rt, "keep")]
		}
		d.committed = true
		d.r.Committed(h.now, keep)
	case len(tries) > 0:
		id := tries[rapid.IntRange(0, len(tries)-1).Draw(rt, "try")]
		if rapid.Bool().Draw(rt, "answers") {
			status := rapid.SampledFrom([]int{200, 200, 404, 409, 500, 502, 503, 504}).Draw(rt, "status")
			d.answered[id] = true
			d.whole = 0
			if rapid.Bool().Draw(rt, "whole") {
				d.whole = id
				d.r.Completed(h.now, id, status)
				return
			}
			d.r.Answered(h.now, id, status)
			return
		}
		f := rapid.SampledFrom([]Failure{Timeout, Reset, Refused, ConnectTimeout, Overflow}).Draw(rt, "failure")
		delete(d.out, id)
		d.r.Failed(h.now, id, f)
	case !d.wakeAt.IsZero():
		h.now = maxTime(h.now, d.wakeAt)
		d.r.Wake(h.now)
	case hasDL:
		h.now = maxTime(h.now, dl)
		d.r.Expire(h.now)
	default:
		d.r.ClientGone(h.now)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// drainChecked takes d's actions and checks each against the rules.
func drainChecked(rt *rapid.T, h *harness, d *driven, attempts, maxHedges int) {
	dl, hasDL := d.r.Deadline()
	for _, a := range d.r.Actions() {
		if d.answers > 0 {
			rt.Fatalf("%v after the answer", describe(a))
		}
		switch a.Kind {
		case Send:
			if d.committed {
				rt.Fatalf("try %d sent after the request was committed", a.Try)
			}
			if _, dup := d.out[a.Try]; dup {
				rt.Fatalf("try %d sent twice", a.Try)
			}
			d.out[a.Try] = h.now
			d.sends++
			if !a.Hedge {
				d.rounds++
			}
			if d.rounds > attempts {
				rt.Fatalf("round %d of %d attempts", d.rounds, attempts)
			}
			if d.sends > attempts*(1+maxHedges) {
				rt.Fatalf("%d tries for %d attempts of 1+%d copies", d.sends, attempts, maxHedges)
			}
			due := h.now.Add(a.Timeout)
			if hasDL && (a.Timeout <= 0 || due.After(dl)) {
				rt.Fatalf("try %d due %v, past the request's deadline %v", a.Try, due, dl)
			}
			if pt := h.rt.Retry; pt != nil && pt.PerTryTimeout > 0 && (a.Timeout <= 0 || a.Timeout > pt.PerTryTimeout) {
				rt.Fatalf("try %d due in %v, past its per-try timeout", a.Try, a.Timeout)
			}
			if !hasDL && !a.PerTry && a.Timeout != 0 {
				rt.Fatalf("try %d has a deadline the request does not", a.Try)
			}
		case Wait:
			if a.Timeout < 0 {
				rt.Fatalf("wait of %v", a.Timeout)
			}
			d.wakeAt = h.now.Add(a.Timeout)
		case Cancel:
			if _, ok := d.out[a.Try]; !ok {
				rt.Fatalf("cancel of try %d, which is not out", a.Try)
			}
			delete(d.out, a.Try)
			delete(d.answered, a.Try)
		case Forward:
			if !d.answered[a.Try] {
				rt.Fatalf("forward of try %d, which did not answer", a.Try)
			}
			d.answers++
			d.forward = a.Try
			for id := range d.out {
				if id != a.Try {
					rt.Fatalf("try %d still out when try %d is forwarded", id, a.Try)
				}
			}
		case Respond:
			d.answers++
			d.over = true
			if len(d.out) > 0 {
				rt.Fatalf("tries %v still out at the answer %d %s", keys(d.out), a.Status, a.Reason)
			}
			if a.Reason == RequestTimeout && hasDL && h.now.Before(dl) {
				rt.Fatalf("request_timeout at %v, before the deadline %v", h.now, dl)
			}
		}
	}
	if d.forward != 0 && d.r.Over() {
		// Only Completed ends a forwarded answer with its own event.
		if d.forward != d.whole {
			rt.Fatalf("try %d forwarded and over, but try %d was the one completed", d.forward, d.whole)
		}
		d.over, d.forward = true, 0
	}
	if d.r.Over() != (d.over && d.forward == 0) && !(d.forward != 0 && !d.r.Over()) {
		rt.Fatalf("Over() = %v, driver thinks over=%v forward=%d", d.r.Over(), d.over, d.forward)
	}
}

func keys(m map[int]time.Time) string {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return fmt.Sprint(ks)
}

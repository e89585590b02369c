package lifecycle

// The Request's steps: the rounds and tries it sends, how each try ends,
// and the answer. The exported events in request.go call these.

import (
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// startRound sends a round's first try and, with hedging, asks to be woken
// for the first hedge.
func (r *Request) startRound(now time.Time, retrying bool) {
	r.roundHedges = 0
	if !r.send(now, retrying, false) {
		return
	}
	if h := r.rt.Hedger; h != nil && r.replayable {
		r.hedging = true
		r.wait(r.rel + h.Delay())
	}
}

// hedge sends the round's next hedged copy, if one is still wanted, within
// the retry budget.
func (r *Request) hedge(now time.Time) {
	h := r.rt.Hedger
	if !r.hedging || !r.replayable || r.pending == 0 || int(r.roundHedges) >= h.MaxHedges() || len(r.tries) >= MaxLive ||
		r.hasDeadline && r.rel >= r.deadline {
		r.hedging = false
		return
	}
	if b := r.rt.Budget; b != nil && !b.TryWithdraw(now) {
		if r.rt.Observe != nil {
			r.observe(Event{Kind: EventRefused, Time: now, Hedge: true, Reason: RetryBudget})
		}
		r.hedging = false
		return
	}
	if !r.send(now, false, true) {
		return
	}
	if int(r.roundHedges) < h.MaxHedges() {
		r.wait(r.rel + h.Delay())
	} else {
		r.hedging = false
	}
}

// send asks the breaker, max_requests and the balancer for one try and
// queues it. A refusal ends a hedge's round of hedging, or answers the
// request when the try is the round's first.
func (r *Request) send(now time.Time, retrying, hedge bool) bool {
	c := r.cl
	if c.Breaker != nil && !c.Breaker.Allow(now) {
		return r.refused503(now, CircuitOpen, retrying, hedge)
	}
	if c.Admission != nil && !c.Admission.Acquire(breaker.Requests) {
		return r.refused503(now, OverflowReason, retrying, hedge)
	}
	p, err := c.Balancer.Pick(now, r.key, r.rng)
	if err != nil {
		if c.Admission != nil {
			c.Admission.Release(breaker.Requests)
		}
		return r.refused503(now, NoHealthyUpstream, retrying, hedge)
	}
	r.sent++
	if len(r.tries) == cap(r.tries) {
		more := make([]try, len(r.tries), MaxLive) // once per Request: it is kept
		copy(more, r.tries)
		r.tries = more
	}
	r.tries = r.tries[:len(r.tries)+1]
	t := &r.tries[len(r.tries)-1]
	t.pick, t.start, t.id, t.status, t.grpc, t.flags = p, r.rel, r.sent, 0, 0, 0
	if retrying {
		t.flags |= isRetry
		if r.heldRetry {
			t.flags |= holdsRetry
			r.heldRetry = false
		}
		r.retries++
	}
	if hedge {
		t.flags |= isHedge
		r.hedges++
		r.roundHedges++
	}
	t.deadline = r.deadline // zero when there is none
	if rp := r.rt.Retry; rp != nil && rp.PerTryTimeout > 0 {
		if pt := r.rel + rp.PerTryTimeout; !r.hasDeadline || pt < r.deadline {
			t.deadline = pt
			t.flags |= perTry
		}
	}
	r.pending++
	var timeout time.Duration
	if t.deadline > 0 {
		timeout = t.deadline - r.rel
	}
	a := &r.acts[r.nacts]
	*a = Action{}
	a.Kind, a.Try, a.Endpoint, a.Timeout = Send, int(t.id), p.Ref(), timeout
	a.PerTry, a.Retry, a.Hedge = t.flags&perTry != 0, retrying, hedge
	r.nacts++
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventSent, Time: now, Try: int(t.id), Endpoint: p.Ref().ID, Retry: retrying, Hedge: hedge})
	}
	return true
}

// refused503 handles a try that could not be sent.
func (r *Request) refused503(now time.Time, reason string, retrying, hedge bool) bool {
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventRefused, Time: now, Retry: retrying, Hedge: hedge, Reason: reason})
	}
	if hedge {
		r.hedging = false
		return false
	}
	r.respond(now, 503, reason, NoFailure)
	return false
}

// roundOver decides, when every try of the round has failed, whether the
// request is retried (Envoy's order: retry_on and attempts, a back-off
// that ends before the deadline, the retry budget, max_retries) or
// answered with the round's latest failure.
func (r *Request) roundOver(now time.Time) {
	r.hedging = false
	rp := r.rt.Retry
	if rp == nil || !r.replayable || !rp.ShouldRetry(int(r.round), r.last.retryOutcome()) {
		r.answerLast(now)
		return
	}
	wait := rp.BackoffFor(int(r.round), r.rng)
	if r.hasDeadline && r.rel+wait >= r.deadline {
		r.answerLast(now)
		return
	}
	if b := r.rt.Budget; b != nil && !b.TryWithdraw(now) {
		r.notRetried(now, noBudget)
		return
	}
	if a := r.cl.Admission; a != nil {
		if !a.Acquire(breaker.Retries) {
			r.notRetried(now, noRetryUnit)
			return
		}
		r.heldRetry = true
	}
	if r.parked != 0 {
		r.drop(now, r.parked)
	}
	r.round++
	if wait > 0 {
		r.phase = backingOff
		r.wait(r.rel + wait)
		return
	}
	r.startRound(now, true)
}

func (r *Request) notRetried(now time.Time, why notRetried) {
	r.refused = why
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventRefused, Time: now, Retry: true, Reason: r.NotRetried()})
	}
	r.answerLast(now)
}

// answerLast answers with the round's latest failure: its answer when it
// was one, else the proxy's own.
func (r *Request) answerLast(now time.Time) {
	if r.parked != 0 {
		t := r.find(int(r.parked))
		r.parked = 0
		r.forwardTry(now, t)
		return
	}
	status, reason := r.last.failure.answer()
	r.respond(now, status, reason, r.last.failure)
}

// win answers with t: the copies still out are cancelled unrecorded, a
// held retryable answer is recorded and dropped.
func (r *Request) win(now time.Time, t *try) {
	id := t.id
	if len(r.tries) > 1 {
		for i := 0; i < len(r.tries); {
			switch o := &r.tries[i]; {
			case o.id == id:
				i++
			case o.flags&answered != 0:
				r.drop(now, o.id)
			default:
				r.cancel(now, o)
			}
		}
		t = r.find(int(id))
	}
	r.parked = 0
	r.forwardTry(now, t)
}

func (r *Request) forwardTry(now time.Time, t *try) {
	r.phase = forwarding
	r.forward = t.id
	r.waiting = false
	r.releaseRetry()
	r.push(Forward, t.id)
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventForwarded, Time: now, Try: int(t.id), Endpoint: t.pick.Ref().ID, Status: int(t.status), GRPC: int(t.grpc)})
	}
}

// drop records a held answer that will not be forwarded and cancels it.
func (r *Request) drop(now time.Time, id int32) {
	t := r.find(int(id))
	if id == r.parked {
		r.parked = 0
	}
	r.push(Cancel, id)
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventCancelled, Time: now, Try: int(id), Endpoint: t.pick.Ref().ID})
	}
	r.end(now, t, outcome{status: int32(t.status), grpc: t.grpc}, true, t.latency)
}

// cancel stops a try still out, unrecorded.
func (r *Request) cancel(now time.Time, t *try) {
	r.pending--
	r.push(Cancel, t.id)
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventCancelled, Time: now, Try: int(t.id), Endpoint: t.pick.Ref().ID})
	}
	r.end(now, t, outcome{}, false, r.rel-t.start)
}

// cancelAll stops every try, unrecorded but for held answers.
func (r *Request) cancelAll(now time.Time) {
	for len(r.tries) > 0 {
		if t := &r.tries[0]; t.flags&answered != 0 {
			r.drop(now, t.id)
		} else {
			r.cancel(now, t)
		}
	}
	r.parked = 0
}

// expire fails every try still out as a timeout and answers 504.
func (r *Request) expire(now time.Time) {
	for len(r.tries) > 0 {
		t := &r.tries[0]
		if t.flags&answered != 0 {
			r.drop(now, t.id)
			continue
		}
		// Out at the deadline: it failed as a timeout, as it would have had
		// the caller seen its own timer fire first.
		r.pending--
		r.push(Cancel, t.id)
		if r.rt.Observe != nil {
			r.observe(Event{Kind: EventFailed, Time: now, Try: int(t.id), Endpoint: t.pick.Ref().ID, Failure: Timeout})
		}
		r.end(now, t, outcome{failure: Timeout}, true, r.rel-t.start)
	}
	r.parked = 0
	r.respond(now, 504, RequestTimeout, Timeout)
}

// end closes the lifecycle's side of a try: the balancer's Done, the
// thresholds' units and, when record, its outcome for outlier detection
// and the breaker. t is invalid afterwards.
func (r *Request) end(now time.Time, t *try, o outcome, record bool, latency time.Duration) {
	c := r.cl
	err := error(nil)
	switch {
	case !record:
		err = errTryCancelled
	case o.failed():
		err = errTryFailed
	}
	t.pick.Done(now, latency, err)
	if a := c.Admission; a != nil {
		a.Release(breaker.Requests)
		if t.flags&holdsRetry != 0 {
			a.Release(breaker.Retries)
		}
	}
	if record {
		if c.Outlier != nil {
			c.record(now, t.pick.Ref().ID, o.outlierOutcome())
		}
		if c.Breaker != nil {
			c.breakerRecord(now, !o.failed())
		}
	}
	// Remove the slot, keeping the others in the order they were sent.
	n := len(r.tries)
	if n == 1 {
		r.tries = r.tries[:0]
		return
	}
	i := 0
	for &r.tries[i] != t {
		i++
	}
	if i < n-1 {
		copy(r.tries[i:n], r.tries[i+1:n])
	}
	r.tries = r.tries[:n-1]
}

// respond ends the request with the proxy's own answer.
func (r *Request) respond(now time.Time, status int, reason string, f Failure) {
	r.phase = done
	r.waiting = false
	r.releaseRetry()
	r.releaseConc(now, false)
	a := r.push(Respond, 0)
	a.Status, a.Reason, a.Failure, a.RetryAfter = status, reason, f, r.retryAfter
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventResponded, Time: now, Status: status, Reason: reason, Failure: f})
	}
}

// refuse answers a request its route or cluster does not admit.
func (r *Request) refuse(now time.Time, status int, reason string) {
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventRefused, Time: now, Reason: reason})
	}
	r.respond(now, status, reason, NoFailure)
}

func (r *Request) releaseRetry() {
	if r.heldRetry {
		r.heldRetry = false
		r.cl.Admission.Release(breaker.Retries)
	}
}

func (r *Request) releaseConc(now time.Time, success bool) {
	if r.conc {
		r.conc = false
		r.cl.Concurrency.Release(now, r.rel, success)
	}
}

func (r *Request) retryable(o outcome) bool {
	rp := r.rt.Retry
	if rp == nil || !r.replayable {
		return false
	}
	if o.failure == NoFailure && o.status < 400 && o.grpc == 0 && len(rp.RetriableStatusCodes) == 0 {
		return false // no condition but retriable-status-codes or a gRPC one covers an answer below 400
	}
	return rp.Retryable(o.retryOutcome())
}

// wait asks to be woken at at (since the start).
func (r *Request) wait(at time.Duration) {
	r.wakeAt, r.waiting = at, true
	r.push(Wait, 0).Timeout = at - r.rel
}

// at takes the time of an event: now - start. Times read from the clock
// (the proxy's) carry a monotonic reading, which time.Time.Sub uses; for
// times that have none (the simulator's virtual ones) a difference of Unix
// nanoseconds is exact and skips Sub's overflow checks, which cost more
// than the rest of a request's lifecycle.
func (r *Request) at(now time.Time) {
	if r.mono {
		r.rel = now.Sub(r.start)
	} else {
		r.rel = time.Duration(now.UnixNano() - r.startNs)
	}
}

// push adds an action for the caller and returns it to be filled in.
func (r *Request) push(kind ActionKind, try int32) *Action {
	a := &r.acts[r.nacts]
	r.nacts++
	*a = Action{Kind: kind, Try: int(try)}
	return a
}

func (r *Request) find(id int) *try {
	ts := r.tries
	for i := range ts {
		if ts[i].id == int32(id) {
			return &ts[i]
		}
	}
	return nil
}

// observe completes an event with the route's and cluster's names and
// reports it; callers check that someone listens before they build it.
func (r *Request) observe(e Event) {
	e.Route = r.rt.Name
	if r.cl != nil {
		e.Cluster = r.cl.Name
	}
	r.rt.Observe(e)
}

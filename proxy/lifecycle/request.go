package lifecycle

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// Request is the lifecycle of one request (see the package comment). The
// zero value is ready for Begin; after the request is over, Begin starts
// the next one on the same value. A Request is driven by one goroutine at
// a time and must not be copied once begun.
type Request struct {
	rt          *Route
	cl          *Cluster
	rng         *rand.Rand
	start       time.Time
	deadline    time.Time
	hasDeadline bool
	replayable  bool
	key         uint64

	phase       phase
	round       int // retry round, from 1: a try and its hedged copies
	sent        int // tries sent; the latest try's number
	retries     int
	hedges      int
	roundHedges int
	hedging     bool // this round may still send hedges
	pending     int  // tries out and waiting for their answer's head
	live        [MaxLive]try
	nlive       int
	parked      int     // a retryable answer kept as the round's latest outcome; 0: none
	last        outcome // the round's latest failure
	forward     int     // the try whose answer the client gets
	heldRetry   bool    // a max_retries unit is taken for the coming retry
	conc        bool    // a concurrency slot is held
	waiting     bool
	wakeAt      time.Time

	status     int
	reason     string
	failure    Failure
	retryAfter time.Duration
	refused    string // why the last round was not retried

	q  [queueLen]queued
	qh int
	qn int
}

type phase uint8

const (
	idle       phase = iota
	trying           // tries are out, or about to be
	backingOff       // waiting out a retry's back-off
	forwarding       // the client gets a try's answer; Ended is due
	done
)

// try is one try out, or whose answer is held. Times are offsets from the
// request's start, to keep the slots small.
type try struct {
	id          int
	pick        balancer.Pick
	start       time.Duration
	deadline    time.Duration
	answeredAt  time.Duration
	status      int
	hasDeadline bool
	perTry      bool
	isRetry     bool // sent as a retry
	holdsRetry  bool // holds a max_retries unit
	hedge       bool
	answered    bool
}

// outcome is what a try came to: an answer's status, a failure, or an
// answer whose body broke.
type outcome struct {
	status  int
	failure Failure
	broken  bool
}

func (o outcome) failed() bool { return o.failure != NoFailure || o.broken || o.status >= 500 }

func (o outcome) retryOutcome() retry.Outcome {
	return retry.Outcome{Status: o.status, Err: o.failure.retryKind()}
}

// outlierOutcome is the outcome as Envoy's outlier detection sees it: no
// answer (or a broken one) is a local-origin failure, an answer goes by
// its status.
func (o outcome) outlierOutcome() outlier.Outcome {
	if o.failure != NoFailure || o.broken {
		return outlier.LocalOriginFailure
	}
	return outlier.FromStatus(o.status)
}

// Errors handed to Pick.Done; the balancers take them for symmetry and
// ignore them (failures are outlier detection's business).
var (
	errTryFailed    = errors.New("lifecycle: try failed")
	errTryCancelled = errors.New("lifecycle: try cancelled")
)

// queued is an action waiting for Next.
type queued struct {
	kind ActionKind
	try  int
}

// queueLen bounds the actions one event can queue: a Cancel per try out
// and an answer, or a Send and a Wait.
const queueLen = MaxLive + 4

// Begin starts the lifecycle of a request that arrived at now on rt: an
// expired caller deadline, the route's limits, the choice of cluster, its
// concurrency limiter, the retry budget's deposit and the first try. rng
// supplies the randomness (weighted clusters, balancer picks, back-off
// jitter).
func (r *Request) Begin(rt *Route, now time.Time, in Arrival, rng *rand.Rand) {
	*r = Request{rt: rt, rng: rng, start: now, key: in.Key, replayable: in.Replayable, phase: trying, round: 1}
	if in.HasBudget && in.Budget <= 0 {
		r.respond(now, 504, RequestTimeout, NoFailure)
		return
	}
	for i := range rt.Limits {
		l := &rt.Limits[i]
		var d ratelimit.Decision
		if l.Keyed != nil {
			d = l.Keyed.Allow(now, in.Consumer)
		} else {
			d = l.Limiter.Allow(now)
		}
		if !d.Allowed {
			r.retryAfter = d.RetryAfter
			r.refuse(now, 429, l.Reason)
			return
		}
	}
	r.cl = rt.pick(rng)
	if c := r.cl.Concurrency; c != nil {
		if !c.Acquire(now) {
			r.refuse(now, 503, ConcurrencyLimited)
			return
		}
		r.conc = true
	}
	timeout := rt.Timeout
	if in.HasBudget && (timeout <= 0 || in.Budget < timeout) {
		timeout = in.Budget
	}
	if timeout > 0 {
		r.deadline, r.hasDeadline = now.Add(timeout), true
	}
	if rt.Budget != nil {
		rt.Budget.Deposit(now)
	}
	r.startRound(now, false)
}

// Answered reports that try's answer head arrived at now with status.
func (r *Request) Answered(now time.Time, id, status int) {
	t := r.find(id)
	if t == nil || t.answered || r.phase != trying {
		return
	}
	t.answered, t.status, t.answeredAt = true, status, now.Sub(r.start)
	r.pending--
	r.observe(Event{Kind: EventAnswered, Time: now, Try: t.id, Endpoint: t.pick.Endpoint().ID, Status: status})
	if h := r.rt.Hedger; h != nil && status < 500 {
		h.Observe(now, t.answeredAt-t.start)
	}
	o := outcome{status: status}
	if !r.retryable(o) {
		r.win(now, t)
		return
	}
	if r.parked != 0 {
		r.drop(now, r.parked)
	}
	r.parked, r.last = id, o
	if r.pending == 0 {
		r.roundOver(now)
	}
}

// Failed reports that try ended at now without an answer.
func (r *Request) Failed(now time.Time, id int, f Failure) {
	t := r.find(id)
	if t == nil || t.answered || r.phase != trying {
		return
	}
	r.pending--
	r.observe(Event{Kind: EventFailed, Time: now, Try: t.id, Endpoint: t.pick.Endpoint().ID, Failure: f})
	o := outcome{failure: f}
	switch {
	case f.fatal():
		// A local refusal or the client's fault: nobody upstream is to
		// blame, and nothing else can answer.
		r.end(now, t, o, false, now.Sub(r.start)-t.start)
		r.cancelAll(now)
		status, reason := f.answer()
		r.respond(now, status, reason, f)
		return
	case f == Timeout && r.hasDeadline && !now.Before(r.deadline):
		r.end(now, t, o, true, now.Sub(r.start)-t.start)
		r.expire(now)
		return
	}
	r.end(now, t, o, true, now.Sub(r.start)-t.start)
	if r.parked != 0 {
		r.drop(now, r.parked)
	}
	r.last = o
	if r.pending == 0 {
		r.roundOver(now)
	}
}

// Ended reports that the body of the forwarded try's answer ended at now,
// complete or, with broken, cut short by the upstream (or the request's
// deadline). It is the try's outcome for outlier detection and the breaker.
func (r *Request) Ended(now time.Time, id int, broken bool) {
	if r.phase != forwarding || id != r.forward {
		return
	}
	t := r.find(id)
	if t == nil {
		return
	}
	o := outcome{status: t.status, broken: broken}
	r.end(now, t, o, true, now.Sub(r.start)-t.start)
	r.releaseConc(now, !o.failed())
	r.phase = done
}

// Wake is called at or after the Deadline of the latest Wait: a retry's
// back-off is over, or a hedge is due. Early or superseded wake-ups are
// ignored.
func (r *Request) Wake(now time.Time) {
	if !r.waiting || now.Before(r.wakeAt) {
		return
	}
	r.waiting = false
	switch r.phase {
	case backingOff:
		r.phase = trying
		r.startRound(now, true)
	case trying:
		r.hedge(now)
	}
}

// Expire reports that the request's deadline (Deadline) has passed before
// an answer: every try out fails as a timeout and the client gets 504
// request_timeout. An answer already being forwarded is the caller's to
// cut (Ended with broken).
func (r *Request) Expire(now time.Time) {
	if (r.phase != trying && r.phase != backingOff) || !r.hasDeadline || now.Before(r.deadline) {
		return
	}
	r.expire(now)
}

// ClientGone reports that the client went away at now (or that the caller
// gives up on the request for reasons of its own). Every try is stopped
// unrecorded; before an answer the request ends with 499 client_closed,
// which is logged, not written.
func (r *Request) ClientGone(now time.Time) {
	switch r.phase {
	case idle, done:
		return
	case forwarding:
		if t := r.find(r.forward); t != nil {
			r.end(now, t, outcome{}, false, now.Sub(r.start)-t.start)
		}
		r.releaseConc(now, false)
		r.phase = done
		return
	}
	r.cancelAll(now)
	r.respond(now, StatusClientClosed, ClientClosed, NoFailure)
}

// Next returns the next thing to do, or an Action of kind None.
func (r *Request) Next() Action {
	for r.qn > 0 {
		e := r.q[r.qh]
		r.qh = (r.qh + 1) % queueLen
		r.qn--
		switch e.kind {
		case Send:
			t := r.find(e.try)
			if t == nil {
				continue
			}
			a := Action{Kind: Send, Try: t.id, Endpoint: t.pick.Endpoint(), PerTry: t.perTry, Retry: t.isRetry, Hedge: t.hedge}
			if t.hasDeadline {
				a.Deadline = r.start.Add(t.deadline)
			}
			return a
		case Wait:
			return Action{Kind: Wait, Deadline: r.wakeAt}
		case Respond:
			return Action{Kind: Respond, Status: r.status, Reason: r.reason, Failure: r.failure, RetryAfter: r.retryAfter}
		default:
			return Action{Kind: e.kind, Try: e.try}
		}
	}
	return Action{}
}

// Cluster returns the cluster the request goes to; nil before one was
// chosen (a request refused by a limit).
func (r *Request) Cluster() *Cluster { return r.cl }

// Deadline returns the request's deadline, if it has one.
func (r *Request) Deadline() (time.Time, bool) { return r.deadline, r.hasDeadline }

// Retries and Hedges count the retries and hedged copies sent.
func (r *Request) Retries() int { return r.retries }
func (r *Request) Hedges() int  { return r.hedges }

// Tries counts every try sent.
func (r *Request) Tries() int { return r.sent }

// NotRetried says why the last failed round was not retried, when a retry
// budget or the max_retries threshold refused it; "" otherwise.
func (r *Request) NotRetried() string { return r.refused }

// Over reports whether the request has nothing more to do: answered with
// the proxy's own answer, or its forwarded answer ended.
func (r *Request) Over() bool { return r.phase == done }

// startRound sends a round's first try and, with hedging, asks to be woken
// for the first hedge.
func (r *Request) startRound(now time.Time, isRetry bool) {
	r.roundHedges = 0
	if !r.send(now, isRetry, false) {
		return
	}
	if h := r.rt.Hedger; h != nil && r.replayable {
		r.hedging = true
		r.wait(now.Add(h.Delay()))
	}
}

// hedge sends the round's next hedged copy, if one is still wanted, within
// the retry budget.
func (r *Request) hedge(now time.Time) {
	h := r.rt.Hedger
	if !r.hedging || r.pending == 0 || r.roundHedges >= h.MaxHedges() || r.nlive >= MaxLive {
		r.hedging = false
		return
	}
	if b := r.rt.Budget; b != nil && !b.TryWithdraw(now) {
		r.observe(Event{Kind: EventRefused, Time: now, Hedge: true, Reason: RetryBudget})
		r.hedging = false
		return
	}
	if !r.send(now, false, true) {
		return
	}
	if r.roundHedges < h.MaxHedges() {
		r.wait(now.Add(h.Delay()))
	} else {
		r.hedging = false
	}
}

// send asks the breaker, max_requests and the balancer for one try and
// queues it. A refusal ends a hedge's round of hedging, or answers the
// request when the try is the round's first.
func (r *Request) send(now time.Time, isRetry, hedge bool) bool {
	c := r.cl
	if c.Breaker != nil && !c.Breaker.Allow(now) {
		return r.refused503(now, CircuitOpen, isRetry, hedge)
	}
	if c.Admission != nil && !c.Admission.Acquire(breaker.Requests) {
		return r.refused503(now, OverflowReason, isRetry, hedge)
	}
	p, err := c.Balancer.Pick(now, r.key, r.rng)
	if err != nil {
		if c.Admission != nil {
			c.Admission.Release(breaker.Requests)
		}
		return r.refused503(now, NoHealthyUpstream, isRetry, hedge)
	}
	r.sent++
	t := &r.live[r.nlive]
	r.nlive++
	*t = try{id: r.sent, pick: p, start: now.Sub(r.start), isRetry: isRetry, holdsRetry: isRetry && r.heldRetry, hedge: hedge}
	if isRetry {
		r.heldRetry = false
		r.retries++
	}
	if hedge {
		r.hedges++
		r.roundHedges++
	}
	dl, has := r.deadline, r.hasDeadline
	if rp := r.rt.Retry; rp != nil && rp.PerTryTimeout > 0 {
		if pt := now.Add(rp.PerTryTimeout); !has || pt.Before(dl) {
			dl, has, t.perTry = pt, true, true
		}
	}
	if has {
		t.deadline, t.hasDeadline = dl.Sub(r.start), true
	}
	r.pending++
	r.push(Send, t.id)
	r.observe(Event{Kind: EventSent, Time: now, Try: t.id, Endpoint: p.Endpoint().ID, Retry: isRetry, Hedge: hedge})
	return true
}

// refused503 handles a try that could not be sent.
func (r *Request) refused503(now time.Time, reason string, isRetry, hedge bool) bool {
	r.observe(Event{Kind: EventRefused, Time: now, Retry: isRetry, Hedge: hedge, Reason: reason})
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
	if rp == nil || !r.replayable || !rp.ShouldRetry(r.round, r.last.retryOutcome()) {
		r.answerLast(now)
		return
	}
	wait := rp.BackoffFor(r.round, r.rng)
	if r.hasDeadline && !now.Add(wait).Before(r.deadline) {
		r.answerLast(now)
		return
	}
	if b := r.rt.Budget; b != nil && !b.TryWithdraw(now) {
		r.notRetried(now, RetryBudget)
		return
	}
	if a := r.cl.Admission; a != nil {
		if !a.Acquire(breaker.Retries) {
			r.notRetried(now, OverflowReason)
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
		r.wait(now.Add(wait))
		return
	}
	r.startRound(now, true)
}

func (r *Request) notRetried(now time.Time, reason string) {
	r.refused = reason
	r.observe(Event{Kind: EventRefused, Time: now, Retry: true, Reason: reason})
	r.answerLast(now)
}

// answerLast answers with the round's latest failure: its answer when it
// was one, else the proxy's own.
func (r *Request) answerLast(now time.Time) {
	if r.parked != 0 {
		t := r.find(r.parked)
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
	for i := 0; i < r.nlive; {
		switch o := &r.live[i]; {
		case o.id == id:
			i++
		case o.answered:
			r.drop(now, o.id)
		default:
			r.cancel(now, o)
		}
	}
	r.parked = 0
	r.forwardTry(now, r.find(id))
}

func (r *Request) forwardTry(now time.Time, t *try) {
	r.phase = forwarding
	r.forward = t.id
	r.waiting = false
	r.releaseRetry()
	r.push(Forward, t.id)
	r.observe(Event{Kind: EventForwarded, Time: now, Try: t.id, Endpoint: t.pick.Endpoint().ID, Status: t.status})
}

// drop records a held answer that will not be forwarded and cancels it.
func (r *Request) drop(now time.Time, id int) {
	t := r.find(id)
	if id == r.parked {
		r.parked = 0
	}
	r.push(Cancel, id)
	r.observe(Event{Kind: EventCancelled, Time: now, Try: id, Endpoint: t.pick.Endpoint().ID})
	r.end(now, t, outcome{status: t.status}, true, t.answeredAt-t.start)
}

// cancel stops a try still out, unrecorded.
func (r *Request) cancel(now time.Time, t *try) {
	r.pending--
	r.push(Cancel, t.id)
	r.observe(Event{Kind: EventCancelled, Time: now, Try: t.id, Endpoint: t.pick.Endpoint().ID})
	r.end(now, t, outcome{}, false, now.Sub(r.start)-t.start)
}

// cancelAll stops every try, unrecorded but for held answers.
func (r *Request) cancelAll(now time.Time) {
	for r.nlive > 0 {
		if t := &r.live[0]; t.answered {
			r.drop(now, t.id)
		} else {
			r.cancel(now, t)
		}
	}
	r.parked = 0
}

// expire fails every try still out as a timeout and answers 504.
func (r *Request) expire(now time.Time) {
	for r.nlive > 0 {
		t := &r.live[0]
		if t.answered {
			r.drop(now, t.id)
			continue
		}
		r.pending--
		r.push(Cancel, t.id)
		r.observe(Event{Kind: EventCancelled, Time: now, Try: t.id, Endpoint: t.pick.Endpoint().ID})
		r.end(now, t, outcome{failure: Timeout}, true, now.Sub(r.start)-t.start)
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
		if t.holdsRetry {
			a.Release(breaker.Retries)
		}
	}
	if record {
		c.record(now, t.pick.Endpoint().ID, o.outlierOutcome())
		if c.Breaker != nil {
			c.breakerRecord(now, !o.failed())
		}
	}
	// Remove the slot, keeping the others in the order they were sent.
	i := 0
	for &r.live[i] != t {
		i++
	}
	copy(r.live[i:r.nlive], r.live[i+1:r.nlive])
	r.nlive--
	r.live[r.nlive] = try{}
}

// respond ends the request with the proxy's own answer.
func (r *Request) respond(now time.Time, status int, reason string, f Failure) {
	r.status, r.reason, r.failure = status, reason, f
	r.phase = done
	r.waiting = false
	r.releaseRetry()
	r.releaseConc(now, false)
	r.push(Respond, 0)
	r.observe(Event{Kind: EventResponded, Time: now, Status: status, Reason: reason, Failure: f})
}

// refuse answers a request its route or cluster does not admit.
func (r *Request) refuse(now time.Time, status int, reason string) {
	r.observe(Event{Kind: EventRefused, Time: now, Reason: reason})
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
		r.cl.Concurrency.Release(now, now.Sub(r.start), success)
	}
}

func (r *Request) retryable(o outcome) bool {
	return r.rt.Retry != nil && r.replayable && r.rt.Retry.Retryable(o.retryOutcome())
}

func (r *Request) wait(at time.Time) {
	r.wakeAt, r.waiting = at, true
	r.push(Wait, 0)
}

func (r *Request) push(kind ActionKind, try int) {
	r.q[(r.qh+r.qn)%queueLen] = queued{kind: kind, try: try}
	r.qn++
}

func (r *Request) find(id int) *try {
	for i := 0; i < r.nlive; i++ {
		if r.live[i].id == id {
			return &r.live[i]
		}
	}
	return nil
}

func (r *Request) observe(e Event) {
	if r.rt.Observe == nil {
		return
	}
	e.Route = r.rt.Name
	if r.cl != nil {
		e.Cluster = r.cl.Name
	}
	r.rt.Observe(e)
}

package lifecycle

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// Request is the lifecycle of one request (see the package comment). The
// zero value is ready for Begin; after the request is over, Begin starts
// the next one on the same value. A Request is driven by one goroutine at
// a time and must not be copied once begun.
type Request struct {
	// The fields are in the order an event reads them, so that the
	// common one touches few cache lines: a simulation holds hundreds of
	// thousands of Requests, most of them untouched for milliseconds.
	rt   *Route
	cl   *Cluster
	acts *ActionBuffer // what the latest event asks for: acts[:nacts]
	// tries are the tries out or whose answer is held, in the order sent.
	// They live in inline unless many hedges needed more room, which is
	// then kept for the next requests.
	tries []try
	state
	inline [2]try
	rng    *rand.Rand
	start  time.Time // when Begin was called; the other times count from it
}

// state is what Begin resets at once: it holds no pointers, so that is a
// plain clear.
type state struct {
	phase       phase
	nacts       uint8
	hasDeadline bool
	replayable  bool
	mono        bool // start has a monotonic clock reading (see at)
	hedging     bool // this round may still send hedges
	heldRetry   bool // a max_retries unit is taken for the coming retry
	conc        bool // a concurrency slot is held
	waiting     bool
	refused     notRetried    // why the last failed round was not retried
	pending     int32         // tries out and waiting for their answer's head
	parked      int32         // a retryable answer kept as the round's latest outcome; 0: none
	forward     int32         // the try whose answer the client gets
	sent        int32         // tries sent; the latest try's number
	round       int32         // retry round, from 1: a try and its hedged copies
	rel         time.Duration // the time of the event being handled, since start
	startNs     int64         // start in Unix nanoseconds, when !mono (see at)
	deadline    time.Duration // the request's deadline, when hasDeadline
	key         uint64
	last        outcome // the round's latest failure
	retries     int32
	hedges      int32
	roundHedges int32
	wakeAt      time.Duration // when the latest Wait is due
	retryAfter  time.Duration
}

// notRetried says why a round that the retry policy would retry was not.
type notRetried uint8

const (
	retried     notRetried = iota
	noBudget               // the retry budget had no credit
	noRetryUnit            // max_retries was full
)

type phase uint8

const (
	idle       phase = iota
	trying           // tries are out, or about to be
	backingOff       // waiting out a retry's back-off
	forwarding       // the client gets a try's answer; Ended is due
	done
)

// try is one try out, or whose answer is held.
type try struct {
	id       int32
	status   int16
	grpc     uint8 // the grpc-status of the answer's head; 0: OK or none
	flags    tryFlags
	pick     balancer.Pick
	start    time.Duration // since the request's start, as the deadlines
	deadline time.Duration // zero: none
	latency  time.Duration // to the answer's head, once answered
}

type tryFlags uint8

const (
	perTry     tryFlags = 1 << iota // deadline is the per-try timeout's
	isRetry                         // sent as a retry
	holdsRetry                      // holds a max_retries unit
	isHedge                         // sent as a hedge
	answered                        // its answer's head came
)

// outcome is what a try came to: an answer's status (and gRPC status), a
// failure, or an answer whose body broke.
type outcome struct {
	status  int32
	failure Failure
	broken  bool
	grpc    uint8
}

// judged is the HTTP status the policies judge an answer by: a gRPC
// status other than OK stands for the HTTP status GRPCToHTTP gives it, as
// Envoy's router reports gRPC answers to outlier detection.
func (o outcome) judged() int {
	if o.grpc != 0 {
		return GRPCToHTTP(int(o.grpc))
	}
	return int(o.status)
}

func (o outcome) failed() bool { return o.failure != NoFailure || o.broken || o.judged() >= 500 }

func (o outcome) retryOutcome() retry.Outcome {
	return retry.Outcome{Status: int(o.status), Err: o.failure.retryKind(), GRPCStatus: int(o.grpc)}
}

// outlierOutcome is the outcome as Envoy's outlier detection sees it: no
// answer (or a broken one) is a local-origin failure, an answer goes by
// its status, a gRPC answer by the HTTP status of its grpc-status.
func (o outcome) outlierOutcome() outlier.Outcome {
	if o.failure != NoFailure || o.broken {
		return outlier.LocalOriginFailure
	}
	return outlier.FromStatus(o.judged())
}

// Errors handed to Pick.Done; the balancers take them for symmetry and
// ignore them (failures are outlier detection's business).
var (
	errTryFailed    = errors.New("lifecycle: try failed")
	errTryCancelled = errors.New("lifecycle: try cancelled")
)

// maxActions bounds the actions one event can ask for: a Cancel per try
// and an answer, or a Cancel, a Send and a Wait.
const maxActions = MaxLive + 2

// ActionBuffer is room for the actions of one event. A Request writes
// them into the buffer its driver gives it with UseBuffer, or into one of
// its own, made at its first Begin and kept. A driver that handles many
// Requests one event at a time, as the simulator does, gives them one
// shared buffer, which keeps each Request small (the actions are more
// than half of it); it must then be done with, or have copied, one
// Request's actions before another Request's event.
type ActionBuffer [maxActions]Action

// UseBuffer has the Request write the actions of its events into b from
// its next event on.
func (r *Request) UseBuffer(b *ActionBuffer) { r.acts = b }

// Begin starts the lifecycle of a request that arrived at now on rt: an
// expired caller deadline, the route's limits, the choice of cluster, its
// concurrency limiter, the retry budget's deposit and the first try. rng
// supplies the randomness (weighted clusters, balancer picks, back-off
// jitter).
func (r *Request) Begin(rt *Route, now time.Time, in Arrival, rng *rand.Rand) {
	r.rt, r.cl, r.rng, r.start = rt, nil, rng, now
	if r.acts == nil {
		r.acts = new(ActionBuffer) // once: the Request keeps it
	}
	r.state = state{}
	r.key, r.replayable, r.phase, r.round = in.Key, in.Replayable, trying, 1
	if r.mono = now != now.Round(0); !r.mono {
		r.startNs = now.UnixNano()
	}
	if cap(r.tries) <= len(r.inline) {
		r.tries = r.inline[:0]
	} else {
		r.tries = r.tries[:0]
	}
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
		r.deadline, r.hasDeadline = timeout, true
	}
	if rt.Budget != nil {
		rt.Budget.Deposit(now)
	}
	r.startRound(now, false)
}

// Answered reports that try id's answer head arrived at now with status.
func (r *Request) Answered(now time.Time, id, status int) {
	r.AnsweredGRPC(now, id, status, 0)
}

// AnsweredGRPC is Answered for an answer whose head carries a gRPC status
// (grpc-status, as a trailers-only answer does): a code other than 0 (OK)
// is what the retry policy's gRPC conditions, outlier detection and the
// breaker judge the answer by (see GRPCToHTTP). Codes outside 0-255 are
// taken as 2 (UNKNOWN).
func (r *Request) AnsweredGRPC(now time.Time, id, status, code int) {
	r.nacts = 0
	t := r.find(id)
	if t == nil || t.flags&answered != 0 || r.phase != trying {
		return
	}
	t.flags |= answered
	t.status = int16(status)
	t.grpc = grpcCode(code)
	r.pending--
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventAnswered, Time: now, Try: id, Endpoint: t.pick.Ref().ID, Status: status, GRPC: int(t.grpc)})
	}
	o := outcome{status: int32(status), grpc: t.grpc}
	final := !r.retryable(o)
	if h := r.rt.Hedger; h != nil || !final || r.parked != 0 || len(r.tries) > 1 {
		// The time matters beyond the common case of one final answer.
		r.at(now)
		t.latency = r.rel - t.start
		if h != nil && o.judged() < 500 {
			h.Observe(now, t.latency)
		}
	}
	if final {
		r.win(now, t)
		return
	}
	if r.parked != 0 {
		r.drop(now, r.parked)
	}
	r.parked, r.last = int32(id), o
	if r.pending == 0 {
		r.roundOver(now)
	}
}

// Failed reports that try id ended at now without an answer.
func (r *Request) Failed(now time.Time, id int, f Failure) {
	r.nacts = 0
	t := r.find(id)
	if t == nil || t.flags&answered != 0 || r.phase != trying {
		return
	}
	r.at(now)
	r.pending--
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventFailed, Time: now, Try: id, Endpoint: t.pick.Ref().ID, Failure: f})
	}
	o := outcome{failure: f}
	switch {
	case f.fatal():
		// A local refusal or the client's fault: nobody upstream is to
		// blame, and nothing else can answer.
		r.end(now, t, o, false, r.rel-t.start)
		r.cancelAll(now)
		status, reason := f.answer()
		r.respond(now, status, reason, f)
		return
	case f == Timeout && r.hasDeadline && r.rel >= r.deadline:
		r.end(now, t, o, true, r.rel-t.start)
		r.expire(now)
		return
	}
	r.end(now, t, o, true, r.rel-t.start)
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
	r.nacts = 0
	r.ended(now, id, broken, 0)
}

// EndedGRPC is Ended for a gRPC answer whose trailers carried grpc-status
// code: a code other than 0 replaces the head's as what outlier detection
// and the breaker judge the try by, as Envoy's router reports the
// grpc-status of trailers. It cannot make the answer retried: its body
// has gone to the client.
func (r *Request) EndedGRPC(now time.Time, id int, broken bool, code int) {
	r.nacts = 0
	r.ended(now, id, broken, grpcCode(code))
}

// Completed reports that try id's whole answer arrived at now with
// status: it is Answered and, when that answer is the one forwarded, Ended
// at once, with the Forward action left for the caller. It is for drivers
// whose answers carry no body to stream, as the simulator's.
func (r *Request) Completed(now time.Time, id, status int) {
	r.Answered(now, id, status)
	r.ended(now, id, false, 0)
}

// CompletedGRPC is Completed for a gRPC answer with grpc-status code: a
// trailers-only answer, judged as AnsweredGRPC judges one.
func (r *Request) CompletedGRPC(now time.Time, id, status, code int) {
	r.AnsweredGRPC(now, id, status, code)
	r.ended(now, id, false, 0)
}

// grpcCode keeps a gRPC status code in a byte; out of range is UNKNOWN.
func grpcCode(code int) uint8 {
	if code < 0 || code > 255 {
		return 2
	}
	return uint8(code)
}

// ended is Ended without clearing the actions; code is the trailers'
// grpc-status, 0 for none.
func (r *Request) ended(now time.Time, id int, broken bool, code uint8) {
	if r.phase != forwarding || int32(id) != r.forward {
		return
	}
	t := r.find(id)
	if t == nil {
		return
	}
	r.at(now)
	if code == 0 {
		code = t.grpc
	}
	o := outcome{status: int32(t.status), broken: broken, grpc: code}
	r.end(now, t, o, true, r.rel-t.start)
	r.releaseConc(now, !o.failed())
	r.phase = done
}

// Wake is called at or after the Deadline of the latest Wait: a retry's
// back-off is over, or a hedge is due. Early or superseded wake-ups are
// ignored.
func (r *Request) Wake(now time.Time) {
	r.nacts = 0
	if !r.waiting {
		return
	}
	if r.at(now); r.rel < r.wakeAt {
		return
	}
	r.waiting = false
	if r.hasDeadline && r.rel >= r.deadline {
		r.expire(now) // woken late: the deadline has passed meanwhile
		return
	}
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
	r.nacts = 0
	if (r.phase != trying && r.phase != backingOff) || !r.hasDeadline {
		return
	}
	if r.at(now); r.rel < r.deadline {
		return
	}
	r.expire(now)
}

// ClientGone reports that the client went away at now (or that the caller
// gives up on the request for reasons of its own). Every try is stopped
// unrecorded; before an answer the request ends with 499 client_closed,
// which is logged, not written.
func (r *Request) ClientGone(now time.Time) {
	r.nacts = 0
	switch r.phase {
	case idle, done:
		return
	}
	r.at(now)
	if r.phase == forwarding {
		if t := r.find(int(r.forward)); t != nil {
			r.end(now, t, outcome{}, false, r.rel-t.start)
		}
		r.releaseConc(now, false)
		r.phase = done
		return
	}
	r.cancelAll(now)
	r.respond(now, StatusClientClosed, ClientClosed, NoFailure)
}

// Actions returns what the latest event asks the caller to do, in order.
// The slice is the Request's action buffer, valid until its next event
// (or, with a shared buffer, the next event of any Request sharing it).
func (r *Request) Actions() []Action {
	if r.acts == nil {
		return nil
	}
	return r.acts[:r.nacts]
}

// NotReplayable tells the Request that the caller found it cannot send the
// request again after all (a body that turned out longer than it holds):
// no retries and no hedges from now on.
func (r *Request) NotReplayable() {
	r.replayable = false
	r.hedging = false
}

// Committed tells the Request, at now, that it can no longer be sent
// again: its body is streamed (a gRPC client or bidirectional stream) and
// outgrew what the caller keeps for replay (Envoy's per-request buffer
// limit) while try keep was sending it, so that only keep has, and will
// have, the whole body. No retries and no hedges follow. The other tries
// still waiting for their answer's head are cancelled unrecorded, as they
// could never send the rest; an answer already held stays the round's
// latest outcome. keep's outcome is then final whatever the retry policy
// says. While backing off before a retry (no try out, so no caller should
// report it then) the round's latest failure answers. Once an answer is
// forwarded the request is committed to it anyway and Committed does
// nothing.
func (r *Request) Committed(now time.Time, keep int) {
	r.nacts = 0
	switch r.phase {
	case trying, backingOff:
	default:
		return
	}
	r.replayable = false
	r.hedging = false
	r.at(now)
	if r.rt.Observe != nil {
		r.observe(Event{Kind: EventCommitted, Time: now, Try: keep})
	}
	if r.phase == backingOff {
		r.waiting = false
		r.answerLast(now)
		return
	}
	if k := r.find(keep); k == nil || k.flags&answered != 0 {
		// The try that has the body is over: the others fail as they
		// reach its end, and the round ends with them.
		return
	}
	for i := 0; i < len(r.tries); {
		switch o := &r.tries[i]; {
		case o.id == int32(keep), o.flags&answered != 0:
			i++
		default:
			r.cancel(now, o) // removes o from r.tries
		}
	}
}

// Cluster returns the cluster the request goes to; nil before one was
// chosen (a request refused by a limit).
func (r *Request) Cluster() *Cluster { return r.cl }

// Deadline returns the request's deadline, if it has one.
func (r *Request) Deadline() (time.Time, bool) {
	if !r.hasDeadline {
		return time.Time{}, false
	}
	return r.start.Add(r.deadline), true
}

// Timeout returns how long after its start the request's deadline is, if
// it has one.
func (r *Request) Timeout() (time.Duration, bool) { return r.deadline, r.hasDeadline }

// Retries and Hedges count the retries and hedged copies sent.
func (r *Request) Retries() int { return int(r.retries) }
func (r *Request) Hedges() int  { return int(r.hedges) }

// Tries counts every try sent.
func (r *Request) Tries() int { return int(r.sent) }

// NotRetried says why the last failed round was not retried, when a retry
// budget or the max_retries threshold refused it; "" otherwise.
func (r *Request) NotRetried() string {
	switch r.refused {
	case noBudget:
		return RetryBudget
	case noRetryUnit:
		return OverflowReason
	}
	return ""
}

// Over reports whether the request has nothing more to do: answered with
// the proxy's own answer, or its forwarded answer ended.
func (r *Request) Over() bool { return r.phase == done }

package proxy

import (
	"context"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer/httpkey"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// exchange is one downstream request on the general path: the driver of
// its lifecycle.Request. It does the I/O the lifecycle asks for — the
// tries' round trips with their timeouts, the waits, the cancellations, the
// answer — and tells the lifecycle what happened, with the time; every
// decision (limits, admission, picks, retries, hedges, what to answer) is
// the lifecycle's.
type exchange struct {
	rt  *route
	c   *cluster // where the lifecycle sends the request
	w   http.ResponseWriter
	in  *http.Request
	st  *reqState
	req lifecycle.Request
	// acts holds what req's events ask for; embedding it spares the
	// Request allocating one of its own.
	acts lifecycle.ActionBuffer

	ctx context.Context // the client's context bounded by the request's deadline

	reqBody // the request body and the outbound template (body.go)

	tries   [lifecycle.MaxLive]*attempt // the tries out or whose answer is held
	results chan *attempt               // where hedged tries report; nil without hedging
	running int                         // tries on goroutines of their own
	wait    *time.Timer                 // the lifecycle's latest Wait
	waitC   <-chan time.Time            // wait's channel while armed
}

// run drives the request's lifecycle from its arrival to its answer.
func (x *exchange) run() {
	rt, st := x.rt, x.st
	in := lifecycle.Arrival{Budget: st.budget, HasBudget: st.hasBudget, Replayable: rt.replays}
	if rt.useHashKey {
		if k, ok := httpkey.Key(rt.hashKey, x.in.Header, x.in.RemoteAddr); ok {
			in.Key = k
		} else {
			in.Key = st.rng.Uint64()
		}
	}
	if rt.consumerHdr != "" {
		in.Consumer = x.in.Header.Get(rt.consumerHdr)
	} else {
		in.Consumer = st.clientIP
	}
	x.req.UseBuffer(&x.acts)
	x.req.Begin(&rt.lc, st.start, in, st.rng)
	if x.c = rt.clusterOf(x.req.Cluster()); x.c != nil {
		st.cluster = x.c.name
	}
	x.ctx = x.in.Context()
	if dl, ok := x.req.Deadline(); ok {
		var cancel context.CancelFunc
		x.ctx, cancel = context.WithDeadlineCause(x.ctx, dl, errRouteTimeout)
		defer cancel()
	}
	if rt.lc.Hedger != nil {
		x.results = make(chan *attempt, lifecycle.MaxLive)
	}
	for !x.act() {
		if x.running > 0 || x.waitC != nil {
			x.await()
		}
	}
	if x.wait != nil {
		x.wait.Stop()
	}
	if x.replay != nil {
		x.replay.close()
	}
	if x.running > 0 {
		// Cancelled hedges still on their way: finish them as they return.
		go drainTries(x.results, x.running)
	}
}

// act carries out the lifecycle's latest actions and reports whether the
// request has been answered. A try without hedging runs here, on the
// request's goroutine, and its outcome is reported before act returns.
func (x *exchange) act() (answered bool) {
	var inline *attempt
	for _, a := range x.req.Actions() {
		switch a.Kind {
		case lifecycle.Send:
			t, ok := x.startTry(&a)
			if !ok {
				return false // the body could not be read: reported, new actions follow
			}
			if x.results == nil {
				inline = t
				continue
			}
			x.running++
			go t.runAsync(x.results)
		case lifecycle.Wait:
			x.arm(a.Timeout)
		case lifecycle.Cancel:
			x.cancelTry(a.Try)
		case lifecycle.Forward:
			x.forward(x.take(a.Try))
			return true
		case lifecycle.Respond:
			x.respondOwn(&a)
			return true
		}
	}
	if inline != nil {
		inline.roundTrip()
		x.report(inline)
	}
	return false
}

// await waits for the next event — a hedged try's outcome, the lifecycle's
// wake-up, a streamed body outgrowing its replay buffer, the deadline or
// the client leaving — and reports it.
func (x *exchange) await() {
	var claims <-chan int
	if x.replay != nil {
		claims = x.replay.claims
	}
	select {
	case t := <-x.results:
		x.running--
		t.back = true
		if t.cancelled {
			t.drop()
			return
		}
		x.report(t)
	case id := <-claims:
		x.req.Committed(time.Now(), id)
	case <-x.waitC:
		x.waitC = nil
		x.req.Wake(time.Now())
	case <-x.ctx.Done():
		now := time.Now()
		if x.in.Context().Err() != nil {
			x.req.ClientGone(now)
		} else {
			x.req.Expire(now)
		}
	}
}

// arm sets the wake-up the lifecycle asked for, replacing the previous one.
func (x *exchange) arm(d time.Duration) {
	if x.wait == nil {
		x.wait = time.NewTimer(d)
	} else {
		x.wait.Stop()
		select {
		case <-x.wait.C:
		default:
		}
		x.wait.Reset(d)
	}
	x.waitC = x.wait.C
}

// report tells the lifecycle how a try that came back ended.
func (x *exchange) report(t *attempt) {
	x.heedClaim()
	now := time.Now()
	switch {
	case t.resp != nil && x.st.grpc:
		t.grpc = grpcStatusOf(t.resp.Header)
		x.req.AnsweredGRPC(now, t.try, t.resp.StatusCode, t.grpc)
	case t.resp != nil:
		x.req.Answered(now, t.try, t.resp.StatusCode)
	case t.gone:
		x.take(t.try)
		t.drop()
		x.req.ClientGone(now)
	case t.fail == lifecycle.Overflow, t.fail == lifecycle.BadBody, t.fail == lifecycle.BodyTooLarge:
		// Refused locally, or the client's fault: nothing to count upstream.
		x.take(t.try)
		t.drop()
		x.req.Failed(now, t.try, t.fail)
	default:
		x.take(t.try)
		t.finish(now, nil)
		x.req.Failed(now, t.try, t.fail)
	}
}

// heedClaim tells the lifecycle, before a try's outcome, that a try took
// the streamed body past its replay buffer, if one did meanwhile: the
// outcome may be the failure that overflow caused, which must not be
// retried. While tries are out Committed asks for nothing but Cancels,
// which are done here, before the outcome's event replaces them.
func (x *exchange) heedClaim() {
	if x.replay == nil {
		return
	}
	id, ok := x.replay.claim()
	if !ok {
		return
	}
	x.req.Committed(time.Now(), id)
	for _, a := range x.req.Actions() {
		if a.Kind == lifecycle.Cancel {
			x.cancelTry(a.Try)
		}
	}
}

// cancelTry stops a try the lifecycle no longer waits for: one still out
// is cancelled (its goroutine drops it when it returns), an answer it held
// is drained so that its connection can be reused.
func (x *exchange) cancelTry(id int) {
	t := x.take(id)
	if t == nil {
		return
	}
	if t.async && !t.back {
		t.cancelled = true
		t.cancel(errHedgeLost)
		return
	}
	t.discard()
}

// take removes try id from the exchange's tries and returns it.
func (x *exchange) take(id int) *attempt {
	for i, t := range x.tries {
		if t != nil && t.try == id {
			x.tries[i] = nil
			return t
		}
	}
	return nil
}

// drainTries finishes hedged tries that were cancelled while out, as they
// return: their answers, if any, are dropped.
func drainTries(results chan *attempt, n int) {
	for range n {
		t := <-results
		t.drop()
	}
}

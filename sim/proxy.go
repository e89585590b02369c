package sim

import (
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// cluster is one proxy's view of one upstream service, as an Envoy cluster:
// the gateway has one per service it routes to, and each calling replica's
// sidecar one per callee.
// Its policy state is a lifecycle.Cluster — balancer, breaker, thresholds,
// outlier detection, endpoint availability — built from the variant's
// policy; the simulator adds what only it has: the replicas behind the
// endpoints, the timers, and the health checks it schedules.
type cluster struct {
	m    *model
	idx  int32
	name string
	svc  *service
	// src is the node requests leave from: the gateway's, or -1 for a
	// sidecar, whose requests leave from the calling replica.
	src  int32
	reps []*replica // by endpoint Tag
	ids  []string   // endpoint IDs, by Tag

	lc       *lifecycle.Cluster
	route    *lifecycle.Route // a sidecar's route to the cluster; nil at the gateway
	rng      *rand.Rand
	connect  int64 // connect timeout, 0: none
	sweep    int64 // outlier detection's interval, 0: no sweeps
	perTryTL *timerList[attempt]
	reqTL    *timerList[exchange] // sidecar calls' deadlines

	hc *healthState

	pool *pool  // nil: no connection thresholds to model
	tls  *conns // nil: no mutual TLS, whose handshakes need connections
}

// exchange is one request through a proxy to a cluster, across all its
// tries: a client request at the gateway, or one call made by a replica
// through its sidecar. Its lifecycle decides everything; the exchange is
// what carries those decisions out in the model.
type exchange struct {
	// What every event reads comes first, in one cache line: hundreds of
	// thousands of exchanges may be in flight, most of them untouched
	// for milliseconds.
	id  int32 // index in the model's table, for events
	gen uint32
	src int32 // node the attempts leave from
	cl  *cluster
	key uint64
	// tries are the attempts out, or whose answer the lifecycle holds, by
	// their try number modulo lifecycle.MaxLive: the lifecycle never has
	// more than that many, and their numbers are consecutive.
	tries [lifecycle.MaxLive]*attempt
	req   lifecycle.Request
	timer timerNode[exchange]

	// Client requests (load >= 0).
	load   int32
	user   int32
	issued int64
	lag    int64 // an open-loop request's schedule lag (calibrated runs)
	route  *route
	who    consumer.Pick // the consumer that sent it (loads with consumers)

	// Sidecar calls (load < 0): the replica's attempt that made the call.
	parent    *attempt
	parentGen uint32
}

// attempt is one try of an exchange on one replica. It travels the path
// proxy → network → replica → network → proxy; refs counts the two holders,
// the path and the waiting proxy, and the attempt returns to the pool when
// both have let go.
type attempt struct {
	gen  uint32
	refs uint8
	open bool // the proxy is still waiting for it
	cl   *cluster
	ex   *exchange // nil once the proxy stopped waiting
	try  int       // the lifecycle's number for it
	rep  *replica
	src  int32
	key  uint64
	sent int64
	// deadline is when the proxy stops waiting (per-try or overall); a
	// replica drops the attempt unserved if it dequeues it later.
	deadline int64
	timer    timerNode[attempt]

	// Replica side.
	prev, next *attempt // the replica's queue or active list
	where      uint8
	pauseMark  int64 // replica pause total when the work was scheduled
	op         int16 // 1 + the service's operation serving it; 0: the service's own work
	group      int16
	pending    int16
	waiting    bool // in its cluster's pool, waiting for a connection
	conn       bool // holds one of its cluster's HTTP/1.1 connections
	tls        bool // holds a connection of its cluster's conns (mutual TLS)
	hasFailed  bool
	failed     outcome
	resp       outcome // the answer travelling back
	produced   bool    // resp came from the replica's application
}

// Where an attempt is on its replica.
const (
	atNone uint8 = iota
	atQueue
	atActive
)

func (m *model) newAttempt() *attempt {
	if n := len(m.freeAtt); n > 0 {
		a := m.freeAtt[n-1]
		m.freeAtt = m.freeAtt[:n-1]
		return a
	}
	return &attempt{}
}

// unref drops one holder of a; the last one returns it to the pool.
func (m *model) unref(a *attempt) {
	a.refs--
	if a.refs == 0 {
		m.connLost(a)
		*a = attempt{gen: a.gen + 1}
		m.freeAtt = append(m.freeAtt, a)
	}
}

func (m *model) newExchange() *exchange {
	if n := len(m.freeEx); n > 0 {
		ex := m.freeEx[n-1]
		m.freeEx = m.freeEx[:n-1]
		return ex
	}
	ex := &exchange{id: int32(len(m.exchanges))}
	ex.timer.obj = ex
	ex.req.UseBuffer(&m.acts)
	m.exchanges = append(m.exchanges, ex)
	return ex
}

// freeExchange returns ex to the pool. Its lifecycle is left as it is: the
// next Begin starts it afresh.
func (m *model) freeExchange(ex *exchange) {
	ex.gen++
	ex.cl, ex.route, ex.parent = nil, nil, nil
	ex.tries = [lifecycle.MaxLive]*attempt{}
	ex.timer = timerNode[exchange]{obj: ex}
	m.freeEx = append(m.freeEx, ex)
}

// begin starts ex's lifecycle on rt, whose one cluster is c, and carries
// out what it decides; a deadline is tracked on tl.
func (m *model) begin(ex *exchange, c *cluster, rt *lifecycle.Route, in lifecycle.Arrival, tl *timerList[exchange]) {
	ex.cl = c
	ex.req.Begin(rt, m.clock(), in, c.rng)
	if !ex.req.Over() {
		// A request without a deadline is tracked too, far out, so that
		// the end of the run finds it (flush).
		d, ok := ex.req.Timeout()
		if !ok {
			d = noTimeout
		}
		m.addExTimer(tl, &ex.timer, m.t+int64(d))
	}
	m.drive(ex)
}

// drive carries out ex's lifecycle's actions until it has none, or until it
// has answered (ex is then back in the pool).
//
// The actions are in the buffer all lifecycles share (model.acts), so no
// other lifecycle may hear an event before the loop is done with them:
// Send, Wait and Cancel only schedule events, and Forward and Respond,
// which answer the caller at once (and so may start its next call), end
// the loop.
func (m *model) drive(ex *exchange) {
	acts := ex.req.Actions()
	for i := range acts {
		switch a := &acts[i]; a.Kind {
		case lifecycle.Send:
			m.sendTry(ex, a)
		case lifecycle.Wait:
			m.at(m.t+int64(a.Timeout), event{kind: evWake, gen: ex.gen, idx: ex.id})
		case lifecycle.Cancel:
			if at := ex.take(a.Try); at != nil {
				m.stopWaiting(at)
			}
		case lifecycle.Forward:
			at := ex.take(a.Try)
			o, rep := at.resp, at.answerer()
			m.stopWaiting(at)
			if !ex.req.Over() {
				// Forwarded by another event than its own answer, which
				// Completed closes at once: the body ends now.
				ex.req.Ended(m.clock(), a.Try, false)
			}
			m.complete(ex, o, rep)
			return
		case lifecycle.Respond:
			m.complete(ex, respondOutcome(a), nil)
			return
		}
	}
}

// sendTry puts one try on the network.
func (m *model) sendTry(ex *exchange, s *lifecycle.Action) {
	c := ex.cl
	a := m.newAttempt()
	a.refs = 2
	a.open = true
	a.cl = c
	a.ex = ex
	a.try = s.Try
	a.rep = c.reps[s.Endpoint.Tag]
	a.src = ex.src
	a.key = ex.key
	a.sent = m.t
	a.op = 0
	if ex.load >= 0 {
		// A client's request, from the gateway: its method and path pick
		// the operation. Calls from other services get the default.
		a.op = m.loads[ex.load].op
	}
	a.deadline = int64(noTimeout)
	if s.Timeout > 0 {
		a.deadline = m.t + int64(s.Timeout)
	}
	if s.PerTry {
		a.timer.obj = a
		m.addAttTimer(c.perTryTL, &a.timer, a.deadline)
	}
	ex.tries[uint(s.Try-1)%lifecycle.MaxLive] = a
	m.send(a, s.Endpoint.Tag)
}

// take unlinks the attempt of try from ex.
func (ex *exchange) take(try int) *attempt {
	slot := &ex.tries[uint(try-1)%lifecycle.MaxLive]
	a := *slot
	if a == nil || a.try != try {
		return nil
	}
	*slot = nil
	return a
}

// stopWaiting ends the proxy's hold on a: its per-try timer goes, and its
// replica drops it if it has not started it yet; at or past the try's
// deadline the replica gives it up wherever it is (expireAtReplica).
func (m *model) stopWaiting(a *attempt) {
	m.leavePool(a)
	a.open = false
	a.ex = nil
	if l := a.timer.list; l != nil {
		l.remove(&a.timer)
	}
	if a.deadline <= m.t {
		m.expireAtReplica(a)
	}
	m.unref(a)
}

// answerer is the replica that produced a's answer, if its application did.
func (a *attempt) answerer() *replica {
	if a.produced {
		return a.rep
	}
	return nil
}

// response handles an answer (or transport failure) arriving back at the
// proxy.
func (m *model) response(a *attempt) {
	m.connDone(a)
	if !a.open {
		m.unref(a) // nobody is waiting any more
		return
	}
	ex, try, o := a.ex, a.try, a.resp
	m.unref(a) // the path ends here
	if o.fail != lifecycle.NoFailure {
		ex.take(try)
		m.stopWaiting(a)
		ex.req.Failed(m.clock(), try, o.fail)
	} else {
		// A simulated answer has no body to stream: it is whole on arrival.
		ex.req.Completed(m.clock(), try, int(o.status))
	}
	m.drive(ex)
}

// attemptTimedOut handles a per-try timeout: the attempt is abandoned (its
// replica drops it if it is still queued) and counts as a timeout.
func (m *model) attemptTimedOut(a *attempt) {
	ex, try := a.ex, a.try
	ex.take(try)
	m.stopWaiting(a)
	ex.req.Failed(m.clock(), try, lifecycle.Timeout)
	m.drive(ex)
}

// timedOut handles the request's deadline.
func (m *model) timedOut(ex *exchange) {
	ex.req.Expire(m.clock())
	m.drive(ex)
}

// noTimeout stands for "no deadline" where the model needs a time: far
// beyond any run, yet safe to add to a virtual time.
const noTimeout = time.Duration(1 << 60)

// complete hands ex's answer to whoever made the request. The lifecycle
// has stopped every try before it answers, so none is left out.
func (m *model) complete(ex *exchange, o outcome, rep *replica) {
	if l := ex.timer.list; l != nil {
		l.remove(&ex.timer)
	}
	if ex.load >= 0 {
		m.edgeAnswer(ex, o)
		m.answer(ex, o, rep)
	} else {
		m.callDone(ex.parent, ex.parentGen, o)
	}
	m.freeExchange(ex)
}

// wake handles a lifecycle's Wait coming due.
func (m *model) wake(ex *exchange) {
	ex.req.Wake(m.clock())
	m.drive(ex)
}

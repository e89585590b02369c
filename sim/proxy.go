package sim

import (
	"math/rand/v2"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/retry"
)

// cluster is one proxy's view of one upstream service, as an Envoy cluster:
// the gateway has one per service it routes to, and the sidecars of a calling
// service share one per callee (client-side balancing per calling service).
// It owns that proxy's policy objects for the upstream — balancer, retry
// policy and budget, hedger, circuit breaker and admission thresholds,
// outlier detector, health checker — built from the variant's policy, and
// drives them with virtual time.
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
	tags map[string]int

	// Availability of each endpoint to the balancer: not ejected by
	// outlier detection, and healthy when actively checked.
	ejected []bool
	avail   []bool

	bal      balancer.Balancer
	rng      *rand.Rand
	retry    *retry.Policy // nil: a single try
	budget   *retry.Budget
	hedger   *retry.Hedger
	brk      *breaker.Breaker
	adm      *breaker.Admission
	perTry   int64 // per-try timeout, 0: none
	connect  int64 // connect timeout, 0: none
	timeout  int64 // request timeout of a sidecar call
	perTryTL *timerList[attempt]
	reqTL    *timerList[exchange] // sidecar calls' deadlines

	od *outlierState
	hc *healthState
}

// exchange is one request through a proxy to a cluster, across all its
// tries: a client request at the gateway, or one call made by a replica
// through its sidecar.
type exchange struct {
	id       int32 // index in the model's table, for events
	gen      uint32
	cl       *cluster
	src      int32 // node the attempts leave from
	key      uint64
	start    int64
	deadline int64
	retries  uint16
	hedges   uint16
	done     bool
	live     []*attempt // attempts the proxy is still waiting for
	last     outcome    // the latest failure, answered if nothing better comes
	lastRep  *replica   // the replica that produced last, if one did
	reject   outcome    // why the latest send was refused
	timer    timerNode[exchange]

	// Client requests (load >= 0).
	load    int32
	user    int32
	issued  int64
	route   *route
	concAcq bool // holds a gateway concurrency-limiter slot

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
	rep  *replica
	src  int32
	key  uint64
	pick balancer.Pick
	sent int64
	// deadline is when the proxy stops waiting (per-try or overall); a
	// replica drops the attempt unserved if it dequeues it later.
	deadline int64
	isRetry  bool
	timer    timerNode[attempt]

	// Replica side.
	prev, next *attempt // the replica's queue or active list
	where      uint8
	pauseMark  int64 // replica pause total when the work was scheduled
	op         int16 // 1 + the service's operation serving it; 0: the service's own work
	group      int16
	pending    int16
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
	ex := &exchange{id: int32(len(m.exchanges)), live: make([]*attempt, 0, 2)}
	ex.timer.obj = ex
	m.exchanges = append(m.exchanges, ex)
	return ex
}

func (m *model) freeExchange(ex *exchange) {
	*ex = exchange{id: ex.id, gen: ex.gen + 1, live: ex.live[:0]}
	ex.timer.obj = ex
	m.freeEx = append(m.freeEx, ex)
}

// start begins ex on c with an overall deadline tracked on tl.
func (c *cluster) start(ex *exchange, timeout int64, tl *timerList[exchange]) {
	m := c.m
	ex.cl = c
	ex.start = m.t
	ex.deadline = m.t + timeout
	m.addExTimer(tl, &ex.timer, ex.deadline)
	if c.budget != nil {
		c.budget.Deposit(m.now)
	}
	if !c.send(ex, false) {
		c.complete(ex, ex.reject, nil)
		return
	}
	if c.hedger != nil {
		m.at(m.t+int64(c.hedger.Delay()), event{kind: evHedge, gen: ex.gen, idx: ex.id})
	}
}

// send makes one attempt: breaker, admission, pick, then the network. It
// reports false, with ex.reject set, when the attempt could not be made.
func (c *cluster) send(ex *exchange, isRetry bool) bool {
	m := c.m
	if c.brk != nil && !c.brk.Allow(m.now) {
		ex.reject = outcomeBreaker
		return false
	}
	if c.adm != nil {
		if !c.adm.Acquire(breaker.Requests) {
			ex.reject = outcomeBreaker
			return false
		}
		if isRetry && !c.adm.Acquire(breaker.Retries) {
			c.adm.Release(breaker.Requests)
			ex.reject = outcomeBreaker
			return false
		}
	}
	p, err := c.bal.Pick(m.now, ex.key, c.rng)
	if err != nil {
		if c.adm != nil {
			c.adm.Release(breaker.Requests)
			if isRetry {
				c.adm.Release(breaker.Retries)
			}
		}
		ex.reject = outcomeNoEndpoint
		return false
	}
	a := m.newAttempt()
	a.refs = 2
	a.open = true
	a.cl = c
	a.ex = ex
	a.rep = c.reps[p.Endpoint().Tag]
	a.src = ex.src
	a.key = ex.key
	a.pick = p
	a.sent = m.t
	a.isRetry = isRetry
	a.op = 0
	if ex.load >= 0 {
		// A client's request, from the gateway: its method and path pick
		// the operation. Calls from other services get the default.
		a.op = m.loads[ex.load].op
	}
	a.deadline = ex.deadline
	if c.perTry > 0 {
		if d := m.t + c.perTry; d < a.deadline {
			a.deadline = d
		}
		a.timer.obj = a
		m.addAttTimer(c.perTryTL, &a.timer, m.t+c.perTry)
	}
	ex.live = append(ex.live, a)
	m.transmit(a)
	return true
}

// end closes the proxy's side of a: completion feedback to the balancer,
// admission release, and — unless the attempt was merely abandoned because
// another one answered — the outcome for the breaker, outlier detection and
// the hedger.
func (c *cluster) end(a *attempt, o outcome, abandoned bool) {
	m := c.m
	a.open = false
	if l := a.timer.list; l != nil {
		l.remove(&a.timer)
	}
	lat := timeDur(m.t - a.sent)
	var err error
	switch {
	case abandoned:
		err = errAttemptCancelled
	case o.failed():
		err = errAttemptFailed
	}
	a.pick.Done(m.now, lat, err)
	if c.adm != nil {
		c.adm.Release(breaker.Requests)
		if a.isRetry {
			c.adm.Release(breaker.Retries)
		}
	}
	if !abandoned {
		if c.brk != nil {
			c.brk.Record(m.now, !o.failed())
		}
		if c.od != nil {
			c.od.record(c, a.rep, o)
		}
		if c.hedger != nil && !o.failed() {
			c.hedger.Observe(m.now, lat)
		}
	}
	if ex := a.ex; ex != nil {
		for i, b := range ex.live {
			if b == a {
				last := len(ex.live) - 1
				ex.live[i] = ex.live[last]
				ex.live[last] = nil
				ex.live = ex.live[:last]
				break
			}
		}
		a.ex = nil
	}
	m.unref(a)
}

// response handles an answer (or transport failure) arriving back at the
// proxy.
func (m *model) response(a *attempt) {
	if !a.open {
		m.unref(a) // nobody is waiting any more
		return
	}
	c, ex, o := a.cl, a.ex, a.resp
	var rep *replica
	if a.produced {
		rep = a.rep
	}
	c.end(a, o, false)
	m.unref(a) // the path ends here
	c.attemptEnded(ex, o, rep)
}

// attemptTimedOut handles a per-try timeout: the attempt is abandoned (its
// replica drops it if it is still queued) and counts as a timeout.
func (c *cluster) attemptTimedOut(a *attempt) {
	ex := a.ex
	c.end(a, outcomeTimeout, false)
	c.attemptEnded(ex, outcomeTimeout, nil)
}

// attemptEnded decides what ex does after one of its attempts failed or
// succeeded: answer, wait for another attempt, or retry after a back-off.
func (c *cluster) attemptEnded(ex *exchange, o outcome, rep *replica) {
	m := c.m
	if !o.failed() {
		c.complete(ex, o, rep)
		return
	}
	ex.last, ex.lastRep = o, rep
	if len(ex.live) > 0 {
		return // a hedge may still answer
	}
	if c.retry != nil && c.retry.ShouldRetry(int(ex.retries)+1, o.retryOutcome()) &&
		(c.budget == nil || c.budget.TryWithdraw(m.now)) {
		wait := int64(c.retry.BackoffFor(int(ex.retries)+1, c.rng))
		if m.t+wait < ex.deadline {
			m.at(m.t+wait, event{kind: evRetry, gen: ex.gen, idx: ex.id})
			return
		}
	}
	c.complete(ex, o, rep)
}

// retryNow sends a retry whose back-off has elapsed.
func (c *cluster) retryNow(ex *exchange) {
	if ex.done {
		return
	}
	ex.retries++
	if !c.send(ex, true) {
		c.complete(ex, ex.reject, nil)
	}
}

// hedgeNow sends a hedged copy if the request is still unanswered, and
// schedules the next one.
func (c *cluster) hedgeNow(ex *exchange) {
	m := c.m
	if ex.done || len(ex.live) == 0 || int(ex.hedges) >= c.hedger.MaxHedges() {
		return
	}
	if c.budget != nil && !c.budget.TryWithdraw(m.now) {
		return
	}
	if c.send(ex, false) {
		ex.hedges++
	}
	if int(ex.hedges) < c.hedger.MaxHedges() {
		m.at(m.t+int64(c.hedger.Delay()), event{kind: evHedge, gen: ex.gen, idx: ex.id})
	}
}

// timedOut handles the overall deadline: every attempt still out counts as a
// timeout and the request is answered 504.
func (c *cluster) timedOut(ex *exchange) {
	for len(ex.live) > 0 {
		c.end(ex.live[len(ex.live)-1], outcomeTimeout, false)
	}
	c.complete(ex, outcomeTimeout, nil)
}

// complete answers ex with o, abandoning attempts still out (the losers of a
// hedge), and hands the answer to whoever made the request.
func (c *cluster) complete(ex *exchange, o outcome, rep *replica) {
	m := c.m
	ex.done = true
	for len(ex.live) > 0 {
		c.end(ex.live[len(ex.live)-1], o, true)
	}
	if l := ex.timer.list; l != nil {
		l.remove(&ex.timer)
	}
	if ex.load >= 0 {
		m.answer(ex, o, rep)
	} else {
		m.callDone(ex.parent, ex.parentGen, o)
	}
	m.freeExchange(ex)
}

package sim

import (
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// service is a set of replicas.
type service struct {
	idx  int32
	spec *serviceSpec
	reps []*replica
}

// replica is one instance of a service: concurrency workers in front of a
// bounded FIFO queue (an M/G/c/K station). A worker holds a request for its
// own service time and then for the calls it makes downstream, as a
// thread-per-request server blocked on synchronous RPCs does.
type replica struct {
	id   string
	idx  int32
	node int32
	zone int32
	svc  *service
	rng  *rand.Rand
	// groups are the calls each request makes, stage by stage, through the
	// clusters of the replica's own sidecar; opGroups[i] are those of the
	// service's operation i.
	groups   [][]*cluster
	opGroups [][][]*cluster

	conc int
	qcap int
	busy int
	qlen int

	qhead, qtail *attempt // waiting, FIFO
	ahead        *attempt // being served (for kills)

	down        bool
	pausedUntil int64
	pauseTotal  int64 // sum of all pauses begun so far

	slow      float64 // service-time factor, 1 normally
	errRate   float64
	errStatus int
	extra     distribution // added to every hop into the replica, nil normally
}

func (r *replica) paused(t int64) bool { return t < r.pausedUntil }

// serviceTime is the service time distribution of a's operation, or the
// service's own.
func (r *replica) serviceTime(a *attempt) distribution {
	if a.op > 0 {
		return r.svc.spec.operations[a.op-1].serviceTime
	}
	return r.svc.spec.serviceTime
}

// callGroups are the call groups of a's operation, or the service's own.
func (r *replica) callGroups(a *attempt) [][]*cluster {
	if a.op > 0 {
		return r.opGroups[a.op-1]
	}
	return r.groups
}

func (r *replica) enqueue(a *attempt) {
	a.where = atQueue
	a.prev, a.next = r.qtail, nil
	if r.qtail == nil {
		r.qhead = a
	} else {
		r.qtail.next = a
	}
	r.qtail = a
	r.qlen++
}

func (r *replica) dequeue() *attempt {
	a := r.qhead
	r.unqueue(a)
	return a
}

// unqueue takes a out of the queue, wherever it waits.
func (r *replica) unqueue(a *attempt) {
	if a.prev == nil {
		r.qhead = a.next
	} else {
		a.prev.next = a.next
	}
	if a.next == nil {
		r.qtail = a.prev
	} else {
		a.next.prev = a.prev
	}
	a.prev, a.next, a.where = nil, nil, atNone
	r.qlen--
}

func (r *replica) activate(a *attempt) {
	a.where = atActive
	a.prev, a.next = nil, r.ahead
	if r.ahead != nil {
		r.ahead.prev = a
	}
	r.ahead = a
	r.busy++
}

func (r *replica) deactivate(a *attempt) {
	if a.prev == nil {
		r.ahead = a.next
	} else {
		a.prev.next = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	}
	a.prev, a.next, a.where = nil, nil, atNone
	r.busy--
}

// arrive admits an attempt that reached its replica: refused when the
// replica is down, served at once by a free worker, queued, or answered 503
// when the queue is full. A paused replica accepts into its queue without
// answering anything until it resumes.
func (m *model) arrive(a *attempt) {
	r := a.rep
	switch {
	case r.down:
		m.reply(a, outcomeRefused, false)
	case !a.open:
		m.unref(a) // abandoned in flight: the proxy reset the stream
	case m.script != nil:
		m.scripted(a)
	case r.paused(m.t):
		r.enqueue(a)
	case r.busy < r.conc:
		m.startWork(a)
	case r.qlen < r.qcap:
		r.enqueue(a)
	default:
		m.reply(a, outcomeQueueFull, true)
	}
}

// scripted answers a as the model's script says, in place of the replica's
// work: after a delay with an outcome, or never (the proxy's timeouts then
// end it).
func (m *model) scripted(a *attempt) {
	o, after, answers := m.script(a)
	if !answers {
		m.unref(a) // the path ends here: nothing comes back
		return
	}
	a.resp, a.produced = o, o.fail == lifecycle.NoFailure
	m.at(m.t+after, event{kind: evResponse, att: a})
}

// startWork gives a a worker for one service time.
func (m *model) startWork(a *attempt) {
	r := a.rep
	r.activate(a)
	if m.host != nil {
		// The replica's CPU for the request (reading it, and the work
		// around its service time, which is waiting) holds the worker
		// too; a kill meanwhile bumps a.gen and the job is ignored.
		a.pauseMark = r.pauseTotal
		if m.spend(compReplica, r.svc.spec.grpc, cpuJob{kind: jobReplica, att: a, gen: a.gen}) {
			return
		}
	}
	m.serve(a)
}

// serve starts a's service time on the worker it holds.
func (m *model) serve(a *attempt) {
	r := a.rep
	st := r.serviceTime(a).Sample(r.rng)
	if r.slow != 1 {
		st = time.Duration(float64(st) * r.slow)
	}
	st += m.cal.workCost(a)
	a.pauseMark = r.pauseTotal
	m.at(m.t+int64(st), event{kind: evServiceDone, gen: a.gen, att: a})
}

// serviceDone ends a's own work: answer an error, start its calls, or answer.
func (m *model) serviceDone(a *attempt, gen uint32) {
	if a.gen != gen {
		return // the replica was killed meanwhile
	}
	r := a.rep
	if d := r.pauseTotal - a.pauseMark; d > 0 {
		// A pause began while this work ran: nothing progressed for its
		// length, so the work finishes that much later.
		a.pauseMark = r.pauseTotal
		m.at(m.t+d, event{kind: evServiceDone, gen: gen, att: a})
		return
	}
	if !a.open {
		// The caller gave up; the server notices the cancelled request and
		// makes no downstream calls for it.
		m.finishWork(a, outcome{}, false)
		return
	}
	if r.errRate > 0 && r.rng.Float64() < r.errRate {
		m.finishWork(a, statusOutcome(r.errStatus), true)
		return
	}
	if len(r.callGroups(a)) > 0 {
		a.group = 0
		m.startCalls(a)
		return
	}
	m.finishWork(a, outcomeOK, true)
}

// startCalls makes a's calls of its current group, in parallel.
func (m *model) startCalls(a *attempt) {
	grp := a.rep.callGroups(a)[a.group]
	a.pending = int16(len(grp))
	for _, c := range grp {
		m.call(a, c)
	}
}

// call makes one downstream call for a through its replica's sidecar.
func (m *model) call(a *attempt, c *cluster) {
	ex := m.newExchange()
	ex.load = -1
	ex.parent = a
	ex.parentGen = a.gen
	ex.src = a.rep.node
	ex.key = a.key
	ex.cl = c
	// The caller's proxy spends its CPU on the call first, and over gRPC
	// the calling replica its half of the call's.
	if m.host != nil && m.spend(compSidecar, c.svc.spec.grpc, cpuJob{kind: jobSidecar, idx: ex.id, gen: ex.gen}) {
		return
	}
	m.callBegin(ex)
}

// callBegin starts a call's lifecycle on its sidecar's route.
func (m *model) callBegin(ex *exchange) {
	c := ex.cl
	m.begin(ex, c, c.route, lifecycle.Arrival{Key: ex.key, Replayable: true}, c.reqTL)
}

// callDone records the answer of one of a's calls; the last one of a group
// moves a on.
func (m *model) callDone(a *attempt, gen uint32, o outcome) {
	if a.gen != gen || a.where != atActive {
		return
	}
	a.pending--
	if o.failed() && !a.hasFailed {
		// The application passes its sidecar's answer through.
		a.hasFailed = true
		a.failed = statusOutcome(int(o.status))
	}
	if a.pending > 0 {
		return
	}
	if r := a.rep; r.paused(m.t) {
		m.at(r.pausedUntil, event{kind: evContinue, gen: gen, att: a})
		return
	}
	m.afterCalls(a)
}

// resumeCalls continues a after a pause that held it between call groups.
func (m *model) resumeCalls(a *attempt, gen uint32) {
	if a.gen != gen {
		return
	}
	if r := a.rep; r.paused(m.t) {
		m.at(r.pausedUntil, event{kind: evContinue, gen: gen, att: a})
		return
	}
	m.afterCalls(a)
}

func (m *model) afterCalls(a *attempt) {
	switch {
	case !a.open:
		m.finishWork(a, outcome{}, false)
	case a.hasFailed:
		m.finishWork(a, a.failed, true)
	case int(a.group)+1 < len(a.rep.callGroups(a)):
		a.group++
		m.startCalls(a)
	default:
		m.finishWork(a, outcomeOK, true)
	}
}

// expireAtReplica gives a up at its replica when its deadline has passed.
// The proxy sends each try's deadline with it (proxy.HeaderDeadline, the
// try's timeout), and the fleet's replica runs the request under that
// deadline (bench/fleet, requestContext): a request still queued leaves the
// queue, freeing its place, and one at work stops (its service time, its
// calls) and frees its worker, then and there. A try cancelled before its
// deadline (a hedge's loser) is not given up: an HTTP/1.1 server does not
// notice its caller leaving while it has not read the body, so the work
// runs on, and only a queued one is dropped when a worker would take it
// (pull).
func (m *model) expireAtReplica(a *attempt) {
	switch a.where {
	case atQueue:
		a.rep.unqueue(a)
		m.unref(a)
	case atActive:
		m.finishWork(a, outcome{}, false)
	}
}

// finishWork frees a's worker, answers (or drops) it, and takes the next
// request from the queue.
func (m *model) finishWork(a *attempt, o outcome, answer bool) {
	r := a.rep
	r.deactivate(a)
	a.gen++ // late call answers for this work are stale now
	if answer {
		m.reply(a, o, true)
	} else {
		m.unref(a)
	}
	m.pull(r)
}

// pull starts queued requests on free workers. Requests whose caller has
// stopped waiting are dropped unserved.
func (m *model) pull(r *replica) {
	if r.down || r.paused(m.t) {
		return
	}
	for r.busy < r.conc && r.qlen > 0 {
		a := r.dequeue()
		if !a.open || a.deadline <= m.t {
			m.unref(a)
			continue
		}
		m.startWork(a)
	}
}

// reply sends a's answer from its replica back to the proxy that sent it.
// produced says the replica's application made the answer (it names the
// replica in the Result).
func (m *model) reply(a *attempt, o outcome, produced bool) {
	r := a.rep
	d, st := m.net.hop(r.node, a.src, r.rng)
	if st != hopOK {
		m.unref(a) // lost: the proxy finds out by its timeout
		return
	}
	a.resp, a.produced = o, produced
	m.at(m.t+d, event{kind: evResponse, att: a})
}

// transmit sends a from its proxy to its replica.
func (m *model) transmit(a *attempt) {
	d, st := m.net.hop(a.src, a.rep.node, a.cl.rng)
	switch st {
	case hopOK:
		cpu, wait := m.hopCost(a, d)
		d += wait
		if x := a.rep.extra; x != nil {
			d += int64(x.Sample(a.cl.rng)) // a latency fault on the hop into the replica
		}
		if m.host != nil && cpu > 0 {
			// The security CPU runs on the host's cores, then the try
			// goes on its way.
			m.cpu(cpuJob{kind: jobHop, att: a, gen: a.gen, rest: d}, cpu)
			return
		}
		m.at(m.t+d+cpu, event{kind: evArrive, att: a})
	case hopPartitioned:
		// No route to the host: the connection attempt times out when a
		// connect timeout is set; otherwise the request hangs until the
		// proxy's own timeouts fire.
		if c := a.cl.connect; c > 0 {
			a.resp, a.produced = outcomeConnectTO, false
			m.at(m.t+c, event{kind: evResponse, att: a})
			return
		}
		m.unref(a)
	default:
		m.unref(a)
	}
}

// kill stops r: everything queued or in service fails as a reset, and new
// connections are refused until it restarts.
func (m *model) kill(r *replica) {
	if r.down {
		return
	}
	r.down = true
	m.registryDown(r)
	for r.ahead != nil {
		a := r.ahead
		r.deactivate(a)
		a.gen++
		m.reply(a, outcomeReset, false)
	}
	for r.qlen > 0 {
		m.reply(r.dequeue(), outcomeReset, false)
	}
}

// restart brings r back, empty.
func (m *model) restart(r *replica) {
	r.down = false
	r.pausedUntil = 0
	m.registryUp(r)
}

// pause stops the world on r for d: no work progresses, nothing is answered,
// arrivals wait in the queue.
func (m *model) pause(r *replica, d int64) {
	if d <= 0 {
		return
	}
	r.pauseTotal += d
	if until := m.t + d; until > r.pausedUntil {
		r.pausedUntil = until
	}
	m.at(m.t+d, event{kind: evResume, idx: r.idx})
}

func (m *model) resume(r *replica) {
	m.pull(r)
}

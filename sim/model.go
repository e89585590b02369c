package sim

import (
	"context"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/quota"
	"github.com/meshbench/meshbench/scenarios"
)

// model is one simulated run: the fleet, the proxies and the clients, driven
// by one engine on one goroutine.
type model struct {
	cal   *calib // nil: no calibration profile (calibration.go)
	eng   *Engine[event]
	t     int64     // virtual now, ns since the start of the run
	now   time.Time // Epoch + nowAt, handed to policies: see clock
	nowAt int64

	sink  bench.Sink
	end   int64 // when load stops: the plan's duration
	drain int64 // how long after end in-flight requests may take

	// answered, when set (tests), sees each client request's result with
	// the index of its load.
	answered func(load int32, r bench.Result)

	loads    []*load
	services []*service
	replicas []*replica
	gw       *gateway
	clusters []*cluster
	net      network
	faults   []*fault

	attTimers []*timerList[attempt]
	exTimers  []*timerList[exchange]

	freeAtt   []*attempt
	freeEx    []*exchange
	exchanges []*exchange // every exchange ever made, by id

	// acts is the action buffer every exchange's lifecycle shares (see
	// drive): one buffer instead of one per exchange keeps the exchanges
	// in flight small enough to stay in the cache.
	acts lifecycle.ActionBuffer

	host *host // the machine's cores (host.go); nil: CPU work is free

	edge edgeState // the gateway routes' caches and fault filters (edge.go)
	// quota is the policy's quota, shared by the routes it counts on
	// (guards.go); nil: none.
	quota     *quota.Quota
	quotaSpec *scenarios.Quota
	reg       *registry // discovery through a registry (discovery.go); nil: static

	inflight int // client requests issued and not yet answered
	issued   int64

	// script, when set (conformance tests), answers every attempt that
	// reaches a live replica in place of the replica's work: an outcome
	// after a delay, or nothing.
	script func(a *attempt) (o outcome, after int64, answers bool)

	// cpuTestDone, when set (tests), sees each jobTest the host completes;
	// testEvent handles evTest events (tests).
	cpuTestDone func(idx int32, at time.Duration)
	testEvent   func(idx int32)
}

// setNow advances the model's clock to the engine's.
func (m *model) setNow() { m.t = int64(m.eng.Elapsed()) }

// clock is the virtual time as the policies take it, Epoch + t. It is made
// when an event needs it, once per instant: most events (a request reaching
// a replica, a service time ending) call no policy, and making a time.Time
// costs more than handling them.
func (m *model) clock() time.Time {
	if m.nowAt != m.t {
		// The same Time as Epoch.Add(m.t), made without Add's carries
		// and overflow checks: m.t is never negative.
		m.now, m.nowAt = time.Unix(epochUnix+m.t/1e9, m.t%1e9).UTC(), m.t
	}
	return m.now
}

// epochUnix is Epoch in Unix seconds.
var epochUnix = Epoch.Unix()

// at schedules ev at absolute virtual time t.
func (m *model) at(t int64, ev event) { m.eng.At(time.Duration(t), ev) }

// run executes the timeline: load until end, then in-flight requests until
// they finish (each has a deadline, so at most drain more). It checks ctx
// and reports progress every few thousand events.
func (m *model) run(ctx context.Context, progress func(time.Duration)) (time.Duration, error) {
	const every = 1 << 14
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	done := ctx.Done()
	for {
		ev, ok := m.eng.Next()
		if !ok {
			break
		}
		m.setNow()
		m.dispatch(ev)
		if m.eng.processed&(every-1) == 0 {
			if done != nil {
				select {
				case <-done:
					return min(time.Duration(m.t), time.Duration(m.end)), ctx.Err()
				default:
				}
			}
			if progress != nil {
				progress(min(time.Duration(m.t), time.Duration(m.end)))
			}
		}
		if m.t >= m.end {
			if m.inflight == 0 {
				break
			}
			if m.t > m.end+m.drain {
				m.flush()
				break
			}
		}
	}
	if progress != nil {
		progress(time.Duration(m.end))
	}
	return time.Duration(m.end), nil
}

func (m *model) dispatch(ev event) {
	switch ev.kind {
	case evArrival:
		m.arrival(m.loads[ev.idx])
	case evUserWake:
		m.userWake(m.loads[ev.idx], int32(ev.gen))
	case evGatewayIn:
		m.gatewayIn(m.exchanges[ev.idx])
	case evArrive:
		m.arrive(ev.att)
	case evServiceDone:
		m.serviceDone(ev.att, ev.gen)
	case evContinue:
		m.resumeCalls(ev.att, ev.gen)
	case evResponse:
		m.response(ev.att)
	case evAttTimer:
		m.perTryDue(m.attTimers[ev.idx])
	case evExTimer:
		m.deadlineDue(m.exTimers[ev.idx])
	case evWake:
		if ex := m.exchanges[ev.idx]; ex.gen == ev.gen {
			m.wake(ex)
		}
	case evFaultStart:
		m.faultStart(m.faults[ev.idx])
	case evFaultEnd:
		m.faultEnd(m.faults[ev.idx])
	case evResume:
		m.resume(m.replicas[ev.idx])
	case evSweep:
		m.clusters[ev.idx].runSweep()
	case evHealthCheck:
		m.clusters[ev.idx].healthCheck(int(ev.gen))
	case evHealthPass:
		m.clusters[ev.idx].healthReport(int(ev.gen), true)
	case evHealthFail:
		m.clusters[ev.idx].healthReport(int(ev.gen), false)
	case evRegList:
		m.registryList()
	case evFaultHold:
		if ex := m.exchanges[ev.idx]; ex.gen == ev.gen {
			m.gatewayDelayed(ex)
		}
	case evCacheHit:
		if ex := m.exchanges[ev.idx]; ex.gen == ev.gen {
			m.cacheAnswered(ex)
		}
	case evIntrospected:
		if ex := m.exchanges[ev.idx]; ex.gen == ev.gen {
			m.introspectionAnswered(ex)
		}
	case evCPU:
		m.cpuDue(ev.gen)
	case evHostMark:
		m.host.mark(m.t, ev.gen)
	case evTest:
		m.testEvent(ev.idx)
	}
}

// perTryDue fires the per-try timeouts of l that are due.
func (m *model) perTryDue(l *timerList[attempt]) {
	if !l.wake(m.t) {
		return
	}
	for a := l.popDue(m.t); a != nil; a = l.popDue(m.t) {
		m.attemptTimedOut(a)
	}
	if at := l.rearm(); at >= 0 {
		m.at(at, event{kind: evAttTimer, idx: l.id})
	}
}

// deadlineDue fires the request timeouts of l that are due.
func (m *model) deadlineDue(l *timerList[exchange]) {
	if !l.wake(m.t) {
		return
	}
	for ex := l.popDue(m.t); ex != nil; ex = l.popDue(m.t) {
		m.timedOut(ex)
	}
	if at := l.rearm(); at >= 0 {
		m.at(at, event{kind: evExTimer, idx: l.id})
	}
}

// addAttTimer and addExTimer link a timer and arm its list's wake-up.
func (m *model) addAttTimer(l *timerList[attempt], n *timerNode[attempt], at int64) {
	if w := l.add(n, at); w >= 0 {
		m.at(w, event{kind: evAttTimer, idx: l.id})
	}
}

func (m *model) addExTimer(l *timerList[exchange], n *timerNode[exchange], at int64) {
	if w := l.add(n, at); w >= 0 {
		m.at(w, event{kind: evExTimer, idx: l.id})
	}
}

func (m *model) newAttTimers() *timerList[attempt] {
	l := &timerList[attempt]{armed: -1, id: int32(len(m.attTimers))}
	m.attTimers = append(m.attTimers, l)
	return l
}

func (m *model) newExTimers() *timerList[exchange] {
	l := &timerList[exchange]{armed: -1, id: int32(len(m.exTimers))}
	m.exTimers = append(m.exTimers, l)
	return l
}

// flush answers every client request still open past the drain limit as a
// timeout. With every request under a deadline shorter than the drain limit
// it never has anything to do; it is a guard, not a mechanism.
func (m *model) flush() {
	for _, r := range m.gw.routes {
		for n := r.timers.head; n != nil; n = r.timers.head {
			ex := n.obj
			ex.req.ClientGone(m.clock()) // stops its tries, blaming nobody
			for _, a := range ex.req.Actions() {
				if a.Kind == lifecycle.Cancel {
					if at := ex.take(a.Try); at != nil {
						m.stopWaiting(at)
					}
				}
			}
			m.complete(ex, outcomeTimeout, nil)
		}
	}
	if m.host != nil {
		m.flushHost()
	}
}

package sim

import (
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// pool is a cluster's upstream connections, as far as the thresholds
// max_connections and max_pending_requests see them: whether a try goes
// out at once, waits for a connection, or is refused (503 overflow), as
// the real proxy's pools decide.
//
// HTTP/1.1 (protocol http) carries one request at a time per connection,
// and the proxy keeps a connection per try in flight: at max_connections
// busy connections a try waits, in FIFO order, as a pending request for
// one to come free (an answer, or a try given up, frees it), and beyond
// max_pending waiting tries it is refused. max_connections thus bounds the
// cluster's concurrency.
//
// HTTP/2 (protocol grpc, h2c clusters) carries every try to an endpoint as
// a stream on one shared connection: a try needs its endpoint's connection
// to be open, which it is after the first try to it, and only a first try
// to an endpoint when max_connections connections are open is refused.
// max_connections then bounds how many endpoints the proxy reaches, not
// concurrency (max_requests does, in the lifecycle, for both protocols).
// Connections are not closed when idle (the run is shorter than an idle
// timeout), and one connection's streams are not limited (net/http opens a
// second connection past the server's MAX_CONCURRENT_STREAMS, 250 for Go's
// server, which the model does not).
type pool struct {
	h2       bool
	maxConns int
	maxPend  int

	busy    int        // HTTP/1.1: connections carrying a try
	waiting []*attempt // HTTP/1.1: tries waiting, FIFO; given-up ones stay until reached
	head    int        // waiting[head:] is the queue
	live    int        // tries in waiting still wanted

	open  []bool // HTTP/2: an endpoint's connection, by Tag
	nopen int
}

// newPool is the pool of cluster cc with endpoints endpoints; nil when its
// max_connections is unbounded (a scenario without a circuitBreaker
// block), where no try ever waits or is refused for a connection.
func newPool(cc config.ClusterConfig, endpoints int) *pool {
	t := breaker.Thresholds{MaxConnections: cc.Thresholds.MaxConnections, MaxPending: cc.Thresholds.MaxPending}
	conns := t.Limit(breaker.Connections)
	if conns >= dataplane.Unbounded {
		return nil
	}
	p := &pool{h2: cc.Protocol == config.ProtocolH2C, maxConns: conns, maxPend: t.Limit(breaker.PendingRequests)}
	if p.h2 {
		p.open = make([]bool, endpoints)
	}
	return p
}

// outcomeOverflow is a try refused by the pool: the proxy answers 503
// overflow when it is the last.
var outcomeOverflow = outcome{status: 503, fail: lifecycle.Overflow, kind: bench.KindBreakerOpen}

// send puts try a on the network through its cluster's pool: at once, or
// when a connection comes free, or as an overflow failure now.
func (m *model) send(a *attempt, tag int) {
	p := a.cl.pool
	if p == nil {
		m.transmit(a)
		return
	}
	if p.h2 {
		if !p.open[tag] {
			if p.nopen >= p.maxConns {
				m.overflow(a)
				return
			}
			p.open[tag] = true
			p.nopen++
		}
		m.transmit(a)
		return
	}
	switch {
	case p.busy < p.maxConns:
		p.busy++
		a.conn = true
		m.transmit(a)
	case p.live < p.maxPend:
		a.waiting = true
		p.live++
		p.waiting = append(p.waiting, a)
	default:
		m.overflow(a)
	}
}

// overflow fails a at once, as a local refusal.
func (m *model) overflow(a *attempt) {
	a.resp, a.produced = outcomeOverflow, false
	m.at(m.t, event{kind: evResponse, att: a})
}

// leavePool is called when the proxy stops waiting for a: a waiting try
// leaves the queue, and a connection a held goes to the next waiting try.
func (m *model) leavePool(a *attempt) {
	p := a.cl.pool
	if p == nil {
		return
	}
	if a.waiting {
		a.waiting = false
		p.live--
	}
	if !a.conn {
		return
	}
	a.conn = false
	p.busy--
	for p.head < len(p.waiting) {
		b := p.waiting[p.head]
		p.waiting[p.head] = nil
		p.head++
		if !b.waiting {
			m.unref(b) // given up while waiting: the queue's hold ends
			continue
		}
		b.waiting = false
		p.live--
		p.busy++
		b.conn = true
		m.transmit(b)
		break
	}
	if p.head == len(p.waiting) {
		p.waiting, p.head = p.waiting[:0], 0
	}
}

package sim

import (
	"math"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// host models the machine the real backends run on (a scenario's host
// block): its cores, shared by every piece of CPU work in flight — the load
// generator's, the gateway's, the sidecars', the replicas' and the
// security costs of hopcost.go — as egalitarian processor sharing (PS):
// with n jobs in the system each is served at rate min(1, cores/n) cores,
// so a lone job runs at the speed of one core (a request's work is one
// goroutine at a time) and beyond `cores` jobs everyone slows down alike.
// PS is the classic idealisation of a time-sharing scheduler with a small
// quantum (Kleinrock, "Time-shared systems: a theoretical treatment",
// JACM 14(2), 1967; Kleinrock, Queueing Systems vol. 2, ch. 4), and the
// multi-server form used here is Harchol-Balter's (Performance Modeling and
// Design of Computer Systems, 2013, ch. 22): Linux's CFS and Go's
// scheduler both hand every runnable thread or goroutine a fair share of
// the cores at a granularity (milliseconds and below) far finer than the
// latencies that matter here, and with many small jobs the order in which
// a real scheduler runs them changes little beside the share each gets.
// What PS leaves out: cache and context-switch costs that grow with load,
// the Go runtime's GC bursts, and work whose CPU depends on load (a
// proxy's CPU per request falls as batching rises; proxy/README.md).
//
// Jobs are tracked by attained service, which every job in the system
// shares under egalitarian PS: s(t) grows at rate min(1, cores/n). A job
// that needs c of CPU and arrives when the clock reads s0 finishes when
// s reaches s0 + c; the jobs sit in a heap by that target (ties in arrival
// order), and one engine event, rescheduled whenever n changes, fires at
// the next completion. An arrival or a completion costs O(log n), and the
// run stays a deterministic function of plan, variant and seed: the model
// draws no random numbers.
//
// Every hook that hands work to the host (client.go, gateway.go,
// replica.go, the hop costs in replica.go's transmit) checks for a nil
// host first: without a host block nothing is scheduled and nothing
// changes.
type host struct {
	cores float64
	cpu   hostCPU

	s    float64 // attained service per job, ns of CPU, at time last
	last int64   // virtual time s was last brought up to date
	jobs []cpuJob
	seq  uint64
	gen  uint32   // generation of the pending completion event
	due  []cpuJob // the jobs cpuDue completes, reused

	// busyNS is the integral of the cores in use (min(n, cores)) over
	// time, in core-ns: utilisation over a span is its growth over
	// cores × span.
	busyNS float64
	done   int64 // jobs completed

	// window is busyNS at the start and at the end of the measured
	// window (after the warm-up, to the end of the load), and when each
	// was read; marked counts the readings taken.
	window [2]float64
	at     [2]int64
	marked int

	// curve scales the components' jobs by the host's job rate
	// (hostcurve.go); nil: as given. jobRate is the job rate's running
	// estimate, in jobs per second, as of rateAt, kept when tracksRate
	// is set: with a curve, or for the calibration's latency curve
	// (calib.latencyScale).
	curve      []scalePoint
	jobRate    float64
	rateAt     int64
	tracksRate bool

	// caps bound, by component and protocol, the part of a component's
	// CPU that lies on a request's path (hostpath.go); negative: no
	// bound, all of it (newHost's default).
	caps [numComponents][2]int64
}

// hostCPU is the CPU time per request of each component, in ns. Over gRPC
// (a workload or service of protocol grpc) a proxy spends grpcProxy in
// place of its HTTP/1.1 figure when that is set, and each end of a gRPC
// call half of grpcCall on top of its own. (A proxy's CPU under mutual TLS
// has no figure of its own: charged on top of the calibrated mtls hop,
// which includes it, it overstated mtls-cost's p50; docs/host-model.md.)
type hostCPU struct {
	client, gateway, sidecar, replica int64
	grpcProxy, grpcCall               int64
}

// proxy is a proxy's CPU for one request it forwards: http, its figure for
// HTTP/1.1, or grpcProxy over gRPC when measured.
func (c *hostCPU) proxy(http int64, grpc bool) int64 {
	if grpc && c.grpcProxy > 0 {
		return c.grpcProxy
	}
	return http
}

// end is one end's CPU for a request: own, with half of grpcCall over gRPC.
func (c *hostCPU) end(own int64, grpc bool) int64 {
	if grpc {
		return own + c.grpcCall/2
	}
	return own
}

// jobKind says what a CPU job was doing, so that its completion continues
// the work that waited for it.
type jobKind uint8

const (
	jobClient     jobKind = iota // the load generator sends a request (idx: exchange)
	jobGateway                   // the gateway takes a client request (idx: exchange)
	jobSidecar                   // a caller's proxy takes a call (idx: exchange)
	jobReplica                   // a replica handles a request it serves (att)
	jobHop                       // a proxy's security CPU on a try's hop (att; rest: the hop's delay after it)
	jobBackground                // a component's CPU off the requests' path (hostpath.go): nothing waits for it
	jobTest                      // tests: the completion is only recorded
)

// cpuJob is one piece of CPU work in the host.
type cpuJob struct {
	target float64 // attained service at which it is done
	seq    uint64  // arrival order, for ties
	att    *attempt
	rest   int64 // jobHop: the hop's delay after it; a component's: its CPU off the path, after it
	gen    uint32
	idx    int32
	kind   jobKind
}

func newHost(h *scenarios.Host, curve []scalePoint) *host {
	if h == nil {
		return nil
	}
	out := &host{
		curve:      curve,
		tracksRate: curve != nil,
		cores:      float64(max(h.Cores, 1)),
		cpu: hostCPU{
			client:  int64(h.CPU.Client),
			gateway: int64(h.CPU.Gateway),
			sidecar: int64(h.CPU.Sidecar),
			replica: int64(h.CPU.Replica),

			grpcProxy: int64(h.CPU.GRPCProxy),
			grpcCall:  int64(h.CPU.GRPCCall),
		},
	}
	for c := range out.caps {
		out.caps[c] = [2]int64{-1, -1}
	}
	return out
}

// rate is the cores each job gets with n in the system.
func (h *host) rate(n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Min(1, h.cores/float64(n))
}

// advance brings the attained-service clock up to t.
func (h *host) advance(t int64) {
	if dt := t - h.last; dt > 0 && len(h.jobs) > 0 {
		n := len(h.jobs)
		h.s += float64(dt) * h.rate(n)
		h.busyNS += float64(dt) * math.Min(float64(n), h.cores)
	}
	h.last = t
}

// nextDone is when, with nobody arriving, the earliest job completes.
func (h *host) nextDone() int64 {
	left := h.jobs[0].target - h.s
	if left <= 0 {
		return h.last
	}
	return h.last + int64(math.Ceil(left/h.rate(len(h.jobs))))
}

// markWindow schedules the readings of the host's busy time at the start
// and the end of the measured window. It runs before model.start, so that
// each reading is the first event of its instant: the run loop stops at
// the end only after an event at or past it.
func (m *model) markWindow(warmup time.Duration) {
	if m.host == nil {
		return
	}
	m.at(min(int64(warmup), m.end), event{kind: evHostMark, gen: 0})
	m.at(m.end, event{kind: evHostMark, gen: 1})
}

// mark takes reading i (0: the window's start, 1: its end) at t.
func (h *host) mark(t int64, i uint32) {
	h.window[i], h.at[i] = h.busy(t), t
	h.marked++
}

// spent is the core-time the host served over the measured window; nil
// without a host, or before both readings (a cancelled run).
func (h *host) spent() *bench.CPUSpent {
	if h == nil || h.marked < 2 {
		return nil
	}
	return &bench.CPUSpent{
		Used: time.Duration(h.window[1] - h.window[0]),
		Span: time.Duration(h.at[1] - h.at[0]),
	}
}

// busy is the core-time used up to t, in core-ns.
func (h *host) busy(t int64) float64 {
	h.advance(t)
	return h.busyNS
}

// cpu starts CPU job j needing c ns of CPU at the model's now, and
// reschedules the next completion.
func (m *model) cpu(j cpuJob, c int64) {
	h := m.host
	h.advance(m.t)
	j.target = h.s + float64(c)
	j.seq = h.seq
	h.seq++
	h.push(j)
	m.armHost()
}

// armHost schedules the event of the next completion; events of earlier
// schedules become stale (their generation no longer matches).
func (m *model) armHost() {
	h := m.host
	h.gen++
	if len(h.jobs) > 0 {
		m.at(h.nextDone(), event{kind: evCPU, gen: h.gen})
	}
}

// cpuDue completes the jobs that are done by now and continues their work.
// Completions are taken before any continuation runs, since a
// continuation may start new jobs.
func (m *model) cpuDue(gen uint32) {
	h := m.host
	if gen != h.gen {
		return
	}
	h.advance(m.t)
	// Half a nanosecond of slack: nextDone rounds up to whole ns, so a
	// job due now has at most rounding error left.
	due := h.due[:0]
	for len(h.jobs) > 0 && h.jobs[0].target <= h.s+0.5 {
		due = append(due, h.pop())
	}
	h.due = due
	h.done += int64(len(due))
	m.armHost()
	for i := range due {
		m.cpuDone(due[i])
	}
}

// cpuDone continues the work that waited for job j.
func (m *model) cpuDone(j cpuJob) {
	if j.kind <= jobReplica && j.rest > 0 {
		// A component's CPU off the request's path (hostpath.go).
		m.cpu(cpuJob{kind: jobBackground}, j.rest)
	}
	switch j.kind {
	case jobClient:
		if ex := m.exchanges[j.idx]; ex.gen == j.gen {
			m.toGateway(ex)
		}
	case jobGateway:
		if ex := m.exchanges[j.idx]; ex.gen == j.gen {
			m.gatewayRoute(ex)
		}
	case jobSidecar:
		if ex := m.exchanges[j.idx]; ex.gen == j.gen {
			m.callBegin(ex)
		}
	case jobReplica:
		if a := j.att; a.gen == j.gen {
			m.serve(a)
		}
	case jobHop:
		if a := j.att; a.gen == j.gen {
			m.at(m.t+j.rest, event{kind: evArrive, att: a})
		}
	case jobTest:
		if m.cpuTestDone != nil {
			m.cpuTestDone(j.idx, time.Duration(m.t))
		}
	}
}

// flushHost answers, as timeouts, the client requests still waiting for
// the load generator's or the gateway's CPU at the drain limit (see flush):
// they are on no route's timer list yet. Only an overloaded host leaves
// any.
func (m *model) flushHost() {
	for _, j := range m.host.jobs {
		if j.kind != jobClient && j.kind != jobGateway {
			continue
		}
		if ex := m.exchanges[j.idx]; ex.gen == j.gen {
			m.answer(ex, outcomeTimeout, nil)
			m.freeExchange(ex)
		}
	}
}

// The jobs' heap: a binary min-heap by (target, seq), by hand so that jobs
// stay values and pushing allocates nothing once the slice has grown.

func (h *host) less(i, k int) bool {
	a, b := &h.jobs[i], &h.jobs[k]
	if a.target != b.target {
		return a.target < b.target
	}
	return a.seq < b.seq
}

func (h *host) push(j cpuJob) {
	h.jobs = append(h.jobs, j)
	for i := len(h.jobs) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.jobs[i], h.jobs[p] = h.jobs[p], h.jobs[i]
		i = p
	}
}

func (h *host) pop() cpuJob {
	top := h.jobs[0]
	n := len(h.jobs) - 1
	h.jobs[0] = h.jobs[n]
	h.jobs[n] = cpuJob{}
	h.jobs = h.jobs[:n]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < n && h.less(l, small) {
			small = l
		}
		if r < n && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h.jobs[i], h.jobs[small] = h.jobs[small], h.jobs[i]
		i = small
	}
	return top
}

package sim

import (
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/scenarios"
)

// The CPU costs of the security features, measured on this project's
// machines (2-core Intel Xeon VM shared with other jobs, Go 1.26,
// linux/amd64) with the benchmarks named, -cpu 1, medians of 5 or 6
// runs. Both ends of a connection run in one process in those benchmarks,
// so each figure is the CPU of the proxy and its peer together: on a hop
// it is time the try spends before its answer is back.
const (
	// HandshakeCost is one full TLS 1.3 handshake with client
	// certificates between two ECDSA P-256 X509-SVIDs: ECDHE, a signature
	// by each end, each end verifying the other's chain and SPIFFE ID.
	// BenchmarkMTLSHandshake (proxy/mtls): 685 µs per handshake.
	HandshakeCost = 685 * time.Microsecond
	// TLSRequestCost is what one try costs more over an established
	// mutual TLS connection than in plaintext, through the proxy's own
	// transports: the CPU (cpu-ns/op) of a 200-byte POST and its 400-byte
	// answer through the proxy to an upstream behind mtls.Listen, minus
	// the same through a plaintext HTTP/1.1 cluster.
	// BenchmarkUpstreamMTLS (proxy): mtls 60.2 µs − plaintext 36.4 µs.
	// Of that, the TLS records themselves are about 1 µs
	// (BenchmarkTLSRequest, proxy/mtls: mtls 2.44 µs − plaintext 1.42 µs);
	// the rest is net/http's general transport, which https clusters use
	// where plaintext HTTP/1.1 has the proxy's own client, and the server's
	// TLS connection.
	TLSRequestCost = 23800 * time.Nanosecond
	// JWTVerifyCost is the gateway's verification of one ES256 bearer
	// token (parse, key lookup, ECDSA P-256 verification, issuer, audience
	// and times) with proxy/auth's verifier.
	// BenchmarkJWTVerifyES256 (proxy/auth): 69.9 µs.
	JWTVerifyCost = 69900 * time.Nanosecond
)

// conns models what mutual TLS costs one cluster: the proxy's upstream
// connections, as far as a new one needs a handshake. It is separate from
// pool, which models only the thresholds that refuse or queue tries, and
// exists only when the variant's policy turns mutual TLS on: without it a
// hop costs nothing and draws nothing, as before.
//
// Over HTTP/1.1 a try takes an idle connection to its endpoint when there
// is one, and otherwise opens one; a try answered in full gives its
// connection back to the idle set (up to the cluster's maxIdleConnsPerHost,
// as net/http's pool keeps them), and a try that failed or was abandoned
// (a reset, a timeout, a cancelled hedge) takes its connection with it, as
// the proxy closes a connection whose answer it did not read to the end.
// Over HTTP/2 (grpc) every try to an endpoint is a stream on one
// connection, opened by the first try and lost with a reset.
//
// Every rotateEvery the certificates are renewed and the proxies close
// their idle connections (bench/local's mesh does the same): at each
// renewal the idle sets empty, an HTTP/2 connection without streams
// closes, and connections busy at that moment go back to the pool when
// their try ends. Renewals are applied lazily, when the cluster is next
// touched, from the virtual time alone.
type conns struct {
	h2      bool
	maxIdle int32
	every   int64 // renewal period, ns; 0: none within the run
	epoch   int64 // renewals applied so far
	tagOf   map[*replica]int32

	idle    []int32 // HTTP/1.1: idle connections, by endpoint Tag
	open    []bool  // HTTP/2: the endpoint's connection is up, by Tag
	streams []int32 // HTTP/2: tries in flight on it, by Tag

	handshakes int64 // handshakes so far (for tests and reports)
}

// newConns is cluster cc's connection model under policy p; nil without
// mutual TLS.
func newConns(p *scenarios.Policy, cc config.ClusterConfig, reps []*replica) *conns {
	if !p.MTLSOn() {
		return nil
	}
	n := len(reps)
	c := &conns{
		h2:      cc.Protocol == config.ProtocolH2C,
		maxIdle: int32(config.DefaultMaxIdleConnsPerHost),
		every:   int64(p.Security.MTLS.RotateEvery),
		tagOf:   make(map[*replica]int32, n),
		idle:    make([]int32, n),
		open:    make([]bool, n),
		streams: make([]int32, n),
	}
	if v := cc.Connection.MaxIdleConnsPerHost; v > 0 {
		c.maxIdle = int32(v)
	}
	for i, r := range reps {
		c.tagOf[r] = int32(i)
	}
	return c
}

// renew applies the renewals due by t: idle connections close.
func (c *conns) renew(t int64) {
	if c.every <= 0 {
		return
	}
	e := t / c.every
	if e == c.epoch {
		return
	}
	c.epoch = e
	clear(c.idle)
	for i := range c.open {
		if c.streams[i] == 0 {
			c.open[i] = false
		}
	}
}

// hopCost is what security adds to try a's way to its replica, whose hop
// was drawn as hop, split into CPU and waiting: the CPU of the gateway's
// JWT verification before a client request's first try on a route with
// auth type jwt, and under mutual TLS the CPU of the records of the try and
// its answer plus, on a new connection, of a handshake; the waiting is the
// handshake's round trip (twice hop: no draw of its own, so that every
// other draw stays where it was and variants keep their common random
// numbers). Without a host model both are a delay of the hop (the proxies'
// CPU is not a queue then, see the package doc); with one the CPU runs on
// the host's cores (host.go). With a calibration profile the hop also
// waits the measured costs of calibration.go (tryCost): latencies measured
// on the machine, which delay the hop with or without a host model, and
// whose mtls figure replaces TLSRequestCost.
func (m *model) hopCost(a *attempt, hop int64) (cpu, wait int64) {
	if m.cal != nil {
		wait += m.cal.tryCost(a, m.host)
	}
	if ex := a.ex; ex != nil && ex.route != nil && a.try == 1 {
		if au := ex.route.spec.auth; au != nil && au.typ == scenarios.AuthJWT {
			cpu += int64(JWTVerifyCost)
		}
	}
	c := a.cl.tls
	if c == nil || a.rep.down {
		return cpu, wait
	}
	if m.cal == nil {
		// A calibration's mtls hop measured the records with the rest.
		cpu += int64(TLSRequestCost)
	}
	c.renew(m.t)
	tag := c.tagOf[a.rep]
	a.tls = true
	if c.h2 {
		c.streams[tag]++
		if c.open[tag] {
			return cpu, wait
		}
		c.open[tag] = true
	} else if c.idle[tag] > 0 {
		c.idle[tag]--
		return cpu, wait
	}
	c.handshakes++
	return cpu + m.cal.handshakeCost(), wait + 2*hop
}

// connLost ends the stream of a try that is recycled without its answer
// having come back (lost on the network, dropped unserved): its HTTP/1.1
// connection is gone with it; an HTTP/2 connection carries one stream
// less.
func (m *model) connLost(a *attempt) {
	if !a.tls {
		return
	}
	a.tls = false
	if c := a.cl.tls; c.h2 {
		c.streams[c.tagOf[a.rep]]--
	}
}

// connDone settles the connection of try a when its answer or failure
// reaches the proxy: kept for the next try after a full answer the proxy
// was waiting for, closed otherwise.
func (m *model) connDone(a *attempt) {
	if !a.tls {
		return
	}
	a.tls = false
	c := a.cl.tls
	c.renew(m.t)
	tag := c.tagOf[a.rep]
	ok := a.open && a.resp.fail == lifecycle.NoFailure
	if c.h2 {
		c.streams[tag]--
		if a.resp.fail == lifecycle.Reset || a.resp.fail == lifecycle.Refused {
			c.open[tag] = false
		}
		return
	}
	if ok && c.idle[tag] < c.maxIdle {
		c.idle[tag]++
	}
}

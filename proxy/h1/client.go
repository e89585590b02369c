package h1

import (
	"bufio"
	"container/list"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// Client is a cluster's client for plain-text HTTP/1.1 upstreams, and its
// pool of connections. net/http's Transport gives each pooled connection a
// reader and a writer goroutine and passes every request between them and
// the caller over channels; for a proxy's small requests those hand-offs and
// the parked reads behind them cost more than the proxying itself (see
// `make bench-proxy` and the closing note of the proxy issue). Client
// writes the request and reads the answer on the caller's goroutine over a
// pooled connection, writing and parsing with codec.go.
//
// It takes plain-text requests whose body is absent or of a known length up
// to MaxBody. The rest goes to the Transport, which it wraps: bodies of
// unknown or large length (the Transport streams them while it reads the
// answer, so an upstream that answers before reading everything is heard),
// Expect: 100-continue, protocol upgrades and TLS.
//
// Its connections count against the cluster's thresholds as Envoy's do
// (circuit breaking): each open one holds a max_connections unit (Dialer),
// and a request that finds the cluster at max_connections waits for a
// connection to come free as one of at most max_pending pending requests.
// Pending requests are served in the order they came, per upstream address,
// as Envoy's connection pools serve theirs: a connection that goes back to
// the pool is handed to the oldest request waiting for its address, and a
// request that arrives while others wait queues behind them (it finds no
// idle connection: put handed it over). Waking every waiter to race for the
// connection instead, with newcomers taking it first, spreads the waits:
// some requests wait far longer than the queue is deep, which widens the
// tail (the simulator's pools are FIFO; sim/pool.go).
type Client struct {
	fallback       *http.Transport
	dialer         *Dialer
	maxIdle        int
	maxIdlePerHost int
	idleTimeout    time.Duration

	adm            *breaker.Admission // PendingRequests: requests waiting for a connection
	maxHeaderBytes int64              // of an answer's head

	mu      sync.Mutex
	idle    map[string][]*UpstreamConn // by address; the most recently used last
	nidle   int
	closed  bool                  // CloseIdleConnections ran: connections are no longer pooled
	waiters int                   // requests waiting for a connection to come free
	freed   chan struct{}         // closed (and replaced) when one does, while there are waiters
	queue   map[string]*list.List // waiting requests (*waiter) by address, oldest first
}

// waiter is a pending request: put hands it a connection to its address.
type waiter struct {
	got  chan *UpstreamConn // buffered: one connection, at most
	elem *list.Element      // in Client.queue while queued, else nil
}

// ClientConfig is a Client's pool of idle connections.
type ClientConfig struct {
	// MaxIdleConns bounds the idle connections kept, over all addresses;
	// 0 keeps none.
	MaxIdleConns int
	// MaxIdleConnsPerHost bounds the idle connections kept to one address;
	// 0 keeps none.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes connections idle this long; 0 keeps them.
	IdleConnTimeout time.Duration
}

// MaxBody is the largest request body a Client sends itself (a larger one
// goes to its fallback Transport): small enough that writing it before
// reading the answer never stalls on a full socket buffer.
const MaxBody = 64 << 10

// NewClient returns a client that dials through d, waits as a pending
// request within d's admission, and hands fallback what it does not take;
// fallback should dial through d too, so that max_connections counts its
// connections. Connections d closes, the fallback's included, wake the
// client's pending requests.
func NewClient(fallback *http.Transport, d *Dialer, cfg ClientConfig) *Client {
	c := &Client{
		fallback:       fallback,
		dialer:         d,
		adm:            d.adm,
		maxHeaderBytes: maxAnswerHeadBytes,
		freed:          make(chan struct{}),
		maxIdle:        cfg.MaxIdleConns,
		maxIdlePerHost: cfg.MaxIdleConnsPerHost,
		idleTimeout:    cfg.IdleConnTimeout,
		idle:           map[string][]*UpstreamConn{},
		queue:          map[string]*list.List{},
	}
	d.freed = c.freedOne
	return c
}

// takes reports whether the client sends req itself, not the fallback.
func (c *Client) takes(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Header["Expect"] != nil || req.Header["Upgrade"] != nil {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.ContentLength > 0 && req.ContentLength <= MaxBody
}

// RoundTrip sends req and returns the answer; the response body must be
// read to the end or closed, after which the connection goes back to the
// pool (when both sides allow keep-alive).
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if !c.takes(req) {
		return c.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	pc, err := c.get(ctx, addr)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	return pc.roundTrip(req)
}

// Take returns a connection to addr for one request: the most recently
// used idle one that is still open, else one dialled, waiting as a pending
// request at max_connections as RoundTrip does. With a deadline (zero:
// none), dialling and waiting stop then, and fail with cause.
func (c *Client) Take(ctx context.Context, addr string, deadline time.Time, cause error) (*UpstreamConn, error) {
	if pc := c.idleConn(addr); pc != nil {
		return pc, nil
	}
	if deadline.IsZero() {
		return c.get(ctx, addr)
	}
	dctx, cancel := context.WithDeadlineCause(ctx, deadline, cause)
	defer cancel()
	pc, err := c.get(dctx, addr)
	if err != nil && dctx.Err() != nil {
		err = context.Cause(dctx)
	}
	return pc, err
}

// get takes the most recently used idle connection to addr that is still
// open, or dials a new one. When the cluster is at maxConnections the
// request waits for a connection to come free, as one of Envoy's pending
// requests: at most maxPending wait at once, the others are refused
// (overflow), a waiter is handed a connection to addr when one goes back to
// the pool, oldest waiter first, or dials when a connection is closed, and
// it gives up when its context ends.
func (c *Client) get(ctx context.Context, addr string) (*UpstreamConn, error) {
	var w *waiter
	defer func() {
		if w != nil {
			c.leave(addr, w)
		}
	}()
	for {
		var wait chan struct{}
		if w != nil {
			c.mu.Lock()
			wait = c.freed
			c.mu.Unlock()
		} else if pc := c.idleConn(addr); pc != nil {
			return pc, nil
		}
		nc, err := c.dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.newConn(addr, nc), nil
		}
		var de *DialError
		if !errors.As(err, &de) || !de.Overflow {
			return nil, err
		}
		if w == nil {
			if !c.adm.Acquire(breaker.PendingRequests) {
				return nil, err
			}
			var pc *UpstreamConn
			if w, pc = c.join(addr); pc != nil {
				return pc, nil
			}
			continue // dial again: a connection may have closed meanwhile
		}
		// Every connection is in use or idle towards other endpoints:
		// closing an idle one lets this request dial its own.
		if c.closeIdleOther(addr) {
			continue
		}
		select {
		case pc := <-w.got:
			return pc, nil
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// join queues a pending request for addr behind the others, unless a
// connection to addr went idle since it looked (then it takes that one and
// queues nothing: w is nil).
func (c *Client) join(addr string) (w *waiter, pc *UpstreamConn) {
	for {
		c.mu.Lock()
		if idle := c.idle[addr]; len(idle) > 0 {
			pc = idle[len(idle)-1]
			idle[len(idle)-1] = nil
			c.idle[addr] = idle[:len(idle)-1]
			c.nidle--
			c.mu.Unlock()
			if c.idleTimeout > 0 && time.Since(pc.idleAt) >= c.idleTimeout || pc.closedByPeer() {
				pc.nc.Close()
				continue
			}
			c.adm.Release(breaker.PendingRequests)
			return nil, pc
		}
		w = &waiter{got: make(chan *UpstreamConn, 1)}
		q := c.queue[addr]
		if q == nil {
			q = list.New()
			c.queue[addr] = q
		}
		w.elem = q.PushBack(w)
		c.waiters++
		c.mu.Unlock()
		return w, nil
	}
}

// leave ends w's wait: it leaves the queue if it is still in it, and a
// connection handed to it after it stopped waiting goes back to the pool
// (to the next waiter).
func (c *Client) leave(addr string, w *waiter) {
	c.mu.Lock()
	if w.elem != nil {
		q := c.queue[addr]
		q.Remove(w.elem)
		w.elem = nil
		if q.Len() == 0 {
			delete(c.queue, addr)
		}
	}
	c.waiters--
	c.mu.Unlock()
	c.adm.Release(breaker.PendingRequests)
	select {
	case pc := <-w.got:
		c.put(pc)
	default:
	}
}

// idleConn takes the most recently used idle connection to addr that is
// still open, or returns nil.
func (c *Client) idleConn(addr string) *UpstreamConn {
	for {
		c.mu.Lock()
		list := c.idle[addr]
		n := len(list)
		if n == 0 {
			c.mu.Unlock()
			return nil
		}
		pc := list[n-1]
		list[n-1] = nil
		c.idle[addr] = list[:n-1]
		c.nidle--
		c.mu.Unlock()
		if c.idleTimeout > 0 && time.Since(pc.idleAt) >= c.idleTimeout || pc.closedByPeer() {
			pc.nc.Close()
			continue
		}
		return pc
	}
}

// newConn makes nc, just dialled, a connection of the pool.
func (c *Client) newConn(addr string, nc net.Conn) *UpstreamConn {
	pc := &UpstreamConn{c: c, addr: addr, nc: nc, bw: bufio.NewWriterSize(nc, 4<<10), readLimit: math.MaxInt64}
	pc.br = bufio.NewReaderSize(limitedReader{pc}, 4<<10)
	inner := nc
	if cc, ok := nc.(*countedConn); ok {
		inner = cc.Conn
	}
	pc.fd = -1
	if sc, ok := inner.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { pc.fd = int(fd) })
		}
	}
	return pc
}

// closeIdleOther closes the oldest idle connection to an endpoint other
// than addr, freeing its maxConnections unit; false when there is none.
func (c *Client) closeIdleOther(addr string) bool {
	c.mu.Lock()
	var victim *UpstreamConn
	for a, list := range c.idle {
		if a != addr && len(list) > 0 {
			victim = list[0]
			c.idle[a] = append(list[:0], list[1:]...)
			c.nidle--
			break
		}
	}
	c.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.nc.Close()
	return true
}

// freedOne wakes the pending requests, if any, when a connection went back
// to the pool or was closed.
func (c *Client) freedOne() {
	c.mu.Lock()
	if c.waiters > 0 {
		close(c.freed)
		c.freed = make(chan struct{})
	}
	c.mu.Unlock()
}

// put returns pc to the pool, or closes it when the pool is full or closed.
func (c *Client) put(pc *UpstreamConn) {
	pc.idleAt = time.Now()
	c.mu.Lock()
	if q := c.queue[pc.addr]; q != nil && !c.closed {
		// The oldest request waiting for this address takes it.
		w := q.Remove(q.Front()).(*waiter)
		w.elem = nil
		if q.Len() == 0 {
			delete(c.queue, pc.addr)
		}
		w.got <- pc
		c.mu.Unlock()
		return
	}
	list := c.idle[pc.addr]
	if c.closed || len(list) >= c.maxIdlePerHost || c.nidle >= c.maxIdle {
		c.mu.Unlock()
		pc.nc.Close()
		return
	}
	// Drop the oldest idle connection when it has timed out, so that a pool
	// shrinks after a burst without a janitor.
	var expired *UpstreamConn
	if len(list) > 0 && c.idleTimeout > 0 && pc.idleAt.Sub(list[0].idleAt) >= c.idleTimeout {
		expired = list[0]
		list = append(list[:0], list[1:]...)
		c.nidle--
	}
	c.idle[pc.addr] = append(list, pc)
	c.nidle++
	if c.waiters > 0 {
		close(c.freed)
		c.freed = make(chan struct{})
	}
	c.mu.Unlock()
	if expired != nil {
		expired.nc.Close()
	}
}

// CloseIdleConnections closes every idle connection, the fallback
// Transport's too; connections still answering are closed when their
// answer is done instead of going back to the pool.
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.nidle, c.closed = map[string][]*UpstreamConn{}, 0, true
	c.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.nc.Close()
		}
	}
	c.fallback.CloseIdleConnections()
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// upstreamClient is what a cluster sends its tries through: a RoundTripper whose
// idle connections can be closed.
type upstreamClient interface {
	http.RoundTripper
	CloseIdleConnections()
}

// h1Client is a cluster's client for plain-text HTTP/1.1 upstreams, the data
// plane's fast path. net/http's Transport gives each pooled connection a
// reader and a writer goroutine and passes every request between them and
// the caller over channels; for a proxy's small requests those hand-offs and
// the parked reads behind them cost more than the proxying itself (see
// `make bench-proxy` and the closing note of the proxy issue). h1Client
// writes the request and reads the answer on the caller's goroutine over a
// pooled connection, writing and parsing with h1codec.go.
//
// It takes plain-text requests whose body is absent or of a known length up
// to h1MaxBody. The rest goes to the Transport, which it wraps: bodies of
// unknown or large length (the Transport streams them while it reads the
// answer, so an upstream that answers before reading everything is heard),
// Expect: 100-continue, protocol upgrades and TLS.
type h1Client struct {
	fallback       *http.Transport
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle        int
	maxIdlePerHost int
	idleTimeout    time.Duration

	adm            *breaker.Admission // PendingRequests: requests waiting for a connection
	maxHeaderBytes int64              // of an answer's head

	mu      sync.Mutex
	idle    map[string][]*h1Conn // by address; the most recently used last
	nidle   int
	closed  bool          // CloseIdleConnections ran: connections are no longer pooled
	waiters int           // requests waiting for a connection to come free
	freed   chan struct{} // closed (and replaced) when one does, while there are waiters
}

// h1MaxBody is the largest request body h1Client sends itself: small
// enough that writing it before reading the answer never stalls on a full
// socket buffer.
const h1MaxBody = 64 << 10

// aLongTimeAgo is a deadline in the past: setting it makes every blocked
// read and write of the connection return at once.
var aLongTimeAgo = time.Unix(1, 0)

func newH1Client(fallback *http.Transport, dial func(ctx context.Context, network, addr string) (net.Conn, error), cc ConnectionConfig, adm *breaker.Admission) *h1Client {
	return &h1Client{
		fallback:       fallback,
		dial:           dial,
		adm:            adm,
		maxHeaderBytes: h1MaxHeaderBytes,
		freed:          make(chan struct{}),
		maxIdle:        cc.MaxIdleConns,
		maxIdlePerHost: cc.MaxIdleConnsPerHost,
		idleTimeout:    cc.IdleConnTimeout.D(),
		idle:           map[string][]*h1Conn{},
	}
}

// takes reports whether req is for the fast path.
func (c *h1Client) takes(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Header["Expect"] != nil || req.Header["Upgrade"] != nil {
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	return req.ContentLength > 0 && req.ContentLength <= h1MaxBody
}

// RoundTrip sends req and returns the answer; the response body must be
// read to the end or closed, after which the connection goes back to the
// pool (when both sides allow keep-alive).
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
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

// get takes the most recently used idle connection to addr that is still
// open, or dials a new one. When the cluster is at maxConnections the
// request waits for a connection to come free, as one of Envoy's pending
// requests: at most maxPending wait at once, the others are refused
// (overflow), and a waiter gives up when its context ends.
func (c *h1Client) get(ctx context.Context, addr string) (*h1Conn, error) {
	waiting := false
	defer func() {
		if waiting {
			c.mu.Lock()
			c.waiters--
			c.mu.Unlock()
			c.adm.Release(breaker.PendingRequests)
		}
	}()
	for {
		var wait chan struct{}
		if waiting {
			c.mu.Lock()
			wait = c.freed
			c.mu.Unlock()
		}
		if pc := c.idleConn(addr); pc != nil {
			return pc, nil
		}
		nc, err := c.dial(ctx, "tcp", addr)
		if err == nil {
			return c.newConn(addr, nc), nil
		}
		var de *dialError
		if !errors.As(err, &de) || !de.overflow {
			return nil, err
		}
		if !waiting {
			if !c.adm.Acquire(breaker.PendingRequests) {
				return nil, err
			}
			waiting = true
			c.mu.Lock()
			c.waiters++
			c.mu.Unlock()
			continue // look again now that frees will be signalled
		}
		// Every connection is in use or idle towards other endpoints:
		// closing an idle one lets this request dial its own.
		if c.closeIdleOther(addr) {
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Take returns a connection to addr for one request: the most recently
// used idle one that is still open, else one dialled, waiting as a pending
// request at max_connections as RoundTrip does. With a deadline (zero:
// none), dialling and waiting stop then, and fail with cause.
func (c *h1Client) Take(ctx context.Context, addr string, deadline time.Time, cause error) (*h1Conn, error) {
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

// idleConn takes the most recently used idle connection to addr that is
// still open, or returns nil.
func (c *h1Client) idleConn(addr string) *h1Conn {
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

func (c *h1Client) newConn(addr string, nc net.Conn) *h1Conn {
	pc := &h1Conn{c: c, addr: addr, nc: nc, bw: bufio.NewWriterSize(nc, 4<<10), readLimit: math.MaxInt64}
	pc.br = bufio.NewReaderSize(pc, 4<<10)
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
func (c *h1Client) closeIdleOther(addr string) bool {
	c.mu.Lock()
	var victim *h1Conn
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
func (c *h1Client) freedOne() {
	c.mu.Lock()
	if c.waiters > 0 {
		close(c.freed)
		c.freed = make(chan struct{})
	}
	c.mu.Unlock()
}

// put returns pc to the pool, or closes it when the pool is full or closed.
func (c *h1Client) put(pc *h1Conn) {
	pc.idleAt = time.Now()
	c.mu.Lock()
	list := c.idle[pc.addr]
	if c.closed || len(list) >= c.maxIdlePerHost || c.nidle >= c.maxIdle {
		c.mu.Unlock()
		pc.nc.Close()
		return
	}
	// Drop the oldest idle connection when it has timed out, so that a pool
	// shrinks after a burst without a janitor.
	var expired *h1Conn
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
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.nidle, c.closed = map[string][]*h1Conn{}, 0, true
	c.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.nc.Close()
		}
	}
	c.fallback.CloseIdleConnections()
}

// h1Conn is one pooled upstream connection.
type h1Conn struct {
	c    *h1Client
	addr string
	nc   net.Conn
	// fd is the socket's descriptor, -1 when it has none. It stays valid
	// while the connection is open, and an idle connection taken from the
	// pool is its taker's alone until put back, so nothing closes it
	// while closedByPeer looks.
	fd     int
	br     *bufio.Reader // reads through the connection's Read, below
	bw     *bufio.Writer
	head   []byte // the answer's head being read, reused
	idleAt time.Time
	// readLimit bounds what an answer's head may take: bytes left, as
	// net/http's Transport bounds it by MaxResponseHeaderBytes.
	readLimit int64
}

// h1MaxHeaderBytes is the most an upstream answer's status line and
// headers may take, net/http's Transport default.
const h1MaxHeaderBytes = 10 << 20

var errHeaderTooLarge = errors.New("upstream answer's head is over the size limit")

// Read feeds br from the socket within readLimit.
func (pc *h1Conn) Read(p []byte) (int, error) {
	if pc.readLimit <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > pc.readLimit {
		p = p[:pc.readLimit]
	}
	n, err := pc.nc.Read(p)
	pc.readLimit -= int64(n)
	return n, err
}

// closedByPeer reports whether an idle connection can no longer carry a
// request: the upstream closed it (or reset it) while it sat in the pool, or
// sent bytes nobody asked for. It peeks at the socket without blocking,
// which is what net/http's Transport learns from the read it keeps parked on
// every idle connection.
func (pc *h1Conn) closedByPeer() bool {
	if pc.br.Buffered() > 0 {
		return true
	}
	if pc.fd < 0 {
		return false
	}
	var b [1]byte
	n, _, err := syscall.Recvfrom(pc.fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n > 0 || (n == 0 && err == nil) || (err != nil && !errors.Is(err, syscall.EAGAIN))
}

// roundTrip writes req and reads the answer's head. The connection is
// released when the body ends (h1Body) or at once when there is none.
func (pc *h1Conn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	nc := pc.nc
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := writeRequest(pc.bw, req); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	var resp *http.Response
	pc.readLimit = pc.c.maxHeaderBytes
	for {
		r, err := readResponse(pc.br, req, &pc.head)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = fmt.Errorf("upstream closed the connection before answering: %w", err)
			}
			return fail(err)
		}
		// Informational answers (103 Early Hints, a stray 100) precede the
		// real one; 101 is final, and only sent to an Upgrade, which the
		// fast path does not take.
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		resp = r
		break
	}
	pc.readLimit = math.MaxInt64
	pc.giveBody(resp, ctx, stop)
	return resp, nil
}

// giveBody gives resp a body that releases the connection when it ends
// (at once when there is none): to the pool when release returns true,
// the body was read to its end, and both sides keep the connection.
func (pc *h1Conn) giveBody(resp *http.Response, ctx context.Context, release func() bool) {
	keep := !resp.Close && !resp.Request.Close && resp.StatusCode != http.StatusSwitchingProtocols
	body := &h1Body{pc: pc, body: resp.Body, stop: release, keep: keep, ctx: ctx}
	if resp.Body == http.NoBody {
		body.finish(true)
		return
	}
	resp.Body = body
}

// Writer is where a request is written; Flush sends it.
func (pc *h1Conn) Writer() *bufio.Writer { return pc.bw }

// SetDeadline sets the read and write deadline of the connection, as
// net.Conn.SetDeadline; Release expects it cleared.
func (pc *h1Conn) SetDeadline(t time.Time) error { return pc.nc.SetDeadline(t) }

// ReadAnswerHead reads the head of the answer to a request of the given
// method, within the client's bound on an answer's head. Informational
// answers before it (103 Early Hints, a stray 100) are checked and dropped;
// 101 is final.
func (pc *h1Conn) ReadAnswerHead(method string) (string, error) {
	pc.readLimit = pc.c.maxHeaderBytes
	if pc.br.Buffered() == 0 {
		// The answer cannot be there yet. Letting the other connections'
		// goroutines run first gives the upstream time to answer, so that
		// under load the read below finds it instead of failing with
		// EAGAIN and parking (reads per request 4.0 → 2.5 under wrk -c64);
		// with nothing else to run it returns at once.
		runtime.Gosched()
	}
	for {
		head, err := readHeadInto(pc.br, &pc.head, 0)
		if err != nil {
			return "", err
		}
		code, ok := informational(head)
		if !ok || code == http.StatusSwitchingProtocols {
			pc.readLimit = math.MaxInt64
			return head, nil
		}
		if _, err := parseResponse(head, pc.br, &http.Request{Method: method}); err != nil {
			return "", err
		}
	}
}

// informational reports the status of an answer head that is 1xx.
func informational(head string) (int, bool) {
	if len(head) < 12 || head[9] != '1' {
		return 0, false
	}
	code, err := strconv.Atoi(head[9:12])
	return code, err == nil
}

// Response parses an answer head read by ReadAnswerHead into the answer to
// req, with a body reading from the connection. When the body ends or is
// closed the connection is released: release is called, and the
// connection goes back to the pool if it returned true, the body was read
// to its end, and both sides keep the connection; it is closed otherwise.
// A body-less answer releases it at once. Failures of the body's reads
// become ctx's error once ctx is done.
func (pc *h1Conn) Response(head string, req *http.Request, ctx context.Context, release func() bool) (*http.Response, error) {
	resp, err := parseResponse(head, pc.br, req)
	if err != nil {
		return nil, err
	}
	pc.giveBody(resp, ctx, release)
	return resp, nil
}

// CopyBody relays the next n bytes of an answer's body to dst as they
// arrive, without an intermediate buffer. It returns how many bytes dst
// took, and the error of the read (the upstream's) or of the write (dst's)
// that stopped it short.
func (pc *h1Conn) CopyBody(dst io.Writer, n int64) (written int64, readErr, writeErr error) {
	for remain := n; remain > 0; {
		if pc.br.Buffered() == 0 {
			if _, err := pc.br.Peek(1); err != nil {
				return written, err, nil
			}
		}
		k := int(min(int64(pc.br.Buffered()), remain))
		b, _ := pc.br.Peek(k)
		if _, err := dst.Write(b); err != nil {
			return written, nil, err
		}
		_, _ = pc.br.Discard(k)
		remain -= int64(k)
		written += int64(k)
	}
	return written, nil, nil
}

// Discard reads and drops the next n bytes of an answer's body.
func (pc *h1Conn) Discard(n int64) error {
	_, err := pc.br.Discard(int(n))
	return err
}

// Release ends the connection's use for one request: back to the pool
// when reuse is set and nothing follows the answer on the wire, closed
// otherwise. The caller must have read the whole answer to reuse it, and
// cleared any deadline it set.
func (pc *h1Conn) Release(reuse bool) {
	if reuse && pc.br.Buffered() == 0 {
		pc.c.put(pc)
		return
	}
	pc.nc.Close()
}

// Close closes the connection, after a request that failed on it.
func (pc *h1Conn) Close() { pc.nc.Close() }

// h1Body is an answer's body; its end releases the connection.
type h1Body struct {
	pc   *h1Conn
	body io.ReadCloser
	stop func() bool
	keep bool
	ctx  context.Context
	done atomic.Bool
	eof  atomic.Bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done.Load() {
		if b.eof.Load() {
			return 0, io.EOF
		}
		return 0, errBodyClosed
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.eof.Store(true)
		b.finish(true)
	case err != nil:
		b.finish(false)
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
	}
	return n, err
}

// Close before the end closes the connection: what is left of the body
// would have to be read before the next request could be sent.
func (b *h1Body) Close() error {
	b.finish(false)
	return nil
}

var errBodyClosed = errors.New("proxy: read on closed response body")

// finish releases the connection once: to the pool when the whole answer
// was read, both sides keep the connection alive, the request's context did
// not fire (its deadline poisoned the connection) and nothing follows the
// answer on the wire; closed otherwise.
func (b *h1Body) finish(complete bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	b.pc.Release(b.stop() && complete && b.keep)
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

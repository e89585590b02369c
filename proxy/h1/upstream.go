package h1

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
	"sync/atomic"
	"syscall"
	"time"
)

// UpstreamConn is one pooled upstream connection, taken for one request at
// a time. Client.RoundTrip uses it behind http.Response; a caller that
// writes the request and relays the answer itself (the proxy's fast path)
// takes it with Client.Take and uses the methods below, then hands it back
// with Release or Close.
type UpstreamConn struct {
	c    *Client
	addr string
	nc   net.Conn
	// fd is the socket's descriptor, -1 when it has none. It stays valid
	// while the connection is open, and an idle connection taken from the
	// pool is its taker's alone until put back, so nothing closes it
	// while closedByPeer looks.
	fd     int
	br     *bufio.Reader // reads through limitedReader, below
	bw     *bufio.Writer
	head   []byte // the answer's head being read, reused
	idleAt time.Time
	// readLimit bounds what an answer's head may take: bytes left, as
	// net/http's Transport bounds it by MaxResponseHeaderBytes.
	readLimit int64
}

// maxAnswerHeadBytes is the most an upstream answer's status line and
// headers may take, net/http's Transport default.
const maxAnswerHeadBytes = 10 << 20

var errHeaderTooLarge = errors.New("upstream answer's head is over the size limit")

// ErrUnaskedSwitch is a 101 Switching Protocols answer to a request that
// asked for no upgrade: the proxy never forwards Upgrade, so it is no
// answer it can relay.
var ErrUnaskedSwitch = errors.New("upstream switched protocols (101) though no upgrade was asked for")

// limitedReader feeds a connection's bufio.Reader from the socket within
// its readLimit.
type limitedReader struct{ pc *UpstreamConn }

func (r limitedReader) Read(p []byte) (int, error) {
	pc := r.pc
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

// aLongTimeAgo is a deadline in the past: setting it makes every blocked
// read and write of the connection return at once.
var aLongTimeAgo = time.Unix(1, 0)

// closedByPeer reports whether an idle connection can no longer carry a
// request: the upstream closed it (or reset it) while it sat in the pool, or
// sent bytes nobody asked for. It peeks at the socket without blocking,
// which is what net/http's Transport learns from the read it keeps parked on
// every idle connection.
func (pc *UpstreamConn) closedByPeer() bool {
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
// released when the body ends (connBody) or at once when there is none.
func (pc *UpstreamConn) roundTrip(req *http.Request) (*http.Response, error) {
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
		// real one. 101 is final, and only an answer to an Upgrade, which
		// RoundTrip leaves to the fallback: here it is no answer at all.
		if r.StatusCode == http.StatusSwitchingProtocols {
			return fail(ErrUnaskedSwitch)
		}
		if r.StatusCode >= 100 && r.StatusCode < 200 {
			continue
		}
		resp = r
		break
	}
	pc.readLimit = math.MaxInt64
	pc.giveBody(ctx, resp, stop)
	return resp, nil
}

// giveBody gives resp a body that releases the connection when it ends
// (at once when there is none): to the pool when release returns true,
// the body was read to its end, and both sides keep the connection.
func (pc *UpstreamConn) giveBody(ctx context.Context, resp *http.Response, release func() bool) {
	keep := !resp.Close && !resp.Request.Close && resp.StatusCode != http.StatusSwitchingProtocols
	body := &connBody{pc: pc, body: resp.Body, stop: release, keep: keep, ctx: ctx}
	if resp.Body == http.NoBody {
		body.finish(true)
		return
	}
	resp.Body = body
}

// Writer is where a request is written; Flush sends it.
func (pc *UpstreamConn) Writer() *bufio.Writer { return pc.bw }

// SetDeadline sets the read and write deadline of the connection, as
// net.Conn.SetDeadline; Release expects it cleared.
func (pc *UpstreamConn) SetDeadline(t time.Time) error { return pc.nc.SetDeadline(t) }

// ReadAnswerHead reads the head of the answer to a request of the given
// method, within the client's bound on an answer's head. Informational
// answers before it (103 Early Hints, a stray 100) are checked and dropped.
// A 101 Switching Protocols is an error: the caller sends no Upgrade (the
// proxy drops it as hop-by-hop), so the upstream switched to a protocol
// nobody asked for, and the connection must be closed.
func (pc *UpstreamConn) ReadAnswerHead(method string) (string, error) {
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
		if ok && code == http.StatusSwitchingProtocols {
			return "", ErrUnaskedSwitch
		}
		if !ok {
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
func (pc *UpstreamConn) Response(ctx context.Context, head string, req *http.Request, release func() bool) (*http.Response, error) {
	resp, err := parseResponse(head, pc.br, req)
	if err != nil {
		return nil, err
	}
	pc.giveBody(ctx, resp, release)
	return resp, nil
}

// CopyBody relays the next n bytes of an answer's body to dst as they
// arrive, without an intermediate buffer. It returns how many bytes dst
// took, and the error of the read (the upstream's) or of the write (dst's)
// that stopped it short.
func (pc *UpstreamConn) CopyBody(dst io.Writer, n int64) (written int64, readErr, writeErr error) {
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
func (pc *UpstreamConn) Discard(n int64) error {
	_, err := pc.br.Discard(int(n))
	return err
}

// Release ends the connection's use for one request: back to the pool
// when reuse is set and nothing follows the answer on the wire, closed
// otherwise. The caller must have read the whole answer to reuse it, and
// cleared any deadline it set.
func (pc *UpstreamConn) Release(reuse bool) {
	if reuse && pc.br.Buffered() == 0 {
		pc.c.put(pc)
		return
	}
	pc.nc.Close()
}

// Close closes the connection, after a request that failed on it.
func (pc *UpstreamConn) Close() { pc.nc.Close() }

// connBody is an answer's body; its end releases the connection.
type connBody struct {
	pc   *UpstreamConn
	body io.ReadCloser
	stop func() bool
	keep bool
	ctx  context.Context
	done atomic.Bool
	eof  atomic.Bool
}

func (b *connBody) Read(p []byte) (int, error) {
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
func (b *connBody) Close() error {
	b.finish(false)
	return nil
}

var errBodyClosed = errors.New("proxy: read on closed response body")

// finish releases the connection once: to the pool when the whole answer
// was read, both sides keep the connection alive, the request's context did
// not fire (its deadline poisoned the connection) and nothing follows the
// answer on the wire; closed otherwise.
func (b *connBody) finish(complete bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	b.pc.Release(b.stop() && complete && b.keep)
}

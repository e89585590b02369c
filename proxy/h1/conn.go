package h1

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/proxy/mtls"
)

// Connection states: a connection is idle between requests, when Shutdown
// may close it; busy while reading or serving one; closed once Shutdown
// has closed it.
const (
	connIdle int32 = iota
	connBusy
	connClosed
)

// Conn is one downstream connection and the goroutine serving it. A
// ServerConfig.Fast hook serves a request through its exported methods
// (hook.go); the rest is the server's.
type Conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	state  atomic.Int32
	ctx    context.Context
	cancel context.CancelCauseFunc

	head     []byte    // the request head being read, reused
	held     []byte    // a response body held before its length is known, reused
	rdl      time.Time // the read deadline currently set (zero: none)
	hdr      http.Header
	first    bool
	resp     response
	watchT   *time.Timer   // starts watch; nil until first needed
	watchOn  bool          // watchT is armed for the current request
	watchEnd chan struct{} // watch sends when it has returned
	pending  int           // a byte watch read, or -1
	pend     [1]byte
	gone     error                // what watch saw: the client went away
	wmu      sync.Mutex           // see response.started
	tls      *tls.ConnectionState // every request's r.TLS on a TLS connection
	// up is the upstream connection a Fast hook waits on (Watch), which
	// watch interrupts when the client goes away.
	up atomic.Pointer[UpstreamConn]

	// FastState is the ServerConfig.Fast hook's own state for this
	// connection, kept across its requests (its reusable buffers); the
	// server never looks at it.
	FastState any

	// The defences against slow clients (slowclient.go).
	rdlHard  time.Time // the deadline reads wait until once slow (slowclient.go)
	rdlSoft  bool      // rdl is the slow check before rdlHard
	readSlow bool      // a wait for the head or body counts the connection slow
	rerr     error     // connReader's last error
	wdl      time.Time // the write deadline currently set (zero: none)
	wend     time.Time // the current answer's write timeout (zero: none)
	isTLS    bool
	// slowWaits counts the connection's waits that are slow (a body read
	// and a write may be at once); the server counts it slow while any is.
	slowWaits atomic.Int32
	// cutMu orders the server cutting off a body read (readCut) with the
	// read setting its deadlines (inRead).
	cutMu      sync.Mutex
	readCut    bool
	inRead     bool
	watchMu    sync.Mutex // orders watch clearing its deadline with disarmWatch
	unwatching bool
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// errClientGone cancels a connection's context when its client closes it.
var errClientGone = errors.New("client closed the connection")

func (s *Server) newConn(nc net.Conn) *Conn {
	c := &Conn{s: s, nc: nc, remote: nc.RemoteAddr().String(), first: true, pending: -1}
	_, c.isTLS = nc.(*tls.Conn)
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

// connReader is what the connection's bufio.Reader reads from: the
// connection, after a byte the watch took while a request was being
// served. A read that passes the slow check (readWithin) counts the
// connection as slow and waits on.
type connReader struct{ c *Conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.pending >= 0 && len(p) > 0 {
		p[0] = byte(c.pending)
		c.pending = -1
		return 1, nil
	}
	n, err := c.nc.Read(p)
	if err != nil && n == 0 && c.rdlSoft && isTimeout(err) {
		n, err = c.readSlowly(p)
	}
	if err != nil {
		c.rerr = err
	}
	return n, err
}

func (c *Conn) closeIfIdle() {
	if c.state.CompareAndSwap(connIdle, connClosed) {
		c.nc.Close()
	}
}

// serve serves the connection's requests, one after the other, until it
// ends or Shutdown closes it between two.
func (c *Conn) serve() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(sendWriter{c})
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("panic in the HTTP/1.1 server", "panic", v, "stack", string(debug.Stack()))
		}
		c.finish()
	}()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	for {
		if !c.awaitRequest() {
			return
		}
		if c.first && c.s.h2c && c.tls == nil && c.h2cPreface() {
			c.handoff()
			return
		}
		first := c.first
		c.first = false
		head, herr := c.readHead()
		c.endReadWait()
		if herr != nil {
			if isTimeout(c.rerr) && c.rerr != ErrSlowConnection {
				c.rejected(RejectHeaderTimeout)
			}
			c.reject(herr)
			return
		}
		if first && c.s.h2c && c.tls == nil && otherProtocol(head) {
			// Neither HTTP/1.x nor the HTTP/2 preface: an invalid preface,
			// which closes the connection (RFC 9113 section 3.4). An
			// HTTP/1.1 answer would be read as frames.
			return
		}
		c.wend = time.Time{}
		if d := c.s.cfg.WriteTimeout; d > 0 {
			c.wend = time.Now().Add(d)
		}
		keep, handled := false, false
		if fast := c.s.cfg.Fast; fast != nil {
			keep, handled = fast(c, head)
		}
		if !handled {
			req, herr := c.parseRequest(head)
			if herr != nil {
				c.reject(herr)
				return
			}
			keep = c.serveOne(req)
		}
		c.endReadWait()
		if !keep || c.s.shut.Load() {
			return
		}
		if !c.state.CompareAndSwap(connBusy, connIdle) {
			return
		}
		// Shutdown may have looked before this connection went idle.
		if c.s.shut.Load() {
			return
		}
	}
}

// finish closes the connection (unless handed off) and returns buffers.
func (c *Conn) finish() {
	if c.nc != nil {
		c.nc.Close()
	}
	c.cancel(errClientGone)
	if c.watchT != nil {
		c.watchT.Stop()
	}
	c.endReadWait()
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.s.untrack(c)
}

// awaitRequest waits, within the idle timeout, for the first byte of the
// next request, and marks the connection busy once it has one.
func (c *Conn) awaitRequest() bool {
	if c.br.Buffered() == 0 && c.pending < 0 {
		if d := c.s.cfg.IdleTimeout; d > 0 {
			now := time.Now()
			if dl := now.Add(d); c.rdl.IsZero() || dl.Sub(c.rdl) > idleDeadlineSlack || c.rdl.After(dl) {
				if c.nc.SetReadDeadline(dl) != nil {
					return false
				}
				c.rdl = dl
			}
		} else if !c.rdl.IsZero() {
			if c.nc.SetReadDeadline(time.Time{}) != nil {
				return false
			}
			c.rdl = time.Time{}
		}
		c.rdlSoft = false // an idle connection is not slow
		// The next request cannot have come yet; as in
		// UpstreamConn.ReadAnswerHead, yield before reading so that under
		// load the read finds it.
		runtime.Gosched()
		if _, err := c.br.Peek(1); err != nil {
			return false
		}
	}
	if !c.state.CompareAndSwap(connIdle, connBusy) {
		return false
	}
	c.rerr = nil
	// A head that has not all arrived, blank lines before it included, gets
	// the header timeout (the read timeout without one, as net/http does),
	// whatever deadline the previous request left.
	b, _ := c.br.Peek(c.br.Buffered())
	if !headBuffered(b) {
		var hard time.Time
		if d := cmp.Or(c.s.cfg.ReadHeaderTimeout, c.s.cfg.ReadTimeout); d > 0 {
			hard = time.Now().Add(d)
		}
		if c.readWithin(hard) != nil {
			return false
		}
	}
	return true
}

// headBuffered reports whether b holds a whole request head: past the
// blank lines that may come before it (RFC 9112 section 2.2), a line and
// the empty line that ends the fields.
func headBuffered(b []byte) bool {
	b = bytes.TrimLeft(b, "\r\n")
	return len(b) > 0 && (bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n")))
}

// handshake runs the TLS handshake within the header timeout (the read
// timeout without one, as net/http does) and reports whether this server
// serves the connection: one that chose h2 by ALPN is handed to net/http.
func (c *Conn) handshake(tc *tls.Conn) bool {
	if d := cmp.Or(c.s.cfg.ReadHeaderTimeout, c.s.cfg.ReadTimeout); d > 0 {
		dl := time.Now().Add(d)
		_ = tc.SetReadDeadline(dl)
		_ = tc.SetWriteDeadline(dl)
	}
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.s.log.Debug("TLS handshake failed", "remote", c.remote, "error", err)
		// A plaintext request to a TLS port gets a plaintext answer.
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	if cs.NegotiatedProtocol == "h2" {
		if c.s.h2 != nil && c.state.CompareAndSwap(connIdle, connBusy) {
			c.s.serveH2(c, tc, tc)
		}
		return false
	}
	c.tls = &cs
	return true
}

// looksLikeHTTP reports whether the first bytes of a would-be TLS record
// are the start of an HTTP/1.x request.
func looksLikeHTTP(b [5]byte) bool {
	switch string(b[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// h2Preface opens every HTTP/2 connection (RFC 9113 section 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2cPreface reports whether the connection opens with the HTTP/2 preface,
// reading no further than needed to tell.
func (c *Conn) h2cPreface() bool {
	for n := 1; n <= len(h2Preface); n++ {
		b, err := c.br.Peek(n)
		if len(b) < n || err != nil || b[n-1] != h2Preface[n-1] {
			return false
		}
	}
	return true
}

// otherProtocol reports whether a request head's line names a protocol
// other than HTTP/1.x. A line without one is a malformed HTTP/1.x request
// line, answered 400.
func otherProtocol(head string) bool {
	line, _, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	i := strings.LastIndexByte(line, ' ')
	return strings.Count(line, " ") >= 2 && !strings.HasPrefix(line[i+1:], "HTTP/1.")
}

// handoff serves the connection, with what has been read of it, as
// HTTP/2 (the connection stays busy until it ends).
func (c *Conn) handoff() {
	rest := make([]byte, c.br.Buffered())
	_, _ = io.ReadFull(c.br, rest)
	if c.rdl != (time.Time{}) {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.s.serveH2(c, mtls.WithPrefix(c.nc, rest), nil)
}

// serveOne runs the handler for r and finishes its response. It reports
// whether the connection can take another request.
func (c *Conn) serveOne(r *http.Request) (keep bool) {
	w := c.newResponse(r)
	body, _ := r.Body.(*requestBody)
	if body == nil {
		c.armWatch()
	}
	aborted := c.runHandler(w, r)
	if body != nil {
		body.closeForServer()
	}
	c.disarmWatch()
	c.held = w.held[:0]
	if aborted || c.gone != nil {
		return false
	}
	if !w.finish() {
		return false
	}
	if body != nil && !body.drain() {
		return false
	}
	return !w.closeAfter && !r.Close
}

// newResponse makes the connection's response writer ready for r.
func (c *Conn) newResponse(r *http.Request) *response {
	if c.hdr == nil {
		c.hdr = make(http.Header, 8)
	} else {
		clear(c.hdr)
	}
	c.resp = response{c: c, req: r, header: c.hdr, cl: -1, held: c.held[:0]}
	return &c.resp
}

// runHandler calls the handler, recovering a panic: http.ErrAbortHandler
// (the handler giving up on a started response) silently, anything else
// logged. Either way the connection is closed, not answered further.
func (c *Conn) runHandler(w *response, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			aborted = true
			if v != http.ErrAbortHandler {
				c.s.log.Error("panic serving request", "panic", v, "stack", string(debug.Stack()))
			}
		}
	}()
	c.s.h.ServeHTTP(w, r)
	return false
}

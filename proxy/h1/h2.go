package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The server's own HTTP/2 (RFC 9113). golang.org/x/net/http2 gives it its
// framing (Framer, with HPACK and CONTINUATION assembly) and nothing else:
// the connection is served by one goroutine that reads frames and answers
// the control frames itself, and one goroutine per stream that runs the
// handler and writes the answer's frames straight to the connection, under
// a write lock, through a buffered writer. x/net's server, which this
// replaced, hands every frame read to a serve loop over a channel, every
// request to a handler over another, and spawns a goroutine for every
// HEADERS write and every flush; here a request costs one goroutine, and a
// whole answer (the handler returned without flushing) one write system
// call: HEADERS, DATA with END_STREAM and any trailers together.

// HTTP/2 limits the server advertises and enforces.
const (
	// h2MaxFrame is the largest frame the HTTP/2 server reads
	// (SETTINGS_MAX_FRAME_SIZE): the protocol's initial value, 16 KiB.
	// Go's default, 1 MiB, lets a client send a 1 MiB HEADERS frame where
	// RFC 9113 section 4.2 expects a peer that never raised the limit to
	// get FRAME_SIZE_ERROR, and buys a proxy nothing.
	h2MaxFrame = 16 << 10
	// h2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS, as x/net's server
	// advertises it; a stream beyond it is refused (REFUSED_STREAM).
	h2MaxStreams = 250
	// h2StreamWindow is SETTINGS_INITIAL_WINDOW_SIZE: how much of a
	// request body a client may send ahead of the handler reading it.
	h2StreamWindow = 1 << 20
	// h2ConnWindow is the connection's receive window, shared by its
	// streams' bodies.
	h2ConnWindow = 4 << 20
	// h2MaxHandlers bounds the handlers of a connection running at once,
	// those of streams the client reset included: a client that opens and
	// resets streams faster than their handlers end (rapid reset,
	// CVE-2023-44487) gets GOAWAY ENHANCE_YOUR_CALM instead of an
	// unbounded number of goroutines.
	h2MaxHandlers = h2MaxStreams + 64
	// h2MaxResets bounds how far the streams a client resets, or makes the
	// server reset, may outnumber the streams it let complete.
	h2MaxResets = 1000
	// h2WriteBuffer is the size of a connection's write buffer: a whole
	// answer up to it goes out in one write.
	h2WriteBuffer = 32 << 10
	// h2HeldBody is how much of an answer's body is held before its
	// HEADERS frame goes out, so that a short answer gets a
	// content-length and goes out with its HEADERS in one write.
	h2HeldBody = 16 << 10
)

// h2Server is the configuration of a Server's HTTP/2 connections.
type h2Server struct {
	base          *http.Server // the ServerContextKey of requests
	maxHeaderList uint32       // SETTINGS_MAX_HEADER_LIST_SIZE
	conns         map[*h2Conn]struct{}
}

// newH2Server returns the HTTP/2 configuration of a Server with cfg.
func newH2Server(cfg ServerConfig) *h2Server {
	limit := cfg.MaxHeaderBytes
	if limit <= 0 {
		limit = defaultMaxHeaderBytes
	}
	return &h2Server{base: cfg.H2, maxHeaderList: uint32(limit), conns: map[*h2Conn]struct{}{}}
}

// serveH2 serves an HTTP/2 connection (nc, over tc when it is TLS; c the
// Conn that took it) until it ends, its handlers included.
func (s *Server) serveH2(c *Conn, nc net.Conn, tc *tls.Conn) {
	hc := newH2Conn(s, c, nc, tc)
	s.mu.Lock()
	if s.shut.Load() {
		s.mu.Unlock()
		return // Shutdown's GOAWAY to every connection may have gone
	}
	s.h2.conns[hc] = struct{}{}
	s.mu.Unlock()
	hc.serve()
	s.mu.Lock()
	delete(s.h2.conns, hc)
	s.mu.Unlock()
}

// shutdownH2 sends every HTTP/2 connection GOAWAY: each ends once its
// streams have.
func (s *Server) shutdownH2() {
	if s.h2 == nil {
		return
	}
	s.mu.Lock()
	conns := make([]*h2Conn, 0, len(s.h2.conns))
	for hc := range s.h2.conns {
		conns = append(conns, hc)
	}
	s.mu.Unlock()
	for _, hc := range conns {
		hc.drain()
	}
}

// h2Conn is one HTTP/2 connection: the state its reader and its handlers
// share (mu), and its write side (wmu).
type h2Conn struct {
	s      *Server
	c      *Conn // the Conn that took the connection: its send timeout
	nc     net.Conn
	br     *bufio.Reader
	fr     *http2.Framer
	tls    *tls.ConnectionState
	remote string
	ctx    context.Context // every request's context's parent

	// The reader's own (maxID written under mu).
	maxID     uint32 // the highest stream the client opened
	sawFirst  bool   // the client's SETTINGS came
	idleTimer *time.Timer

	mu        sync.Mutex
	flow      sync.Cond // a send window grew, or a stream or the connection ended
	streams   map[uint32]*h2Stream
	sendWin   int64 // the connection's send window
	recvWin   int64 // what the client may send on the connection
	initWin   int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	unacked   int64 // body bytes read by handlers, not yet given back
	running   int   // handlers running
	resets    int   // streams reset by the client or for its errors
	completed int   // streams that ended normally
	draining  bool  // GOAWAY sent: no new streams; close when none is left
	closed    bool  // the connection is gone
	idleSince time.Time
	handlers  sync.WaitGroup

	wmu  sync.Mutex
	bw   *bufio.Writer
	henc *hpack.Encoder
	hbuf []byte
	werr error // the first write error: the connection is done
	// peerFrame is the client's SETTINGS_MAX_FRAME_SIZE.
	peerFrame int
	// ctlDirty: the reader wrote frames it has not flushed.
	ctlDirty bool
}

func newH2Conn(s *Server, c *Conn, nc net.Conn, tc *tls.Conn) *h2Conn {
	hc := &h2Conn{s: s, c: c, nc: nc, remote: nc.RemoteAddr().String(),
		recvWin: h2ConnWindow, streams: map[uint32]*h2Stream{},
		sendWin: 65535, initWin: 65535, peerFrame: 16 << 10}
	hc.flow.L = &hc.mu
	if tc != nil {
		cs := tc.ConnectionState()
		hc.tls = &cs
	}
	hc.br = bufio.NewReaderSize(nc, 16<<10)
	hc.bw = bufio.NewWriterSize(sendWriter{c}, h2WriteBuffer)
	hc.fr = http2.NewFramer(hc.bw, hc.br)
	hc.fr.SetMaxReadFrameSize(h2MaxFrame)
	hc.fr.MaxHeaderListSize = s.h2.maxHeaderList
	hc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	hc.fr.SetReuseFrames()
	hc.henc = hpack.NewEncoder(headerBlock{hc})
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	if s.h2.base != nil {
		ctx = context.WithValue(ctx, http.ServerContextKey, s.h2.base)
	}
	// Not cancellable: a stream's context, the one thing made from it,
	// is cancelled by the stream's own end (gone, when the connection
	// ends or the client resets it; runStream, when the handler
	// returns), and a parent that could be cancelled would add each
	// stream to its children and take it out again.
	hc.ctx = ctx
	return hc
}

// headerBlock is where the HPACK encoder writes: the connection's header
// block being built (under wmu).
type headerBlock struct{ c *h2Conn }

func (b headerBlock) Write(p []byte) (int, error) {
	b.c.hbuf = append(b.c.hbuf, p...)
	return len(p), nil
}

// serve reads the connection until it ends, then ends its streams and
// waits for their handlers.
func (c *h2Conn) serve() {
	defer func() {
		c.shut()
		c.handlers.Wait()
	}()
	if !c.preface() {
		return
	}
	c.wmu.Lock()
	_ = c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2MaxFrame},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.s.h2.maxHeaderList},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
	)
	_ = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	c.flushLocked()
	c.wmu.Unlock()
	if d := c.s.cfg.IdleTimeout; d > 0 {
		c.idleSince = time.Now()
		c.idleTimer = time.AfterFunc(d, c.idleCheck)
		defer c.idleTimer.Stop()
	}
	for {
		if c.br.Buffered() == 0 {
			// Nothing more to read at once: what the control frames
			// read so far answered goes out now.
			c.wmu.Lock()
			if c.ctlDirty {
				c.flushLocked()
			}
			c.wmu.Unlock()
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !c.readError(err) {
				return
			}
			continue
		}
		if err := c.frame(f); err != nil {
			if !c.readError(err) {
				return
			}
		}
	}
}

// preface reads the client connection preface (RFC 9113 section 3.4);
// a connection that opens otherwise is closed unanswered.
func (c *h2Conn) preface() bool {
	b, err := c.br.Peek(len(h2Preface))
	if err != nil || string(b) != h2Preface {
		return false
	}
	_, _ = c.br.Discard(len(b))
	return true
}

// idleCheck closes the connection when it has had no stream for the idle
// timeout, and checks again later otherwise.
func (c *h2Conn) idleCheck() {
	d := c.s.cfg.IdleTimeout
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	idle := len(c.streams) == 0 && c.running == 0
	left := d - time.Since(c.idleSince)
	c.mu.Unlock()
	if !idle || left > 0 {
		c.idleTimer.Reset(max(left, d/4, time.Millisecond))
		return
	}
	c.goAway(http2.ErrCodeNo)
	c.interrupt()
}

// readError handles an error of the frame reader and reports whether the
// connection goes on.
func (c *h2Conn) readError(err error) bool {
	switch e := err.(type) {
	case http2.StreamError:
		c.resetStream(e.StreamID, e.Code)
		c.mu.Lock()
		if e.StreamID > c.maxID && e.StreamID%2 == 1 {
			// A malformed request still opened its stream.
			c.maxID = e.StreamID
		}
		c.mu.Unlock()
		return c.countReset()
	case http2.ConnectionError:
		c.fail(http2.ErrCode(e))
		return false
	case h2ConnError:
		c.fail(e.code)
		return false
	}
	if err == http2.ErrFrameTooLarge {
		c.fail(http2.ErrCodeFrameSize)
	}
	return false
}

// h2Linger bounds how long a connection that failed reads on after its
// GOAWAY, as x/net's server waits: closing with the client's bytes unread
// would reset the connection, and the client might lose the GOAWAY.
const h2Linger = time.Second

// fail ends the connection for a connection error: GOAWAY with code, then
// what the client still sends is read and dropped until it closes or
// h2Linger passes.
func (c *h2Conn) fail(code http2.ErrCode) {
	c.goAway(code)
	if c.nc.SetReadDeadline(time.Now().Add(h2Linger)) == nil {
		_, _ = io.Copy(io.Discard, c.br)
	}
}

// h2ConnError is a connection error the server found (RFC 9113 section
// 5.4.1), with what it was.
type h2ConnError struct {
	code http2.ErrCode
	why  string
}

func (e h2ConnError) Error() string {
	return "http2: connection error " + e.code.String() + ": " + e.why
}

// countReset counts one more stream reset, and reports whether the client
// may go on.
func (c *h2Conn) countReset() bool {
	c.mu.Lock()
	c.resets++
	over := c.resets-c.completed > h2MaxResets
	c.mu.Unlock()
	if over {
		c.goAway(http2.ErrCodeEnhanceYourCalm)
		return false
	}
	return true
}

// goAway sends GOAWAY with code and the last stream the client opened, and
// refuses new streams from then on.
func (c *h2Conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	c.draining = true
	last := c.maxID
	c.mu.Unlock()
	c.wmu.Lock()
	if c.werr == nil {
		_ = c.fr.WriteGoAway(last, code, nil)
		c.flushLocked()
	}
	c.wmu.Unlock()
}

// drain ends the connection gracefully (Shutdown): GOAWAY, then it closes
// once its streams have ended.
func (c *h2Conn) drain() {
	c.goAway(http2.ErrCodeNo)
	c.mu.Lock()
	done := len(c.streams) == 0 && c.running == 0
	c.mu.Unlock()
	if done {
		c.interrupt()
	}
}

// interrupt ends a connection that sent GOAWAY and has no stream left:
// its reader goes on answering what comes (PING, SETTINGS; new streams are
// refused) until the client closes or h2Linger passes, so that the close
// does not reset the connection under bytes the client sent meanwhile.
func (c *h2Conn) interrupt() {
	_ = c.nc.SetReadDeadline(time.Now().Add(h2Linger))
}

// shut ends the connection: its streams are reset, their handlers' waits
// and contexts end.
func (c *h2Conn) shut() {
	c.mu.Lock()
	c.closed = true
	for id, st := range c.streams {
		st.gone(errH2ConnClosed)
		delete(c.streams, id)
	}
	c.flow.Broadcast()
	c.mu.Unlock()
	c.wmu.Lock()
	if c.werr == nil {
		c.flushLocked()
		c.werr = errH2ConnClosed
	}
	c.wmu.Unlock()
	_ = c.nc.Close()
}

// flushLocked flushes the write buffer; with wmu held.
func (c *h2Conn) flushLocked() {
	c.ctlDirty = false
	if c.werr != nil || c.bw.Buffered() == 0 {
		return
	}
	if err := c.bw.Flush(); err != nil {
		c.writeFailed(err)
	}
}

// writeFailed records the first write error and closes the connection,
// which ends its reader; with wmu held.
func (c *h2Conn) writeFailed(err error) {
	if c.werr == nil {
		c.werr = err
		_ = c.nc.Close()
	}
}

// write runs f, which writes frames, under the write lock, unless the
// connection failed.
func (c *h2Conn) write(flush bool, f func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if err := f(); err != nil {
		c.writeFailed(err)
		return err
	}
	if flush {
		c.flushLocked()
	} else {
		c.ctlDirty = true
	}
	return c.werr
}

// flush sends what the write buffer holds.
func (c *h2Conn) flush() {
	c.wmu.Lock()
	c.flushLocked()
	c.wmu.Unlock()
}

package h1

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

var (
	errBodyEOF      = io.EOF
	timeNow         = time.Now
	errH2BodyClosed = errStr("http2: read on closed request body")
)

// errStr is an error that is a constant string.
type errStr string

func (e errStr) Error() string { return string(e) }

// h2Stream is one request and its answer. The stream, its response writer
// and its request body are one allocation.
type h2Stream struct {
	c       *h2Conn
	id      uint32
	ctx     context.Context
	cancel  context.CancelFunc
	head    H2Request // the request's header block, checked
	resp    h2Response
	reqBody h2Body

	// The reader's own.
	declLen int64 // the request's content-length; -1 when none
	gotLen  int64 // body bytes received

	// Under c.mu.
	sendWin      int64
	recvWin      int64
	body         []byte // received, unread from bodyOff
	bodyOff      int
	bodyErr      error // what a read returns once body is empty
	bodyCond     sync.Cond
	bodyClosed   bool  // the handler is done with the body
	timedOut     bool  // the body read timeout passed
	needContinue bool  // Expect: 100-continue, 100 not sent yet
	remoteDone   bool  // END_STREAM came
	answered     bool  // the handler returned and its answer ended
	closed       bool  // out of the connection's streams
	unacked      int64 // body bytes read (or padding) not yet given back to the stream's window
	unackedPad   int64
	trailer      http.Header   // r.Trailer: the handler's goroutine's
	gotTrailer   http.Header   // the trailers received, for trailer at EOF
	watched      *UpstreamConn // interrupted when the stream goes (H2Request.Watch)

	// Under c.wmu.
	wdone bool // END_STREAM or RST_STREAM sent: nothing more may be
}

// gone ends st for its handler with why; with c.mu held.
func (st *h2Stream) gone(why error) {
	if st.closed {
		return
	}
	st.closed = true
	if st.bodyErr == nil {
		st.bodyErr = why
	}
	// Unread body bytes are the connection's again.
	st.c.unacked += int64(len(st.body)-st.bodyOff) + st.unackedPad
	st.body, st.bodyOff, st.unackedPad = nil, 0, 0
	st.bodyCond.Broadcast()
	if st.watched != nil {
		_ = st.watched.nc.SetDeadline(aLongTimeAgo)
	}
	st.cancel()
}

// headers opens a stream with a request, or ends one with trailers.
func (c *h2Conn) headers(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		c.mu.Unlock()
		return c.trailers(st, f)
	}
	switch {
	case id%2 == 0:
		c.mu.Unlock()
		return connErr(http2.ErrCodeProtocol, "even stream identifier")
	case id <= c.maxID:
		c.mu.Unlock()
		// Streams below the last opened are closed (section 5.1.1).
		return connErr(http2.ErrCodeProtocol, "HEADERS on a closed stream")
	}
	c.maxID = id
	draining, n, running := c.draining, len(c.streams), c.running
	c.mu.Unlock()
	switch {
	case f.HasPriority() && f.Priority.StreamDep == id:
		// A stream depending on itself (section 5.3.1).
		c.resetStream(id, http2.ErrCodeProtocol)
		return c.resetBudget()
	case draining:
		c.resetStream(id, http2.ErrCodeRefusedStream)
		return nil
	case n >= h2MaxStreams:
		c.resetStream(id, http2.ErrCodeRefusedStream)
		return c.resetBudget()
	case running >= h2MaxHandlers:
		return connErr(http2.ErrCodeEnhanceYourCalm, "too many handlers running")
	case f.Truncated:
		// Larger than SETTINGS_MAX_HEADER_LIST_SIZE: 431, as net/http.
		c.refuse(id, http.StatusRequestHeaderFieldsTooLarge, f.StreamEnded())
		return nil
	}
	st := &h2Stream{c: c, id: id, declLen: -1, recvWin: h2StreamWindow}
	st.bodyCond.L = &c.mu
	if !c.checkRequest(st, f) {
		c.resetStream(id, http2.ErrCodeProtocol)
		return c.resetBudget()
	}
	fast := c.s.cfg.FastH2 != nil && f.StreamEnded()
	var r *http.Request
	if !fast {
		// Built on the reader's goroutine, as before: a request with a
		// body has its trailer keys and 100-continue settled before its
		// DATA frames come.
		r = c.newRequest(st, f.StreamEnded())
	}
	c.mu.Lock()
	st.sendWin = c.initWin
	if f.StreamEnded() {
		st.remoteDone, st.bodyErr = true, errBodyEOF
	}
	c.streams[id] = st
	c.running++
	c.mu.Unlock()
	c.handlers.Add(1)
	go c.runStream(st, r)
	return nil
}

// resetBudget counts a stream reset for the client's errors.
func (c *h2Conn) resetBudget() error {
	if !c.countReset() {
		return connErr(http2.ErrCodeEnhanceYourCalm, "too many resets")
	}
	return nil
}

// refuse answers stream id with status and no handler.
func (c *h2Conn) refuse(id uint32, status int, ended bool) {
	_ = c.write(true, func() error {
		if err := c.writeHeaderBlock(id, status, nil, nil, nil, -1, "", true); err != nil {
			return err
		}
		if !ended {
			return c.fr.WriteRSTStream(id, http2.ErrCodeNo)
		}
		return nil
	})
}

// trailers ends a request body with its trailer section (section 8.1).
func (c *h2Conn) trailers(st *h2Stream, f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	done := st.remoteDone
	c.mu.Unlock()
	switch {
	case done:
		c.resetStream(st.id, http2.ErrCodeStreamClosed)
		return c.resetBudget()
	case !f.StreamEnded(), len(f.PseudoFields()) > 0, st.declLen >= 0 && st.gotLen != st.declLen:
		c.resetStream(st.id, http2.ErrCodeProtocol)
		return c.resetBudget()
	}
	fields := f.RegularFields()
	for _, hf := range fields {
		if !requestFieldOK(hf.Name, hf.Value) || !httpguts.ValidTrailerHeader(hf.Name) {
			c.resetStream(st.id, http2.ErrCodeProtocol)
			return c.resetBudget()
		}
	}
	c.mu.Lock()
	if st.trailer != nil {
		// Kept aside: the body's reader, which owns r.Trailer, takes them
		// in at EOF.
		st.gotTrailer = make(http.Header, len(fields))
		for _, hf := range fields {
			k := http.CanonicalHeaderKey(hf.Name)
			st.gotTrailer[k] = append(st.gotTrailer[k], hf.Value)
		}
	}
	c.mu.Unlock()
	c.endRemote(st)
	return nil
}

// requestFieldOK reports whether a request may carry the field: RFC 9113
// section 8.2.2 makes a request with a connection-specific field, or a TE
// other than "trailers", malformed.
func requestFieldOK(name, value string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return false
	case "te":
		return value == "trailers"
	}
	return true
}

// checkRequest checks a request's header block (RFC 9113 section 8.3) and
// takes its pseudo-header fields into st.head, as net/http's HTTP/2 server
// checks it; it also gives the stream its context.
func (c *h2Conn) checkRequest(st *h2Stream, f *http2.MetaHeadersFrame) bool {
	var method, scheme, path, authority string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":path":
			path = hf.Value
		case ":authority":
			authority = hf.Value
		default:
			return false // :status, or :protocol without extended CONNECT
		}
	}
	connect := method == http.MethodConnect
	switch {
	case !ValidMethod(method):
		return false
	case connect && (scheme != "" || path != "" || authority == ""):
		return false
	case !connect && (scheme == "" || path == ""):
		return false
	}
	fields := f.RegularFields()
	cl := ""
	for _, hf := range fields {
		if !requestFieldOK(hf.Name, hf.Value) {
			return false
		}
		if hf.Name == "content-length" {
			if cl != "" && hf.Value != cl {
				return false
			}
			cl = hf.Value
		}
	}
	if cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return false
		}
		st.declLen = n
	}
	h := &st.head
	*h = H2Request{Method: method, Scheme: scheme, Path: path, Authority: authority, Fields: fields, st: st}
	if !connect && !plainTarget(path) {
		// Parsed now, so that a target net/url refuses resets the stream;
		// a plain one cannot fail, and is parsed only if a handler needs it.
		var err error
		if h.url, err = url.ParseRequestURI(path); err != nil {
			return false
		}
	}
	st.ctx, st.cancel = context.WithCancel(c.ctx)
	return true
}

// plainTarget reports whether a :path is one url.ParseRequestURI cannot
// refuse: absolute, of visible ASCII without escapes or a fragment.
func plainTarget(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; b <= ' ' || b >= 0x7f || b == '%' || b == '#' {
			return false
		}
	}
	return true
}

// newRequest builds the http.Request of a stream whose header block
// checkRequest took, as net/http's HTTP/2 server does.
func (c *h2Conn) newRequest(st *h2Stream, ended bool) *http.Request {
	h := &st.head
	fields := h.Fields
	header := make(http.Header, len(fields))
	values := make([]string, len(fields))
	cookies := 0
	for i, hf := range fields {
		k := http.CanonicalHeaderKey(hf.Name)
		if k == "Cookie" {
			cookies++
		}
		if vv, ok := header[k]; ok {
			header[k] = append(vv, hf.Value)
			continue
		}
		values[i] = hf.Value
		header[k] = values[i : i+1 : i+1]
	}
	if cookies > 1 {
		// Cookie fields come apart in HTTP/2 (section 8.2.3).
		header["Cookie"] = []string{strings.Join(header["Cookie"], "; ")}
	}
	authority := h.Authority
	if authority == "" {
		authority = header.Get("Host")
	}
	delete(header, "Host")
	u := h.url
	requestURI := h.Path
	switch {
	case h.Method == http.MethodConnect:
		u, requestURI = &url.URL{Host: authority}, authority
	case u == nil:
		u, _ = url.ParseRequestURI(h.Path) // plain: checkRequest made sure
	}
	var trailer http.Header
	for _, v := range header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(textTrim(k))
			if httpguts.ValidTrailerHeader(k) {
				if trailer == nil {
					trailer = make(http.Header)
				}
				trailer[k] = nil
			}
		}
	}
	st.trailer = trailer
	req := http.Request{
		Method:     h.Method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       authority,
		RemoteAddr: c.remote,
		RequestURI: requestURI,
		TLS:        c.tls,
		Trailer:    trailer,
	}
	if ended {
		req.Body = http.NoBody
	} else {
		req.Body = &st.reqBody
		st.reqBody.st = st
		req.ContentLength = st.declLen
		st.needContinue = httpguts.HeaderValuesContainsToken(header["Expect"], "100-continue")
	}
	return req.WithContext(st.ctx)
}

// textTrim trims the optional whitespace around a list element (RFC 9110
// section 5.6.1).
func textTrim(s string) string { return strings.Trim(s, " \t") }

// runStream runs the handler for the stream's request, or the FastH2 hook
// when r is nil, and ends its answer.
func (c *h2Conn) runStream(st *h2Stream, r *http.Request) {
	defer c.handlers.Done()
	w := &st.resp
	w.st, w.cl = st, -1
	w.head = st.head.Method == http.MethodHead
	w.raw = w.rawBuf[:0]
	if d := c.s.cfg.ReadTimeout; d > 0 && r != nil && r.Body != http.NoBody {
		// The whole body within ReadTimeout of the head, as net/http's.
		t := time.AfterFunc(d, func() {
			c.mu.Lock()
			st.timedOut = true
			st.bodyCond.Broadcast()
			c.mu.Unlock()
		})
		defer t.Stop()
	}
	if d := c.s.cfg.WriteTimeout; d > 0 {
		// The answer within WriteTimeout of the head, or the stream is
		// reset, as net/http's HTTP/2 server does.
		t := time.AfterFunc(d, func() { c.resetOpen(st, http2.ErrCodeInternal) })
		defer t.Stop()
	}
	if c.runHandler(w, r) {
		w.finish()
	} else {
		c.resetStream(st.id, http2.ErrCodeInternal)
		c.flush()
	}
	w.release()
	c.mu.Lock()
	c.running--
	st.answered = true
	st.bodyClosed = true
	rst := false
	switch {
	case st.closed:
	case st.remoteDone:
		c.closeStream(st, errH2StreamClosed)
		c.completed++
	default:
		// The answer ended before the request body: the client may
		// stop sending it (section 8.1).
		c.closeStream(st, errH2StreamClosed)
		c.completed++
		rst = true
	}
	last := c.draining && len(c.streams) == 0 && c.running == 0
	c.mu.Unlock()
	st.cancel()
	if rst {
		c.wmu.Lock()
		if c.werr == nil {
			if err := c.fr.WriteRSTStream(st.id, http2.ErrCodeNo); err != nil {
				c.writeFailed(err)
			}
			c.flushLocked()
		}
		c.wmu.Unlock()
	}
	if last {
		c.interrupt()
	}
}

// resetOpen resets st unless its answer has ended.
func (c *h2Conn) resetOpen(st *h2Stream, code http2.ErrCode) {
	c.mu.Lock()
	open := !st.answered && !st.closed
	c.mu.Unlock()
	if open {
		c.resetStream(st.id, code)
		c.flush()
	}
}

// runHandler offers the request to the FastH2 hook when r is nil, and
// calls the handler with it (built now if the hook did not take it)
// otherwise; it reports whether they returned: a panic resets the stream,
// logged unless it is http.ErrAbortHandler.
func (c *h2Conn) runHandler(w *h2Response, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				c.s.log.Error("panic serving request", "panic", v, "stack", string(debug.Stack()))
			}
		}
	}()
	if r == nil {
		if c.s.cfg.FastH2(&w.st.head) {
			return true
		}
		r = c.newRequest(w.st, true)
	}
	c.s.h.ServeHTTP(w, r)
	return true
}

// h2Body is a request's body: the DATA its stream received.
type h2Body struct{ st *h2Stream }

func (b *h2Body) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.mu.Lock()
	if st.needContinue {
		st.needContinue = false
		if st.bodyOff == len(st.body) && st.bodyErr == nil && !st.bodyClosed {
			c.mu.Unlock()
			_ = c.write(true, func() error { return c.writeHeaderBlock(st.id, http.StatusContinue, nil, nil, nil, -1, "", false) })
			c.mu.Lock()
		}
	}
	var timer *time.Timer
	for st.bodyOff == len(st.body) && st.bodyErr == nil && !st.bodyClosed && !st.timedOut {
		if d := c.s.cfg.BodyReadTimeout; d > 0 && timer == nil {
			timer = time.AfterFunc(d, func() {
				c.mu.Lock()
				st.timedOut = true
				st.bodyCond.Broadcast()
				c.mu.Unlock()
			})
		}
		st.bodyCond.Wait()
	}
	if timer != nil {
		timer.Stop()
	}
	if st.bodyOff == len(st.body) {
		err := st.bodyErr
		switch {
		case err == errBodyEOF && st.gotTrailer != nil:
			for k, vv := range st.gotTrailer {
				if _, ok := st.trailer[k]; ok {
					st.trailer[k] = vv
				}
			}
			st.gotTrailer = nil
		case err != nil:
		case st.bodyClosed:
			err = errH2BodyClosed
		default:
			err = ErrBodyTimeout
			c.mu.Unlock()
			c.c.rejected(RejectBodyTimeout)
			return 0, err
		}
		c.mu.Unlock()
		return 0, err
	}
	n := copy(p, st.body[st.bodyOff:])
	st.bodyOff += n
	if st.bodyOff == len(st.body) {
		st.body, st.bodyOff = st.body[:0], 0
	}
	// The bytes read are the client's to send again.
	var streamInc uint32
	st.unacked += int64(n) + st.unackedPad
	st.unackedPad = 0
	if !st.remoteDone && !st.closed && st.unacked >= h2StreamWindow/4 {
		streamInc = uint32(st.unacked)
		st.recvWin += st.unacked
		st.unacked = 0
	}
	connInc := c.giveBack(int64(n))
	c.mu.Unlock()
	if streamInc > 0 || connInc > 0 {
		_ = c.write(true, func() error {
			if connInc > 0 {
				if err := c.fr.WriteWindowUpdate(0, connInc); err != nil {
					return err
				}
			}
			if streamInc > 0 && !st.wdone {
				return c.fr.WriteWindowUpdate(st.id, streamInc)
			}
			return nil
		})
	}
	return n, nil
}

// Close ends the handler's reading: what comes later is dropped.
func (b *h2Body) Close() error {
	st := b.st
	c := st.c
	c.mu.Lock()
	if !st.bodyClosed {
		st.bodyClosed = true
		c.unacked += int64(len(st.body) - st.bodyOff)
		st.body, st.bodyOff = nil, 0
		st.bodyCond.Broadcast()
	}
	c.mu.Unlock()
	return nil
}

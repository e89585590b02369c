package h1

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Response is an HTTP/2 stream's http.ResponseWriter. It holds up to
// h2HeldBody of the body before the HEADERS frame goes out, so that an
// answer the handler completes without flushing goes out whole, with a
// content-length, in one write: HEADERS, DATA with END_STREAM, and the
// trailers. Beyond that, or on Flush, the HEADERS frame goes out and the
// body follows as written, within the client's flow-control windows.
type h2Response struct {
	st     *h2Stream
	header http.Header         // made on the first Header call
	raw    []hpack.HeaderField // fields added with H2Request.AnswerField, after header's
	rawBuf [8]hpack.HeaderField
	status int   // 0 until WriteHeader
	cl     int64 // the content-length the handler set; -1 when none
	// written counts the body bytes the handler wrote.
	written    int64
	held       []byte
	heldBuf    *[]byte
	sentHeader bool
	noBody     bool // 204, 304 or 1xx: no body allowed
	head       bool
	declared   []string // trailer keys the Trailer field declared
	err        error    // the stream or connection failed: writes fail
}

var heldPool = sync.Pool{New: func() any { b := make([]byte, 0, h2HeldBody); return &b }}

func (w *h2Response) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header, 8)
	}
	return w.header
}

func (w *h2Response) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out at once, with the fields set
		// so far (103 Early Hints' Link).
		c := w.st.c
		st := w.st
		h, raw := w.header, w.raw
		_ = c.write(true, func() error {
			if st.wdone {
				return nil
			}
			return c.writeHeaderBlock(st.id, code, h, raw, nil, -1, "", false)
		})
		return
	}
	w.status = code
	w.noBody = code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	if v := w.header["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		} else {
			delete(w.header, "Content-Length")
		}
	} else if v, ok := rawValue(w.raw, "content-length"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.cl = n
		}
	}
	for _, v := range w.header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(textTrim(k)); k != "" {
				w.declared = append(w.declared, k)
			}
		}
	}
}

func (w *h2Response) WriteString(s string) (int, error) {
	return w.write(len(s), nil, s)
}

func (w *h2Response) Write(p []byte) (int, error) {
	return w.write(len(p), p, "")
}

func (w *h2Response) write(n int, p []byte, s string) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.noBody:
		return 0, http.ErrBodyNotAllowed
	case w.err != nil:
		return 0, w.err
	case w.cl >= 0 && w.written+int64(n) > w.cl:
		return 0, http.ErrContentLength
	}
	w.written += int64(n)
	if w.head || n == 0 {
		return n, nil
	}
	if !w.sentHeader && len(w.held)+n <= h2HeldBody {
		if w.heldBuf == nil {
			w.heldBuf = heldPool.Get().(*[]byte)
			w.held = (*w.heldBuf)[:0]
		}
		if p != nil {
			w.held = append(w.held, p...)
		} else {
			w.held = append(w.held, s...)
		}
		return n, nil
	}
	if err := w.startBody(); err != nil {
		return 0, err
	}
	if p == nil {
		p = []byte(s)
	}
	if err := w.sendData(p, false); err != nil {
		return 0, err
	}
	return n, nil
}

// sniff returns the content type to send for an answer without one, as
// net/http does: sniffed from the body's first bytes.
func (w *h2Response) sniff() string {
	if w.noBody || len(w.held) == 0 {
		return ""
	}
	if _, ok := w.header["Content-Type"]; ok {
		return ""
	}
	if _, ok := rawValue(w.raw, "content-type"); ok {
		return ""
	}
	return http.DetectContentType(w.held)
}

// startBody sends the HEADERS frame, without a content-length, and the
// body held so far.
func (w *h2Response) startBody() error {
	if w.sentHeader {
		return nil
	}
	if err := w.sendHeader(-1, false, false); err != nil {
		return err
	}
	if len(w.held) > 0 {
		held := w.held
		w.held = w.held[:0]
		return w.sendData(held, false)
	}
	return nil
}

func (w *h2Response) Flush() { _ = w.FlushError() }

// FlushError sends the answer's head and the body written so far.
func (w *h2Response) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if err := w.startBody(); err != nil {
		return err
	}
	c := w.st.c
	c.wmu.Lock()
	c.flushLocked()
	err := c.werr
	c.wmu.Unlock()
	if err != nil {
		w.err = err
	}
	return err
}

// EnableFullDuplex reports that the handler may read the request body
// while it writes the answer, which HTTP/2 always allows.
func (w *h2Response) EnableFullDuplex() error { return nil }

// sendHeader sends the answer's HEADERS frame (and CONTINUATIONs), with
// content-length cl when it is not negative; flush sends it at once.
func (w *h2Response) sendHeader(cl int64, end, flush bool) error {
	st := w.st
	c := st.c
	c.wmu.Lock()
	err := c.werr
	if err == nil && st.wdone {
		err = errH2StreamClosed
	}
	if err == nil {
		if err = c.writeHeaderBlock(st.id, w.status, w.header, w.raw, w.declared, cl, w.sniff(), end); err != nil {
			c.writeFailed(err)
		}
		st.wdone = end
		if flush {
			c.flushLocked()
		}
	}
	c.wmu.Unlock()
	w.sentHeader = true
	if err != nil {
		w.err = err
	}
	return err
}

// takeWindow takes up to want bytes of the send windows, waiting while
// either is empty (the buffered frames flushed first, so that the client
// sees what it is to answer with WINDOW_UPDATE).
func (st *h2Stream) takeWindow(want int, wait bool) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	flushed := false
	for {
		switch {
		case c.closed:
			return 0, errH2ConnClosed
		case st.closed:
			return 0, errH2StreamClosed
		}
		if win := min(c.sendWin, st.sendWin); win > 0 {
			n := min(int64(want), win)
			c.sendWin -= n
			st.sendWin -= n
			return int(n), nil
		}
		if !wait {
			return 0, nil
		}
		if !flushed {
			flushed = true
			c.mu.Unlock()
			c.flush()
			c.mu.Lock()
			continue
		}
		c.flow.Wait()
	}
}

// refund gives back n bytes of the connection's send window taken for a
// write that did not happen.
func (st *h2Stream) refund(n int) {
	if n == 0 {
		return
	}
	c := st.c
	c.mu.Lock()
	c.sendWin += int64(n)
	c.flow.Broadcast()
	c.mu.Unlock()
}

// sendData sends p as DATA frames, END_STREAM on the last when end.
func (w *h2Response) sendData(p []byte, end bool) error {
	st := w.st
	c := st.c
	for {
		n := 0
		if len(p) > 0 {
			var err error
			if n, err = st.takeWindow(len(p), true); err != nil {
				w.err = err
				return err
			}
		}
		last := end && n == len(p)
		c.wmu.Lock()
		err := c.writeData(st, p[:n], last)
		c.wmu.Unlock()
		if err != nil {
			st.refund(n)
			w.err = err
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// writeData writes p as DATA frames of st within the client's frame size;
// with wmu held.
func (c *h2Conn) writeData(st *h2Stream, p []byte, end bool) error {
	if c.werr != nil {
		return c.werr
	}
	if st.wdone {
		return errH2StreamClosed
	}
	for {
		n := min(len(p), c.peerFrame)
		if err := c.fr.WriteData(st.id, end && n == len(p), p[:n]); err != nil {
			c.writeFailed(err)
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			break
		}
	}
	if end {
		c.sentEnd(st)
	}
	return nil
}

// sentEnd notes that st's END_STREAM is written (not yet flushed); with
// wmu held. A stream whose request had ended too is closed now, before
// the client can see the answer and send on: its identifier is then
// closed, not half-closed.
func (c *h2Conn) sentEnd(st *h2Stream) {
	st.wdone = true
	c.mu.Lock()
	st.answered = true
	if st.remoteDone && !st.closed {
		c.closeStream(st, errH2StreamClosed)
		c.completed++
	}
	c.mu.Unlock()
}

// trailerFields returns the answer's trailers: the declared keys' values
// and the fields set with http.TrailerPrefix.
func (w *h2Response) trailerFields() http.Header {
	var t http.Header
	for _, k := range w.declared {
		if vv := w.header[k]; len(vv) > 0 {
			if t == nil {
				t = make(http.Header)
			}
			t[k] = vv
		}
	}
	for k, vv := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) && len(vv) > 0 {
			if t == nil {
				t = make(http.Header)
			}
			t[http.CanonicalHeaderKey(k[len(http.TrailerPrefix):])] = vv
		}
	}
	return t
}

// finish ends the answer once the handler has returned.
func (w *h2Response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return
	}
	st := w.st
	c := st.c
	if !w.noBody && !w.head && w.cl >= 0 && w.written < w.cl {
		// Less than the content-length it set: the answer is cut.
		w.err = errH2StreamClosed
		c.resetStream(st.id, http2.ErrCodeInternal)
		c.flush()
		return
	}
	trailers := w.trailerFields()
	if w.sentHeader {
		var err error
		if len(trailers) > 0 {
			err = w.sendTrailers(trailers)
		} else {
			err = w.sendData(nil, true)
		}
		if err == nil {
			c.flush()
		}
		return
	}
	// The whole answer: HEADERS with a content-length, DATA and trailers
	// in one write, as far as the send windows allow.
	cl := int64(-1)
	if !w.noBody && len(w.declared) == 0 && len(trailers) == 0 && (!w.head || w.written > 0) {
		cl = w.written
	}
	held := w.held
	n := 0
	if len(held) > 0 {
		var err error
		if n, err = st.takeWindow(len(held), false); err != nil {
			w.err = err
			return
		}
	}
	whole := n == len(held)
	c.wmu.Lock()
	err := c.werr
	if err == nil && st.wdone {
		err = errH2StreamClosed
	}
	if err == nil {
		err = c.writeHeaderBlock(st.id, w.status, w.header, w.raw, w.declared, cl, w.sniff(), len(held) == 0 && len(trailers) == 0)
		if err == nil && n > 0 {
			err = c.writeData(st, held[:n], whole && len(trailers) == 0)
		}
		if err == nil && whole && len(trailers) > 0 {
			err = c.writeHeaderBlock(st.id, 0, trailers, nil, nil, -1, "", true)
		}
		if err == nil && whole && !st.wdone {
			c.sentEnd(st)
		}
		c.flushLocked()
	}
	c.wmu.Unlock()
	w.sentHeader = true
	if err != nil || whole {
		return
	}
	if err := w.sendData(held[n:], len(trailers) == 0); err != nil {
		return
	}
	if len(trailers) > 0 && w.sendTrailers(trailers) != nil {
		return
	}
	c.flush()
}

// sendTrailers ends the stream with the trailer fields.
func (w *h2Response) sendTrailers(t http.Header) error {
	st := w.st
	c := st.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if st.wdone {
		return errH2StreamClosed
	}
	if err := c.writeHeaderBlock(st.id, 0, t, nil, nil, -1, "", true); err != nil {
		c.writeFailed(err)
		return err
	}
	c.sentEnd(st)
	return nil
}

// release gives the held body buffer back.
func (w *h2Response) release() {
	if w.heldBuf != nil {
		*w.heldBuf = w.held[:0]
		heldPool.Put(w.heldBuf)
		w.heldBuf, w.held = nil, nil
	}
}

// writeHeaderBlock encodes a header block (an answer's head with status,
// or trailers when status is 0) and writes it as HEADERS and
// CONTINUATION frames; with wmu held. Fields HTTP/2 does not carry
// (connection-specific ones, RFC 9113 section 8.2.2) and declared
// trailers are left out of h; raw, whose names are lower-case and which
// H2Request.AnswerField checked, follow h.
func (c *h2Conn) writeHeaderBlock(id uint32, status int, h http.Header, raw []hpack.HeaderField, skip []string, cl int64, ctype string, end bool) error {
	c.hbuf = c.hbuf[:0]
	enc := c.henc
	if status != 0 {
		_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(status)})
	}
	for k, vv := range h {
		if !responseField(k, status == 0) || hasKey(skip, k) {
			continue
		}
		name := lowerName(k)
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			c.writeField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	for _, f := range raw {
		c.writeField(f)
	}
	if status >= 200 {
		if _, ok := h["Date"]; !ok && !rawHas(raw, "date") {
			_ = enc.WriteField(hpack.HeaderField{Name: "date", Value: Date(time.Now())})
		}
		if ctype != "" {
			_ = enc.WriteField(hpack.HeaderField{Name: "content-type", Value: ctype})
		}
		if cl >= 0 {
			if _, ok := h["Content-Length"]; !ok && !rawHas(raw, "content-length") {
				_ = enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.FormatInt(cl, 10)})
			}
		}
	}
	block := c.hbuf
	first := true
	for {
		n := min(len(block), c.peerFrame)
		frag, rest := block[:n], block[n:]
		var err error
		if first {
			err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: len(rest) == 0})
		} else {
			err = c.fr.WriteContinuation(id, len(rest) == 0, frag)
		}
		if err != nil {
			return err
		}
		first, block = false, rest
		if len(block) == 0 {
			return nil
		}
	}
}

// writeField adds f to the header block being built: by the HPACK encoder,
// or, for a field the server's UniqueFields names, as a literal without
// indexing, which leaves the dynamic table (the encoder's and the peer's
// decoder's) as it is. A block does not start with such a literal: a
// dynamic table size update the encoder owes the peer must come first
// (RFC 7541 section 4.2).
func (c *h2Conn) writeField(f hpack.HeaderField) {
	if len(c.hbuf) == 0 || !hasKey(c.s.cfg.UniqueFields, f.Name) {
		_ = c.henc.WriteField(f)
		return
	}
	c.hbuf = append(c.hbuf, 0) // literal without indexing, new name
	c.hbuf = appendHpackString(c.hbuf, f.Name)
	c.hbuf = appendHpackString(c.hbuf, f.Value)
}

// appendHpackString appends s as an HPACK string literal, not Huffman
// coded: its length as an integer of 7-bit prefix (RFC 7541 section 5.1),
// then its bytes.
func appendHpackString(b []byte, s string) []byte {
	n := uint64(len(s))
	if n < 127 {
		b = append(b, byte(n))
	} else {
		b = append(b, 127)
		for n -= 127; n >= 128; n >>= 7 {
			b = append(b, byte(n&0x7f|0x80))
		}
		b = append(b, byte(n))
	}
	return append(b, s...)
}

// responseField reports whether an answer (or trailer) field goes out.
func responseField(k string, trailer bool) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "":
		return false
	case "Trailer":
		return !trailer
	}
	return !strings.HasPrefix(k, http.TrailerPrefix) && httpguts.ValidHeaderFieldName(k)
}

func hasKey(list []string, k string) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 204:
		return "204"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// lowerNames maps common canonical field names to their HTTP/2 (lower
// case) form, so that answers do not allocate them.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Age", "Cache-Control", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Type", "Date", "Etag", "Expires", "Last-Modified", "Location", "Server",
		"Set-Cookie", "Trailer", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options", "Grpc-Status",
		"Grpc-Message", "Grpc-Encoding", "Grpc-Accept-Encoding", "Retry-After", "Access-Control-Allow-Origin",
		"Strict-Transport-Security", "Content-Disposition", "Link", "Alt-Svc"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

func lowerName(k string) string {
	if v, ok := lowerNames[k]; ok {
		return v
	}
	return strings.ToLower(k)
}

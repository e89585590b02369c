package h1

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// response is the http.ResponseWriter (and http.Flusher) of one request.
type response struct {
	c           *Conn
	req         *http.Request
	header      http.Header
	status      int
	wroteHeader bool  // a final status has been chosen
	committed   bool  // the head is in the write buffer
	cl          int64 // the declared Content-Length, or -1
	written     int64
	chunked     bool
	closeAfter  bool
	held        []byte // body bytes held before committing, unknown length
	err         error  // sticky write error
	// started (the response has begun) and continued (100 Continue went
	// out) are guarded by c.wmu: a body read on another goroutine may send
	// the 100 Continue while the handler begins the response.
	started, continued bool
}

func (w *response) Header() http.Header { return w.header }

func (w *response) bodyAllowed() bool {
	return !(w.status >= 100 && w.status < 200 || w.status == http.StatusNoContent || w.status == http.StatusNotModified)
}

// WriteHeader sends 1xx informational answers at once and records a final
// status; the head goes out with the first body bytes, a Flush or the end.
func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("proxy: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.start()
		WriteStatusLine(w.c.bw, code)
		w.writeFields(false)
		_, _ = w.c.bw.WriteString("\r\n")
		w.setErr(w.c.bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	if vs := w.header["Content-Length"]; len(vs) == 1 {
		if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		}
	}
	if w.cl >= 0 || !w.bodyAllowed() || w.req.Method == http.MethodHead {
		w.commit(false)
	}
}

// sendContinue writes 100 Continue for a body read, unless the response
// has begun.
func (w *response) sendContinue() bool {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if w.started || w.continued {
		return false
	}
	w.continued = true
	_, err := sendWriter{w.c}.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	return err == nil
}

// start marks the response begun, after any 100 Continue in flight.
func (w *response) start() {
	w.c.wmu.Lock()
	w.started = true
	w.c.wmu.Unlock()
}

// statusLines holds the status line of every code with a reason phrase.
var statusLines = func() (lines [600]string) {
	for code := range lines {
		if text := http.StatusText(code); text != "" {
			lines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return lines
}()

// WriteStatusLine writes the HTTP/1.1 status line of code to bw, with
// its reason phrase (RFC 9110 section 15), or "status code N" for a code
// without one.
func WriteStatusLine(bw *bufio.Writer, code int) {
	if code < len(statusLines) && statusLines[code] != "" {
		_, _ = bw.WriteString(statusLines[code])
		return
	}
	_, _ = bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n")
}

// commit writes the head. With final set the handler has returned, so a
// held body's length is known.
func (w *response) commit(final bool) {
	if w.committed {
		return
	}
	w.committed = true
	w.start()
	bw := w.c.bw
	WriteStatusLine(bw, w.status)
	if _, ok := w.header["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.WriteString(Date(time.Now()))
		_, _ = bw.WriteString("\r\n")
	}
	head := w.req.Method == http.MethodHead
	trailers := w.header["Trailer"] != nil
	switch {
	case !w.bodyAllowed() || w.cl >= 0:
	case final && !trailers && !head:
		w.cl = int64(len(w.held))
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.WriteString(strconv.Itoa(len(w.held)))
		_, _ = bw.WriteString("\r\n")
	case head:
	case w.req.ProtoMinor >= 1:
		w.chunked = true
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		w.closeAfter = true
	}
	if w.c.s.shut.Load() {
		w.closeAfter = true
	}
	switch {
	case w.closeAfter || w.req.Close:
		_, _ = bw.WriteString("Connection: close\r\n")
	case w.req.ProtoMinor == 0:
		_, _ = bw.WriteString("Connection: keep-alive\r\n")
	}
	w.writeFields(!w.chunked)
	_, _ = bw.WriteString("\r\n")
}

// writeFields writes the header fields except the framing ones the server
// decides, with CR and LF in values turned into spaces.
func (w *response) writeFields(dropTrailer bool) {
	bw := w.c.bw
	for k, vs := range w.header {
		switch k {
		case "Transfer-Encoding", "Connection":
			continue
		case "Trailer":
			if dropTrailer {
				continue
			}
		case "Content-Length":
			// Not in a 1xx or 204 answer (RFC 9110 section 8.6); a 304's
			// is the length a 200 would have had, and goes out.
			if w.cl < 0 || w.status < 200 || w.status == http.StatusNoContent {
				continue
			}
		}
		if !strings.HasPrefix(k, http.TrailerPrefix) && httpguts.ValidHeaderFieldName(k) {
			writeField(bw, k, vs)
		}
	}
}

func (w *response) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if !w.committed {
		if len(w.held)+len(p) <= heldBodyBytes {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.commit(false)
		if err := w.writeBody(w.held); err != nil {
			return 0, err
		}
		w.held = w.held[:0]
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *response) writeBody(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		_, _ = bw.Write(p)
		_, err := bw.WriteString("\r\n")
		w.setErr(err)
		return w.err
	}
	_, err := bw.Write(p)
	w.setErr(err)
	return w.err
}

// Flush sends the head, if not yet sent, and what is buffered.
func (w *response) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
		_ = w.writeBody(w.held)
		w.held = w.held[:0]
	}
	w.setErr(w.c.bw.Flush())
}

// finish completes the response after the handler returned and reports
// whether the connection is still usable.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
		_ = w.writeBody(w.held)
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers()
		_, _ = bw.WriteString("\r\n")
	}
	if w.cl >= 0 && w.written < w.cl && w.bodyAllowed() && w.req.Method != http.MethodHead {
		// The handler wrote less than it declared: the client would wait
		// for the rest, so the connection ends here.
		w.closeAfter = true
	}
	w.setErr(bw.Flush())
	return w.err == nil
}

// writeTrailers writes the trailer fields: those declared in Trailer and
// set after the body, and those named with http.TrailerPrefix.
func (w *response) writeTrailers() {
	bw := w.c.bw
	emit := func(k string, vs []string) {
		if httpguts.ValidHeaderFieldName(k) {
			writeField(bw, k, vs)
		}
	}
	for _, decl := range w.header["Trailer"] {
		for k := range strings.SplitSeq(decl, ",") {
			k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k))
			if vs, ok := w.header[k]; ok && k != "" {
				emit(k, vs)
			}
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			emit(name, vs)
		}
	}
}

// Date formats t for a Date field (RFC 9110 section 6.6.1), once per
// second: answers in the same second share the string.
func Date(t time.Time) string {
	sec := t.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateCache{sec: sec, s: t.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.s
}

type dateCache struct {
	sec int64
	s   string
}

var cachedDate atomic.Pointer[dateCache]

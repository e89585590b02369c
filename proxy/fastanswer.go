package proxy

import (
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// The fast path's answer: a plain one read from the upstream and relayed
// to the client as it arrives, or dropped when the request is retried.

// plainAnswer is what the fast path needs of an answer it relays itself.
type plainAnswer struct {
	code    int
	minor   int   // HTTP/1.minor
	length  int64 // Content-Length, or -1
	noBody  bool
	close   bool // the upstream ends the connection after it
	hasDate bool
	hasID   bool // the upstream set X-Request-Id, which then wins
	lastVia int  // index in the fields of the last Via, or -1
}

// parseAnswer takes an answer's head apart into fields (reused) and
// reports whether the fast path relays it: a final status with a
// Content-Length, or one without a body, whose hop-by-hop fields are the
// usual ones. Anything else — chunked or close-delimited bodies, trailers,
// odd Connection options, a malformed head — goes to UpstreamConn.Response
// and respond, which also refuse what is malformed.
func parseAnswer(head, method string, fields *[]rawField) (plainAnswer, bool) {
	ans := plainAnswer{length: -1, lastVia: -1}
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	proto, status, _ := strings.Cut(line, " ")
	switch proto {
	case "HTTP/1.1":
		ans.minor = 1
	case "HTTP/1.0":
	default:
		return ans, false
	}
	codeText, _, _ := strings.Cut(status, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 3 || code < 200 {
		return ans, false
	}
	ans.code = code
	keepAlive, closeOpt := false, false
	fs := (*fields)[:0]
	for {
		name, value, next, err := h1.NextField(rest)
		if err != nil {
			return ans, false
		}
		if name == "" {
			break
		}
		rest = next
		f := rawField{name: name, value: value}
		switch fieldKindOf(name) {
		case fieldContentLength:
			n, err := strconv.ParseUint(value, 10, 63)
			if ans.length >= 0 || err != nil {
				return ans, false
			}
			ans.length = int64(n)
		case fieldTransferEncoding:
			return ans, false
		case fieldConnection:
			for opt := range strings.SplitSeq(value, ",") {
				switch opt = textproto.TrimString(opt); {
				case h1.EqualFoldASCII(opt, "close"):
					ans.close, closeOpt = true, true
				case h1.EqualFoldASCII(opt, "keep-alive"):
					keepAlive = true
				case opt == "":
				default:
					return ans, false
				}
			}
			f.skip = true
		case fieldHopByHop, fieldTE, fieldUpgrade, fieldTrailer:
			f.skip = true
		case fieldRequestID:
			ans.hasID = true
		case fieldDate:
			ans.hasDate = true
		case fieldVia:
			ans.lastVia = len(fs)
		}
		fs = append(fs, f)
	}
	*fields = fs
	if ans.minor == 0 && !keepAlive {
		ans.close = true
	}
	if closeOpt {
		// "Connection: close" names a field too.
		for i := range fs {
			if h1.EqualFoldASCII(fs[i].name, "Close") {
				fs[i].skip = true
			}
		}
	}
	ans.noBody = method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if code == http.StatusNoContent {
		// No Content-Length in a 204 (RFC 9110 section 8.6), as the
		// general path's writer drops it.
		for i := range fs {
			if fieldKindOf(fs[i].name) == fieldContentLength {
				fs[i].skip = true
			}
		}
	}
	return ans, ans.noBody || ans.length >= 0
}

// fastRelay relays a plain answer (fastConn.ans) whose head was read and
// tells the lifecycle how its body ended.
func (e *entry) fastRelay(fc *fastConn, st *reqState, x *exchange, a *attempt, pc *h1.UpstreamConn) bool {
	c := fc.c
	ans := fc.ans
	fc.started = true
	var out io.Writer
	closeAfter := false
	if fc.h2 != nil {
		out = e.h2AnswerHead(fc, st)
	} else {
		out, closeAfter = e.h1AnswerHead(fc, st, a)
	}
	st.status, st.wroteHeader = ans.code, true

	var readErr, writeErr error
	if !ans.noBody {
		var n int64
		n, readErr, writeErr = pc.CopyBody(out, ans.length)
		st.written += n
	}
	c.Unwatch()
	now := time.Now()
	dl, hasDL := x.req.Deadline()
	switch {
	case readErr != nil && c.Context().Err() != nil, writeErr != nil:
		// The client left mid-answer: nothing to learn upstream, and the
		// connection ends.
		pc.Close()
		if readErr != nil {
			st.status = lifecycle.StatusClientClosed
			st.abort = true
		}
		st.reason = ReasonClientClosed
		a.drop()
		x.req.ClientGone(now)
		return false
	case readErr != nil:
		// The upstream broke the body after the status went out: the
		// client's answer is cut short too (the connection ends).
		pc.Close()
		st.reason = ReasonUpstreamReset
		if hasDL && !now.Before(dl) {
			st.reason = ReasonRequestTimeout
		}
		a.finish(now, readErr)
		x.req.Ended(now, a.try, true)
		st.abort = true
		return false
	}
	// The answer has been read: the connection goes back to the pool
	// before the client has all of it, as the general path's does.
	pc.Release(!ans.close && !c.ClientGone() && (!hasDL || pc.SetDeadline(time.Time{}) == nil))
	a.finish(now, nil)
	x.req.Ended(now, a.try, false)
	return !closeAfter
}

// h1AnswerHead writes the head of a plain answer (fastConn.ans) to an
// HTTP/1.1 client, and returns where its body goes and whether the
// connection ends after it.
func (e *entry) h1AnswerHead(fc *fastConn, st *reqState, a *attempt) (io.Writer, bool) {
	c, q := fc.h1c, &fc.q
	ans := &fc.ans
	st.w = nil // an answer retried before this one may have set up the general writer; it wrote nothing
	out := c.Writer()
	h1.WriteStatusLine(out, ans.code)
	if !ans.hasDate {
		out.WriteString("Date: ")
		out.WriteString(h1.Date(a.start))
		out.WriteString("\r\n")
	}
	closeAfter := q.close || c.ShuttingDown()
	if closeAfter {
		out.WriteString("Connection: close\r\n")
	}
	via := viaValue(1, ans.minor)
	writeRawFields(out, fc.answer, -1, "", ans.lastVia, via)
	if !ans.hasID {
		out.WriteString(HeaderRequestID + ": ")
		out.WriteString(st.id)
		out.WriteString("\r\n")
	}
	if ans.lastVia < 0 {
		out.WriteString("Via: ")
		out.WriteString(via)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	return out, closeAfter
}

// h2AnswerHead starts a plain answer (fastConn.ans) on an HTTP/2 stream,
// with the fields the general path's writer would send, and returns where
// its body goes. The stream's writer sends the HEADERS frame with the
// body's first DATA, or alone with END_STREAM, when the hook returns.
func (e *entry) h2AnswerHead(fc *fastConn, st *reqState) io.Writer {
	r := fc.h2
	ans := &fc.ans
	w := r.ResponseWriter()
	if st.w != nil {
		// The general writer was set up for an answer retried before
		// this one: it wrote nothing, but its header holds the request id.
		clear(w.Header())
		st.w = nil
	}
	via := viaValue(1, ans.minor)
	for i := range fc.answer {
		f := &fc.answer[i]
		switch {
		case f.skip:
		case i == ans.lastVia:
			r.AnswerField(f.name, f.value+", "+via)
		default:
			r.AnswerField(f.name, f.value)
		}
	}
	if !ans.hasID {
		r.AnswerField(HeaderRequestID, st.id)
	}
	if ans.lastVia < 0 {
		r.AnswerField("Via", via)
	}
	w.WriteHeader(ans.code)
	return w
}

// fastDiscard ends a try whose answer the lifecycle does not forward, as
// attempt.discard does: a short answer body is read so that the connection
// can be reused.
func (e *entry) fastDiscard(fc *fastConn, x *exchange, a *attempt, res tryResult, pc *h1.UpstreamConn) {
	switch res {
	case tryFailed:
		return // over, and accounted for when it was reported
	case tryGeneral:
		a.discard()
		return
	case tryPlain:
		ans := &fc.ans
		reuse := !ans.close && (ans.noBody || ans.length <= discardAnswerBytes)
		if reuse && !ans.noBody {
			reuse = pc.Discard(ans.length) == nil
		}
		fc.c.Unwatch()
		_, hasDL := x.req.Deadline()
		pc.Release(reuse && !fc.c.ClientGone() && (!hasDL || pc.SetDeadline(time.Time{}) == nil))
	}
	a.finish(time.Now(), nil)
}

// discardAnswerBytes is how much of a retried answer's body is read to keep
// its connection, as attempt.discard reads.
const discardAnswerBytes = 4 << 10

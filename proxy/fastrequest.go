package proxy

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/meshbench/meshbench/proxy/h1"
)

// The fast path's request: its head as the client sent it, taken apart
// field by field, and the request written upstream from it.

// rawField is a header field as the client (or the upstream, in an
// answer) sent it: the name as spelled, the value trimmed.
type rawField struct {
	name, value string
	skip        bool // not forwarded: hop-by-hop, or written by the proxy itself
}

// fastReq is a request head the fast path took apart. One is kept per
// connection and reused.
type fastReq struct {
	method, target string
	path, query    string // target split at the first '?'
	host           string
	fields         []rawField // every field but Host
	contentLength  int64      // 0 when absent
	close          bool       // Connection: close
	requestID      string     // the client's, when valid and alone
	budget         time.Duration
	hasBudget      bool
	lastXFF        int // index in fields of the last X-Forwarded-For, or -1
	lastVia        int
	hasXFP, hasXFH bool
	hosts, ids     int  // Host and X-Request-Id fields seen
	hasCL          bool // a Content-Length field seen
}

// Joined makes fastReq the fields a route match reads (config.Fields).
func (q *fastReq) Joined(name string) (string, bool) {
	v, found := "", false
	for i := range q.fields {
		if f := &q.fields[i]; h1.EqualFoldASCII(f.name, name) {
			if found {
				v += "," + f.value
			} else {
				v, found = f.value, true
			}
		}
	}
	return v, found
}

// Get returns the first value of the field named name, case-insensitively
// (httpkey.Header).
func (q *fastReq) Get(name string) string {
	for i := range q.fields {
		if f := &q.fields[i]; h1.EqualFoldASCII(f.name, name) {
			return f.value
		}
	}
	return ""
}

// field returns the first value of the field named name,
// case-insensitively, and how many fields have that name (HeadChecker).
func (q *fastReq) field(name string) (value string, n int) {
	for i := range q.fields {
		if f := &q.fields[i]; strings.EqualFold(f.name, name) {
			if n == 0 {
				value = f.value
			}
			n++
		}
	}
	return value, n
}

// strip removes the fields named name, case-insensitively, as a
// middleware removes them from the request's header (HeadChecker): they
// are not forwarded, and neither the route's policies (consumer and hash
// keys) nor later middlewares see them.
func (q *fastReq) strip(name string) {
	for i := range q.fields {
		if f := &q.fields[i]; strings.EqualFold(f.name, name) {
			f.name, f.skip = "", true
		}
	}
}

// parse takes head apart and reports whether the fast path can take the
// request; bufferedBody is how many bytes past the head the connection has
// already read.
func (q *fastReq) parse(head string, bufferedBody int) bool {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, target, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(target, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !h1.ValidMethod(method) || method == http.MethodConnect {
		return false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if !plainPath(path) || hasQuery && !plainQuery(query) {
		return false
	}
	*q = fastReq{method: method, target: target, path: path, query: query, fields: q.fields[:0], lastXFF: -1, lastVia: -1}
	for {
		name, value, next, err := h1.NextField(rest)
		if err != nil {
			return false // obs-fold or a bad field: the general path refuses it
		}
		if name == "" {
			break
		}
		rest = next
		if !q.add(name, value) {
			return false
		}
	}
	return q.end(bufferedBody)
}

// parseH2 takes an HTTP/2 request's header block apart, as parse does an
// HTTP/1.1 head, and reports whether the fast path can take the request:
// the HTTP/2 server checked the block, and the request has no body.
func (q *fastReq) parseH2(r *h1.H2Request) bool {
	if r.Method == http.MethodConnect {
		return false
	}
	path, query, hasQuery := strings.Cut(r.Path, "?")
	if !plainPath(path) || hasQuery && !plainQuery(query) {
		return false
	}
	*q = fastReq{method: r.Method, target: r.Path, path: path, query: query, fields: q.fields[:0], lastXFF: -1, lastVia: -1}
	cookies := 0
	for _, f := range r.Fields {
		switch f.Name {
		case "cookie":
			// Joined into one field by the general path (RFC 9113
			// section 8.2.3) when the client split it.
			if cookies++; cookies > 1 {
				return false
			}
		case "content-type":
			if strings.HasPrefix(f.Value, "application/grpc") {
				return false // gRPC's own answers are the general path's
			}
		}
		if !q.add(f.Name, f.Value) {
			return false
		}
	}
	if r.Authority != "" {
		// :authority wins over Host (RFC 9113 section 8.3.1).
		q.host, q.hosts = r.Authority, 1
	}
	return q.end(0) && q.contentLength == 0
}

// add takes in one field of the request's head and reports whether the
// fast path can still take the request.
func (q *fastReq) add(name, value string) bool {
	f := rawField{name: name, value: value}
	switch fieldKindOf(name) {
	case fieldHost:
		q.hosts++
		q.host = value
		return true
	case fieldContentLength:
		n, err := strconv.ParseUint(value, 10, 63)
		if q.hasCL || err != nil {
			return false
		}
		q.hasCL, q.contentLength, f.skip = true, int64(n), true
	case fieldTransferEncoding, fieldExpect, fieldUpgrade, fieldTE, fieldTrailer:
		return false
	case fieldConnection:
		for opt := range strings.SplitSeq(value, ",") {
			switch opt = textproto.TrimString(opt); {
			case h1.EqualFoldASCII(opt, "close"):
				q.close = true
			case opt == "", h1.EqualFoldASCII(opt, "keep-alive"):
			default:
				return false // a field named hop-by-hop: the general path drops it
			}
		}
		f.skip = true
	case fieldHopByHop:
		f.skip = true
	case fieldRequestID:
		q.ids++
		q.requestID, f.skip = value, true
	case fieldDeadline:
		if !q.hasBudget {
			ms, err := strconv.ParseInt(value, 10, 64)
			if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
				return false // refused (400) or already expired (504)
			}
			q.budget, q.hasBudget = time.Duration(ms)*time.Millisecond, true
		}
		f.skip = true
	case fieldXFF:
		q.lastXFF = len(q.fields)
	case fieldVia:
		q.lastVia = len(q.fields)
	case fieldXFP:
		q.hasXFP = true
	case fieldXFH:
		q.hasXFH = true
	}
	q.fields = append(q.fields, f)
	return true
}

// end checks the head once all its fields are in, bufferedBody being how
// many bytes past it the connection has already read, and reports whether
// the fast path can take the request.
func (q *fastReq) end(bufferedBody int) bool {
	if q.hosts != 1 || !httpguts.ValidHostHeader(q.host) {
		return false
	}
	if q.ids != 1 || !validRequestID(q.requestID) {
		q.requestID = ""
	}
	if q.close {
		// "Connection: close" names a field too.
		for i := range q.fields {
			if h1.EqualFoldASCII(q.fields[i].name, "Close") {
				q.fields[i].skip = true
			}
		}
	}
	if n := q.contentLength; n > 0 && (n > h1.MaxBody || int64(bufferedBody) < n) {
		return false
	}
	return true
}

// fieldKind sorts the header fields the fast path looks at.
type fieldKind int

const (
	fieldOther fieldKind = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldExpect
	fieldUpgrade
	fieldTE
	fieldTrailer
	fieldConnection
	fieldHopByHop // Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization
	fieldRequestID
	fieldDeadline
	fieldXFF
	fieldXFP
	fieldXFH
	fieldVia
	fieldDate
)

// fieldKindOf sorts a field name, case-insensitively, comparing it only
// with the names of its length.
func fieldKindOf(name string) fieldKind {
	is := func(s string) bool { return h1.EqualFoldASCII(name, s) }
	switch len(name) {
	case 2:
		if is("Te") {
			return fieldTE
		}
	case 3:
		if is("Via") {
			return fieldVia
		}
	case 4:
		switch {
		case is("Host"):
			return fieldHost
		case is("Date"):
			return fieldDate
		}
	case 6:
		if is("Expect") {
			return fieldExpect
		}
	case 7:
		switch {
		case is("Upgrade"):
			return fieldUpgrade
		case is("Trailer"):
			return fieldTrailer
		}
	case 10:
		switch {
		case is("Connection"):
			return fieldConnection
		case is("Keep-Alive"):
			return fieldHopByHop
		}
	case 12:
		if is(HeaderRequestID) {
			return fieldRequestID
		}
	case 14:
		if is("Content-Length") {
			return fieldContentLength
		}
	case 15:
		if is("X-Forwarded-For") {
			return fieldXFF
		}
	case 16:
		switch {
		case is("Proxy-Connection"):
			return fieldHopByHop
		case is("X-Forwarded-Host"):
			return fieldXFH
		}
	case 17:
		switch {
		case is("Transfer-Encoding"):
			return fieldTransferEncoding
		case is("X-Forwarded-Proto"):
			return fieldXFP
		}
	case 18:
		if is("Proxy-Authenticate") {
			return fieldHopByHop
		}
	case 19:
		if is("Proxy-Authorization") {
			return fieldHopByHop
		}
	case len(HeaderDeadline):
		if is(HeaderDeadline) {
			return fieldDeadline
		}
	}
	return fieldOther
}

// plainPath reports whether p is an origin-form path of unreserved
// characters and those sub-delimiters a URL keeps unescaped in a path, so
// that it is its own decoded and escaped form.
func plainPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '~', c == '/',
			c == '$', c == '&', c == '+', c == ',', c == ':', c == ';', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// plainQuery reports whether a query is visible ASCII without '#'.
func plainQuery(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// writeUpstream writes the request head and body to bw as the general
// path's writeRequest would write its outbound request: Host first, the
// client's fields less the hop-by-hop ones, then request id, deadline,
// forwarding fields and Content-Length.
func (e *entry) writeUpstream(fc *fastConn, x *exchange, bw *bufio.Writer, host, upPath string, timeout time.Duration) {
	q := &fc.q
	st := x.st
	bw.WriteString(q.method)
	bw.WriteByte(' ')
	bw.WriteString(upPath)
	if q.query != "" {
		bw.WriteByte('?')
		bw.WriteString(q.query)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	via := viaValue(1, 1)
	if fc.h2 != nil {
		via = viaValue(2, 0)
	}
	xffAt := q.lastXFF
	if st.clientIP == "" {
		xffAt = -1
	}
	writeRawFields(bw, q.fields, xffAt, st.clientIP, q.lastVia, via)
	bw.WriteString(HeaderRequestID + ": ")
	bw.WriteString(st.id)
	bw.WriteString("\r\n")
	if timeout > 0 {
		bw.WriteString(HeaderDeadline + ": ")
		bw.WriteString(deadlineValue(timeout))
		bw.WriteString("\r\n")
	}
	if q.lastXFF < 0 && st.clientIP != "" {
		bw.WriteString("X-Forwarded-For: ")
		bw.WriteString(st.clientIP)
		bw.WriteString("\r\n")
	}
	if !q.hasXFP {
		if fc.c.TLS() != nil {
			bw.WriteString("X-Forwarded-Proto: https\r\n")
		} else {
			bw.WriteString("X-Forwarded-Proto: http\r\n")
		}
	}
	if !q.hasXFH && q.host != "" {
		bw.WriteString("X-Forwarded-Host: ")
		bw.WriteString(q.host)
		bw.WriteString("\r\n")
	}
	if q.lastVia < 0 {
		bw.WriteString("Via: ")
		bw.WriteString(via)
		bw.WriteString("\r\n")
	}
	switch {
	case q.contentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(q.contentLength, 10))
		bw.WriteString("\r\n\r\n")
		// The body stays in the read buffer, for retries, until the
		// exchange ends (entry.fast).
		bw.Write(fc.h1c.Buffered()[:q.contentLength])
	case q.method == http.MethodPost || q.method == http.MethodPut || q.method == http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n\r\n")
	default:
		bw.WriteString("\r\n")
	}
}

// writeRawFields writes the fields that are not skipped, with canonical
// names, appending ", "+a to the value of the field at index atA (and b at
// atB); -1 appends nothing.
func writeRawFields(bw *bufio.Writer, fields []rawField, atA int, a string, atB int, b string) {
	for i := range fields {
		f := &fields[i]
		if f.skip {
			continue
		}
		bw.WriteString(h1.CanonicalKey(f.name))
		bw.WriteString(": ")
		bw.WriteString(f.value)
		switch i {
		case atA:
			bw.WriteString(", ")
			bw.WriteString(a)
		case atB:
			bw.WriteString(", ")
			bw.WriteString(b)
		}
		bw.WriteString("\r\n")
	}
}

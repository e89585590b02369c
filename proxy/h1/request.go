package h1

import (
	"cmp"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// headError is a request head the server refuses, with its status.
type headError struct {
	status int
	msg    string
}

func (e *headError) Error() string { return e.msg }

var (
	headTooLarge = &headError{http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"}
	headClosed   = &headError{0, "connection closed before the request head was complete"}
)

func badRequest(msg string) *headError { return &headError{http.StatusBadRequest, msg} }

// reject answers a request head the server cannot take and closes.
func (c *Conn) reject(e *headError) {
	if e.status == 0 {
		return
	}
	text := strconv.Itoa(e.status) + " " + http.StatusText(e.status)
	c.wend = time.Now().Add(time.Second)
	_, _ = io.WriteString(c.bw, "HTTP/1.1 "+text+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(text)+2+len(e.msg)+1)+"\r\n\r\n"+text+": "+e.msg+"\n")
	_ = c.bw.Flush()
}

// readHead reads the request line and header fields into c.head.
func (c *Conn) readHead() (string, *headError) {
	limit := c.s.cfg.MaxHeaderBytes
	if limit <= 0 {
		limit = defaultMaxHeaderBytes
	}
	head, err := readHeadInto(c.br, &c.head, limit)
	if err == nil {
		return head, nil
	}
	var ne net.Error
	switch {
	case err == errHeadTooLong:
		return "", headTooLarge
	case err == errBlankLines:
		return "", badRequest(err.Error())
	case len(c.head) > 0 && errors.As(err, &ne) && ne.Timeout():
		return "", &headError{http.StatusRequestTimeout, "request head not received in time"}
	}
	return "", headClosed
}

// readRequest reads and checks one request head and builds the request.
func (c *Conn) readRequest() (*http.Request, *headError) {
	head, herr := c.readHead()
	if herr != nil {
		return nil, herr
	}
	return c.parseRequest(head)
}

// parseRequest checks a request head and builds the request.
func (c *Conn) parseRequest(head string) (*http.Request, *headError) {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, target, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(target, " ")
	if !ok1 || !ok2 || !ValidMethod(method) || target == "" {
		return nil, badRequest("malformed request line")
	}
	major, minor := 1, 1
	switch proto {
	case "HTTP/1.1":
	case "HTTP/1.0":
		minor = 0
	default:
		var ok bool
		if major, minor, ok = http.ParseHTTPVersion(proto); !ok {
			return nil, badRequest("malformed HTTP version")
		}
		if major != 1 {
			return nil, &headError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version " + proto}
		}
	}

	h, err := parseFields(rest)
	if err != nil {
		return nil, badRequest("malformed header field")
	}
	// Host is the request's, not a field handlers see (as in net/http).
	hosts := h["Host"]
	delete(h, "Host")
	var host string
	if len(hosts) > 0 {
		host = hosts[0]
	}

	req := http.Request{
		Method:     method,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     h,
		RemoteAddr: c.remote,
		RequestURI: target,
		TLS:        c.tls,
	}
	if len(hosts) > 1 {
		return nil, badRequest("more than one Host field")
	}
	if len(hosts) == 0 && minor >= 1 {
		return nil, badRequest("missing Host field")
	}
	if !httpguts.ValidHostHeader(host) {
		return nil, badRequest("malformed Host field")
	}
	authority := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	raw := target
	if authority {
		raw = "http://" + target
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, badRequest("malformed request target")
	}
	if authority {
		u.Scheme = ""
	}
	req.URL = u
	req.Host = cmp.Or(u.Host, host)
	if !httpguts.ValidHostHeader(req.Host) {
		return nil, badRequest("malformed host in the request target")
	}

	// Framing (RFC 9112 section 6): a Transfer-Encoding other than chunked
	// is not implemented, and one alongside a Content-Length is refused
	// outright rather than guessed at (request smuggling).
	cl := int64(0)
	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		if minor == 0 {
			return nil, badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(te) != 1 || !EqualFoldASCII(te[0], "chunked") {
			return nil, &headError{http.StatusNotImplemented, "unsupported transfer coding"}
		}
		if _, ok := h["Content-Length"]; ok {
			return nil, badRequest("both Transfer-Encoding and Content-Length")
		}
		delete(h, "Transfer-Encoding")
		chunked = true
		cl = -1
		req.TransferEncoding = []string{"chunked"}
	} else if vs, ok := h["Content-Length"]; ok {
		for _, v := range vs[1:] {
			if v != vs[0] {
				return nil, badRequest("conflicting Content-Length fields")
			}
		}
		n, err := strconv.ParseUint(vs[0], 10, 63)
		if err != nil {
			return nil, badRequest("malformed Content-Length")
		}
		cl = int64(n)
	}
	req.ContentLength = cl

	conn := h["Connection"]
	if minor == 0 {
		req.Close = !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		req.Close = httpguts.HeaderValuesContainsToken(conn, "close")
	}
	// The one request the handler gets, with the connection's context.
	r := req.WithContext(c.ctx)
	expect := false
	if ex, ok := h["Expect"]; ok && minor >= 1 {
		if len(ex) != 1 || !EqualFoldASCII(ex[0], "100-continue") {
			return nil, &headError{http.StatusExpectationFailed, "unsupported expectation"}
		}
		expect = cl != 0
	}

	if cl == 0 {
		r.Body = http.NoBody
	} else {
		b := &requestBody{c: c, remain: cl, req: r, expect: expect}
		if chunked {
			b.chunked = httputil.NewChunkedReader(c.br)
			if tr, ok := h["Trailer"]; ok {
				r.Trailer = declaredTrailer(tr)
			}
		}
		r.Body = b
		// The body is read under the read timeout and the body timeout
		// (body.go), not the idle or header deadline left from the head.
		if d := c.s.cfg.ReadTimeout; d > 0 {
			b.end = time.Now().Add(d)
		}
	}
	return r, nil
}

// ValidMethod reports whether m can be a request's method: a token (RFC
// 9110 section 9.1), as the server requires of the request line.
func ValidMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

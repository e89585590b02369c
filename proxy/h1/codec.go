package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The client writes requests and parses answers itself rather than with
// Request.Write and ReadResponse: those sort every header map before
// writing it, allocate a string per field name and value, and wrap each
// body in several readers, which together cost about as much CPU as
// forwarding the request. What goes on the wire follows RFC 9112 as
// net/http's client does, with two differences a proxy wants: no
// User-Agent is made up for a request without one, and fields are written
// in map order. The server reads request heads with the same functions.

// writeRequest writes req's head and body (of req.ContentLength bytes; the
// client sends no other itself) to bw.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("invalid Host %q", host)
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header field name %q", k)
		}
		writeField(bw, k, vs)
	}
	hasBody := req.Body != nil && req.Body != http.NoBody && req.ContentLength > 0
	switch {
	case hasBody:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(req.ContentLength, 10))
		bw.WriteString("\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		// A request of a method that carries a body says it has none.
		bw.WriteString("Content-Length: 0\r\n")
	}
	if req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if !hasBody {
		closeRequestBody(req)
		return nil
	}
	n, err := io.CopyN(bw, req.Body, req.ContentLength)
	req.Body.Close()
	if err == io.EOF {
		return fmt.Errorf("request body ended after %d of its %d bytes", n, req.ContentLength)
	}
	return err
}

// readResponse reads one answer's head from br (within the caller's
// limit, see UpstreamConn.Read) and returns it with a body reading from br.
func readResponse(br *bufio.Reader, req *http.Request, buf *[]byte) (*http.Response, error) {
	head, err := readHeadInto(br, buf, 0)
	if err != nil {
		return nil, err
	}
	return parseResponse(head, br, req)
}

// parseResponse checks an answer's head, read from br, and returns the
// answer with a body reading from br.
func parseResponse(head string, br *bufio.Reader, req *http.Request) (*http.Response, error) {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	proto, status, ok := strings.Cut(line, " ")
	major, minor, vok := http.ParseHTTPVersion(proto)
	if !ok || !vok || major != 1 {
		return nil, fmt.Errorf("malformed status line %q", line)
	}
	codeText, _, _ := strings.Cut(status, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 3 || code < 100 {
		return nil, fmt.Errorf("malformed status code %q", codeText)
	}
	h, err := parseFields(rest)
	if err != nil {
		return nil, err
	}
	resp := &http.Response{
		Status:     status,
		StatusCode: code,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     h,
		Request:    req,
	}
	conn := h["Connection"]
	if minor == 0 {
		resp.Close = !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		resp.Close = httpguts.HeaderValuesContainsToken(conn, "close")
	}

	// Framing, RFC 9112 section 6.3.
	cl := int64(-1)
	if vs, ok := h["Content-Length"]; ok {
		for _, v := range vs[1:] {
			if v != vs[0] {
				return nil, errors.New("conflicting Content-Length fields in the answer")
			}
		}
		n, err := strconv.ParseUint(vs[0], 10, 63)
		if err != nil {
			return nil, fmt.Errorf("malformed Content-Length %q in the answer", vs[0])
		}
		cl = int64(n)
	}
	noBody := req.Method == http.MethodHead || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	te, chunked := h["Transfer-Encoding"]
	if chunked {
		if minor == 0 {
			// RFC 9112 section 6.1: a server must not send it to an
			// HTTP/1.1 request in an HTTP/1.0 answer, and a recipient treats
			// the framing as faulty. Refused (the proxy answers 502) rather
			// than guessed at, and the connection is closed, never reused.
			return nil, errors.New("Transfer-Encoding in an HTTP/1.0 answer")
		}
		if len(te) != 1 || !EqualFoldASCII(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported Transfer-Encoding %q in the answer", te)
		}
		delete(h, "Transfer-Encoding")
		delete(h, "Content-Length")
		cl = -1
	}
	if tr, ok := h["Trailer"]; ok && chunked {
		delete(h, "Trailer")
		resp.Trailer = declaredTrailer(tr)
	}
	switch {
	case noBody:
		resp.ContentLength = max(cl, 0)
		if req.Method == http.MethodHead {
			resp.ContentLength = cl
		}
		resp.Body = http.NoBody
	case chunked:
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
		resp.Body = &wireBody{br: br, chunked: httputil.NewChunkedReader(br), resp: resp}
	case cl == 0:
		resp.ContentLength = 0
		resp.Body = http.NoBody
	case cl > 0:
		resp.ContentLength = cl
		resp.Body = &wireBody{br: br, remain: cl}
	default:
		// Neither: the body runs to the end of the connection.
		resp.ContentLength = -1
		resp.Close = true
		resp.Body = &wireBody{br: br, remain: -1}
	}
	return resp, nil
}

var (
	errHeadTooLong = errors.New("head over the size limit")
	errBlankLines  = errors.New("blank lines instead of a start line")
)

// maxLeadingBlankLines before a start line are skipped (RFC 9112
// section 2.2); more is a bad request.
const maxLeadingBlankLines = 4

// readHeadInto reads a head (start line and fields, to the empty line) into
// *buf and returns it as one string, which the fields then share. limit
// bounds its size (0: no bound). Empty lines before the start line are
// skipped (RFC 9112 section 2.2), up to maxLeadingBlankLines.
func readHeadInto(br *bufio.Reader, buf *[]byte, limit int) (string, error) {
	*buf = (*buf)[:0]
	blank, lineStart := 0, 0
	for {
		frag, err := br.ReadSlice('\n')
		if limit > 0 && len(*buf)+len(frag) > limit {
			return "", errHeadTooLong
		}
		*buf = append(*buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(*buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		line := (*buf)[lineStart:]
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			if lineStart > 0 {
				return string(*buf), nil
			}
			if blank++; blank > maxLeadingBlankLines {
				return "", errBlankLines
			}
			*buf = (*buf)[:0]
			continue
		}
		lineStart = len(*buf)
	}
}

// parseFields parses header field lines (to the empty line) into a
// header whose values are substrings of fields. Folded lines (obsolete,
// RFC 9112 section 5.2), malformed names and values with control
// characters are errors.
func parseFields(fields string) (http.Header, error) {
	n := strings.Count(fields, "\n") // the fields and the empty line
	h := make(http.Header, max(n-1, 0))
	vals := make([]string, n)
	for i := 0; ; i++ {
		name, value, rest, err := NextField(fields)
		if err != nil {
			return nil, err
		}
		if name == "" {
			break
		}
		fields = rest
		key := CanonicalKey(name)
		if vs, ok := h[key]; ok {
			h[key] = append(vs, value)
			continue
		}
		vals[i] = value
		h[key] = vals[i : i+1 : i+1]
	}
	return h, nil
}

// NextField takes the next header field off fields (what follows a start
// line): its name, its value trimmed, and the rest. At the empty line that
// ends the fields, or at the end, name is "". A malformed name, a value
// with a control character or a folded line (obsolete, RFC 9112 section
// 5.2) is an error. Both the server and the client read fields with it, so
// a caller reading a head field by field accepts what they accept.
func NextField(fields string) (name, value, rest string, err error) {
	l, rest, _ := strings.Cut(fields, "\n")
	l = strings.TrimSuffix(l, "\r")
	if l == "" {
		return "", "", rest, nil
	}
	name, value, ok := strings.Cut(l, ":")
	if !ok || !httpguts.ValidHeaderFieldName(name) {
		return "", "", rest, fmt.Errorf("malformed header field %q", l)
	}
	value = textproto.TrimString(value)
	if !httpguts.ValidHeaderFieldValue(value) {
		return "", "", rest, fmt.Errorf("control character in header field %q", name)
	}
	return name, value, rest, nil
}

// CanonicalKey returns a field name in canonical form, as
// textproto.CanonicalMIMEHeaderKey does, without allocating when it already
// is (as most clients send them).
func CanonicalKey(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if upper && 'a' <= ch && ch <= 'z' || !upper && 'A' <= ch && ch <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(name)
		}
		upper = ch == '-'
	}
	return name
}

// wireBody reads an answer's body from the connection: remain bytes (-1:
// to EOF), or chunks and then the trailer section into resp.Trailer.
type wireBody struct {
	br      *bufio.Reader
	remain  int64
	chunked io.Reader
	resp    *http.Response
	err     error
}

func (b *wireBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	var n int
	var err error
	switch {
	case b.chunked != nil:
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			err = readTrailer(b.br, 0, &b.resp.Trailer)
		}
	case b.remain < 0:
		n, err = b.br.Read(p)
	default:
		n, err = readFixed(b.br, p, &b.remain)
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *wireBody) Close() error { return nil }

// readFixed reads from br at most *remain bytes, what is left of a body of
// known length; it returns io.EOF with the last of them.
func readFixed(br *bufio.Reader, p []byte, remain *int64) (int, error) {
	if int64(len(p)) > *remain {
		p = p[:*remain]
	}
	n, err := br.Read(p)
	*remain -= int64(n)
	if *remain == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readTrailer reads a chunked body's trailer section, to its empty line,
// into *trailer, within limit bytes (0: defaultMaxHeaderBytes). It returns
// io.EOF when the body is complete.
func readTrailer(br *bufio.Reader, limit int, trailer *http.Header) error {
	if limit <= 0 {
		limit = defaultMaxHeaderBytes
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			if err == bufio.ErrBufferFull {
				return errors.New("trailer field too long")
			}
			return err
		}
		if limit -= len(line); limit < 0 {
			return errors.New("trailer section too large")
		}
		l := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		if l == "" {
			return io.EOF
		}
		name, value, ok := strings.Cut(l, ":")
		value = textproto.TrimString(value)
		if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return fmt.Errorf("malformed trailer field %q", l)
		}
		if key := CanonicalKey(name); !forbiddenTrailers[key] {
			if *trailer == nil {
				*trailer = http.Header{}
			}
			(*trailer)[key] = append((*trailer)[key], value)
		}
	}
}

// Trailer fields (RFC 9110 section 6.5). A malformed trailer line (a bad
// name, a control character such as NUL or CR in the value) fails the body,
// as net/http's and Envoy's codecs fail the stream: the message cannot be
// trusted. A well-formed field that section 6.5.1 keeps out of trailers —
// one that frames the message, routes it, authenticates, modifies the
// request, controls the response or says how to process the content — is
// dropped, as section 6.5.2 lets a recipient discard trailers, and the
// message goes on: it was framed correctly, and forwarding such a field
// could make a later hop act on it as if it were in the header section.
// The same names are dropped from a Trailer declaration.
var forbiddenTrailers = map[string]bool{
	// Framing and connection management.
	"Content-Length": true, "Transfer-Encoding": true, "Trailer": true, "Te": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Upgrade": true,
	// Routing and request modifiers.
	"Host": true, "Expect": true, "Max-Forwards": true, "Range": true, "If-Match": true,
	"If-None-Match": true, "If-Modified-Since": true, "If-Unmodified-Since": true, "If-Range": true,
	// Authentication and cookies.
	"Authorization": true, "Proxy-Authorization": true, "Www-Authenticate": true,
	"Proxy-Authenticate": true, "Cookie": true, "Set-Cookie": true,
	// Response control data.
	"Age": true, "Cache-Control": true, "Expires": true, "Date": true, "Location": true,
	"Retry-After": true, "Vary": true, "Pragma": true,
	// How to process the content.
	"Content-Type": true, "Content-Encoding": true, "Content-Range": true,
}

// declaredTrailer returns the trailer fields a Trailer field declares, as
// keys without values, less malformed and forbidden names.
func declaredTrailer(decl []string) http.Header {
	tr := http.Header{}
	for _, v := range decl {
		for k := range strings.SplitSeq(v, ",") {
			k = textproto.TrimString(k)
			if !httpguts.ValidHeaderFieldName(k) {
				continue
			}
			if key := CanonicalKey(k); !forbiddenTrailers[key] {
				tr[key] = nil
			}
		}
	}
	return tr
}

// writeField writes a field line per value, CR and LF in values turned
// into spaces so that no value can add a field of its own.
func writeField(bw *bufio.Writer, k string, vs []string) {
	for _, v := range vs {
		bw.WriteString(k)
		bw.WriteString(": ")
		for {
			i := strings.IndexAny(v, "\r\n")
			if i < 0 {
				break
			}
			bw.WriteString(v[:i])
			bw.WriteByte(' ')
			v = v[i+1:]
		}
		bw.WriteString(v)
		bw.WriteString("\r\n")
	}
}

// EqualFoldASCII reports whether a and b are equal under ASCII case
// folding. Protocol elements (transfer codings, Connection options,
// expectations) are compared with it: strings.EqualFold folds Unicode too,
// so that "chun\u212Aed" (with the Kelvin sign) would be chunked, where
// net/http and nginx refuse it.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

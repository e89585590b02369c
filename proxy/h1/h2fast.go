package h1

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

// H2Request is an HTTP/2 request without a body as ServerConfig.FastH2 is
// offered it: its header block, checked (RFC 9113 section 8.3: the
// pseudo-header fields present and alone, no connection-specific field,
// lower-case names), and the methods that answer it. It is the stream's
// and valid until the hook returns.
type H2Request struct {
	Method, Scheme, Path, Authority string
	// Fields are the regular fields as received: lower-case names, Host
	// and Cookie included as the client split them.
	Fields []hpack.HeaderField

	st  *h2Stream
	url *url.URL      // Path parsed, when it is not plain
	up  *UpstreamConn // watched (Watch)
}

// Context is the stream's context: it is cancelled when the client resets
// the stream or the connection ends.
func (r *H2Request) Context() context.Context { return r.st.ctx }

// RemoteAddr is the client's address, as net.Conn.RemoteAddr gives it.
func (r *H2Request) RemoteAddr() string { return r.st.c.remote }

// TLS is the connection's TLS state; nil on h2c.
func (r *H2Request) TLS() *tls.ConnectionState { return r.st.c.tls }

// ResponseWriter is the stream's answer, as a handler gets it: its status
// is set with WriteHeader and its body written with Write; the server ends
// it when the hook returns. An answer of up to 16 KiB goes out whole, in
// one write.
func (r *H2Request) ResponseWriter() http.ResponseWriter { return &r.st.resp }

// AnswerField adds a field to the answer's head, after those of the
// ResponseWriter's Header, without a header map: name in any case, value
// as it is to be sent. Fields HTTP/2 does not carry, and invalid ones, are
// dropped, as from a Header. It must come before WriteHeader.
func (r *H2Request) AnswerField(name, value string) {
	if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
		return
	}
	name = lowerField(name)
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer":
		return
	}
	w := &r.st.resp
	w.raw = append(w.raw, hpack.HeaderField{Name: name, Value: value})
}

// lowerField returns a field name in lower case, allocating only for names
// that are neither lower-case already nor common canonical ones.
func lowerField(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			if v, ok := lowerNames[name]; ok {
				return v
			}
			return strings.ToLower(name)
		}
	}
	return name
}

// rawValue returns the value of the first field named name (lower-case).
func rawValue(raw []hpack.HeaderField, name string) (string, bool) {
	for _, f := range raw {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

func rawHas(raw []hpack.HeaderField, name string) bool {
	_, ok := rawValue(raw, name)
	return ok
}

// Watch makes up's pending reads and writes fail at once if the client
// resets the stream (or the connection ends) while the hook waits on it,
// the upstream connection; Unwatch ends it. The stream's end (gone) sets
// the deadline itself, under the connection's lock: no context callback
// is registered and unregistered per request.
func (r *H2Request) Watch(up *UpstreamConn) {
	r.Unwatch()
	st := r.st
	r.up = up
	st.c.mu.Lock()
	if st.closed {
		st.c.mu.Unlock()
		_ = up.nc.SetDeadline(aLongTimeAgo)
		return
	}
	st.watched = up
	st.c.mu.Unlock()
}

// Unwatch ends the watch Watch started and returns the upstream
// connection that was watched, if any; if ClientGone then reports true,
// the watch may have interrupted it. Once it returns, the watch no longer
// touches the connection.
func (r *H2Request) Unwatch() *UpstreamConn {
	up := r.up
	if up != nil {
		st := r.st
		st.c.mu.Lock()
		st.watched = nil
		st.c.mu.Unlock()
		r.up = nil
	}
	return up
}

// ClientGone reports whether the client reset the stream or the
// connection ended.
func (r *H2Request) ClientGone() bool { return r.st.ctx.Err() != nil }

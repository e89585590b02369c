// Package h1 is the HTTP/1.1 wire code of meshbench's proxy: the server
// that takes the data plane's connections, the client and connection pool
// that send to plain-text HTTP/1.1 upstreams, and the codec both use.
//
// It exists because net/http's server and Transport, correct as they are,
// spend more CPU per proxied request than the proxying itself: a
// background read per request and per pooled connection, goroutine
// hand-offs, a context per request, sorted header output. Server and
// Client keep net/http's interfaces (http.Handler, http.RoundTripper) and
// the semantics the proxy relies on (RFC 9112 framing, keep-alive,
// pipelining, 100-continue, TLS, and h2/h2c hand-off to
// golang.org/x/net/http2's server), and drop that machinery; what they do
// not take they leave to net/http.
//
// # HTTP/2
//
// HTTP/2 connections (h2 by ALPN, or h2c by prior knowledge) are served by
// golang.org/x/net/http2's server with a 16 KiB SETTINGS_MAX_FRAME_SIZE,
// behind an h2Guard that makes it refuse what RFC 9113 says to refuse and
// it does not (h2guard.go); a plaintext connection that opens with neither
// HTTP/1.x nor the HTTP/2 preface is closed unanswered. h2spec passes in
// full on both (make h2spec). The guard also joins an answer's HEADERS and
// DATA frames in one write when the handler says the answer is whole
// (CorkH2, h2cork.go).
//
// # Serving a request from its head
//
// A ServerConfig.Fast hook is offered every request head before an
// http.Request is built, and serves the requests it takes with Conn's
// methods: the body bytes that arrived with the head (Buffered), the
// answer's writer (Writer) or the server's own http.ResponseWriter
// (ResponseWriter, FinishResponse), and a watch on the client while it
// waits on an upstream connection (Watch, Unwatch, ClientGone). Its
// upstream side is Client.Take and UpstreamConn: write the request
// (Writer), read the answer's head (ReadAnswerHead), relay a body of known
// length (CopyBody) or hand the answer over as an http.Response (Response),
// and give the connection back (Release) or close it (Close). The proxy's
// fast path (proxy/fastpath.go) is that hook; NextField, CanonicalKey,
// ValidMethod, WriteStatusLine and Date let it read and write heads as the
// server and client do.
//
// # Thresholds
//
// Connections to upstreams count against a cluster's circuit-breaking
// thresholds as Envoy's do: every open connection, the fallback
// Transport's included, holds a max_connections unit (Dialer), and a
// request that finds the cluster at max_connections waits for a connection
// to come free as one of at most max_pending pending requests (Client).
// The thresholds themselves are proxy/breaker's Admission.
package h1

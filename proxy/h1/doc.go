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
// pipelining, 100-continue, TLS, and h2/h2c), and drop that machinery; what
// they do not take they leave to net/http.
//
// # HTTP/2
//
// HTTP/2 connections (h2 by ALPN, or h2c by prior knowledge) are served by
// the package's own frame-level server (h2.go, h2read.go, h2stream.go,
// h2response.go), built on golang.org/x/net/http2's Framer and HPACK and
// nothing else of it. One goroutine per connection reads frames and answers
// the control frames itself (SETTINGS, PING, WINDOW_UPDATE, RST_STREAM,
// PRIORITY, GOAWAY, DATA into request bodies with flow control); one
// goroutine per stream runs the handler, whose http.ResponseWriter writes
// frames to the connection under a write lock through a buffered writer.
// An answer the handler completes without flushing goes out as HEADERS,
// DATA with END_STREAM and any trailers in one write; a handler whose
// client's flow-control window is empty waits on it, never the reader.
// x/net's server, which it replaced, spent 2.6 × nginx's CPU per request
// under h2load in goroutine and channel hand-offs (a serve loop, a goroutine
// per frame write). It refuses what RFC 9113 says to refuse (malformed
// requests, connection-specific fields, frames on the wrong stream state),
// reads frames of at most 16 KiB (SETTINGS_MAX_FRAME_SIZE), and bounds what
// a client may make it do (250 concurrent streams, handlers running, resets
// against completed streams: rapid reset). A plaintext connection that
// opens with neither HTTP/1.x nor the HTTP/2 preface is closed unanswered.
// h2spec passes in full on both (make h2spec).
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

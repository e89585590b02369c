package h1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the data plane's own HTTP/1.x server, for plaintext and TLS
// listeners.
//
// It exists for speed, not features: net/http's server costs the proxy more
// CPU per request than nginx spends in total (bench-proxy), and most of that
// is not HTTP parsing but its per-request machinery — a background read on
// every request to notice a client going away (an extra read syscall and a
// goroutine switch), a cancelable context per request, several read-deadline
// changes, sorted header output. A minimal goroutine-per-connection relay in
// Go spends about what nginx spends on the same bench, so the Go runtime and
// its netpoller are not what costs. This server keeps a goroutine per
// connection and the http.Handler interface the whole proxy is written
// against, and drops the rest:
//
//   - one connection-wide context: requests on a connection are sequential,
//     and a client that goes away takes the connection with it;
//   - a client going away is noticed by a one-byte read started only when a
//     request has been in the handler for clientGoneCheckAfter (net/http
//     starts one for every request);
//   - the idle read deadline is moved at most once a second;
//   - a response whose length is unknown is held up to heldBodyBytes and
//     then sent with a Content-Length, as net/http does, or chunked;
//   - every wait on a client is bounded, as nginx bounds them (header,
//     body and send timeouts), and so is the number of connections slow at
//     once (slowclient.go).
//
// On a TLS listener it runs the handshake itself and serves connections
// that chose HTTP/1.1 (or nothing) by ALPN. Connections that chose h2, and
// plaintext ones that open with the HTTP/2 preface (h2c prior knowledge),
// are served by the package's own HTTP/2 server (h2.go), on the
// connection's goroutine, with the same limits and timeouts. Upgrades are not
// proxied (the proxy drops Upgrade as a hop-by-hop field), so the server
// has no Hijack.
type Server struct {
	h   http.Handler
	cfg ServerConfig
	log *slog.Logger
	h2  *h2Server // serves the HTTP/2 connections; nil without cfg.H2
	h2c bool      // plaintext connections may open with the preface

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*Conn]struct{}
	shut    atomic.Bool
	changed chan struct{} // a connection ended (Shutdown waits on it)
	slow    atomic.Int64  // connections slow now (slowclient.go)

	watchHook func(string) // tests: told "watching" and "pending" by watch
}

// ServerConfig is a Server's limits, timeouts and hooks. Zero values mean
// no limit, except where noted.
type ServerConfig struct {
	// ReadHeaderTimeout bounds the wait for a request's head once its
	// first byte has come (blank lines before it included), on every
	// request of a connection, and the TLS handshake.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a request body, from the end of its head;
	// without a ReadHeaderTimeout it bounds the head and the TLS handshake
	// too.
	ReadTimeout time.Duration
	// BodyReadTimeout bounds each wait for request body bytes: the time
	// between two successive reads of the body, as nginx's
	// client_body_timeout. A body that stalls longer fails the read with
	// ErrBodyTimeout, and the connection ends after the answer.
	BodyReadTimeout time.Duration
	// WriteTimeout bounds writing each answer, from the end of its
	// request's head.
	WriteTimeout time.Duration
	// SendTimeout bounds each wait to write to the client: the time between
	// two successive writes that make progress, as nginx's send_timeout. A
	// client that reads nothing for longer has its writes fail with
	// ErrSendTimeout and its connection closed.
	SendTimeout time.Duration
	// MaxSlowConns bounds how many connections may be slow at once: waiting
	// for head or body bytes, or to write to a client that does not read,
	// for longer than a second (half the timeout of the wait when that is
	// shorter). A connection that turns slow beyond it is cut, its wait
	// failing with ErrSlowConnection.
	MaxSlowConns int
	// Rejected, when set, is told every time the server cuts a client for
	// slowness, with the reason (RejectHeaderTimeout and the others). It is
	// called from the connection's goroutines.
	Rejected func(reason string)
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and fields (431 beyond) and a
	// chunked body's trailer section; 0 means 64 KiB.
	MaxHeaderBytes int

	// H2, when not nil, turns HTTP/2 on for the connections that chose h2
	// by ALPN; it is their requests' http.ServerContextKey, and never
	// served itself. HTTP/2 connections take their limits and timeouts
	// from this ServerConfig (IdleTimeout, MaxHeaderBytes as
	// SETTINGS_MAX_HEADER_LIST_SIZE, SendTimeout, BodyReadTimeout,
	// ReadTimeout and WriteTimeout per stream), and Shutdown ends them
	// gracefully (GOAWAY, then their streams finish).
	H2 *http.Server
	// H2C hands H2 the plaintext connections that open with the HTTP/2
	// preface too (prior knowledge, RFC 9113 section 3.4).
	H2C bool

	// Fast, when set, is offered every request head (request line and
	// fields, as read) before the server builds an http.Request, so that a
	// caller can serve a request from the head alone through the Conn's
	// methods. It reports whether it took the request and, if it did,
	// whether the connection can go on; a request it does not take it must
	// leave untouched, and the handler gets it.
	Fast func(c *Conn, head string) (keep, handled bool)
	// FastH2, when set, is offered every HTTP/2 request whose HEADERS end
	// the stream (a request without a body), on the stream's goroutine,
	// before the server builds an http.Request: the header block has been
	// checked as RFC 9113 section 8 asks. It reports whether it took the
	// request, which it then answers through the H2Request's methods; a
	// request it does not take it must leave unanswered, and the handler
	// gets it. It may panic as a handler does (http.ErrAbortHandler resets
	// the stream).
	FastH2 func(r *H2Request) bool
	// UniqueFields names answer fields (lower case) whose values differ
	// on every answer, a request id: HTTP/2 sends them as literals
	// without indexing (RFC 7541 section 6.2.2). Indexed, each would
	// enter the HPACK dynamic table only to push out the fields that do
	// repeat, costing an insertion and an eviction per answer on both
	// sides and the repeating fields' compression.
	UniqueFields []string

	// Log takes panics, accept failures and failed handshakes; nil
	// discards them.
	Log *slog.Logger
}

const (
	// clientGoneCheckAfter is how long a request runs before the server
	// starts watching its connection for the client going away.
	clientGoneCheckAfter = 10 * time.Millisecond
	// heldBodyBytes is how much of a response of unknown length is held so
	// that a short one can still go out with a Content-Length.
	heldBodyBytes = 2048
	// discardBodyBytes is how much of a request body the handler left
	// unread is read and dropped to keep the connection; more closes it.
	discardBodyBytes = 256 << 10
	// idleDeadlineSlack is how stale the idle read deadline may get before
	// it is moved: the idle timeout is honoured to within this.
	idleDeadlineSlack = time.Second
	// defaultMaxHeaderBytes is what a zero ServerConfig.MaxHeaderBytes
	// means, and the bound on a chunked answer's trailer section.
	defaultMaxHeaderBytes = 64 << 10
)

// NewServer returns a server that serves h with cfg.
func NewServer(h http.Handler, cfg ServerConfig) *Server {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{h: h, cfg: cfg, log: log, h2c: cfg.H2C && cfg.H2 != nil, conns: map[*Conn]struct{}{}, changed: make(chan struct{}, 1)}
	if cfg.H2 != nil {
		s.h2 = newH2Server(cfg)
	}
	return s
}

// Serve accepts connections on ln until Shutdown. It returns
// http.ErrServerClosed after Shutdown, like http.Server.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shut.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shut.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off and go on,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "error", err, "after", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := s.track(nc)
		if c == nil {
			nc.Close()
			return http.ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) track(nc net.Conn) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut.Load() {
		return nil
	}
	c := s.newConn(nc)
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Shutdown stops accepting, closes idle connections, lets each busy one
// finish the request it is serving and then closes it, and returns when
// none is left or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut.Store(true)
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.shutdownH2()
	for {
		s.mu.Lock()
		for c := range s.conns {
			c.closeIfIdle()
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

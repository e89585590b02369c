//lint:file-ignore SA1019 http2.Server.ServeConn is deprecated for net/http's HTTP/2, which cannot be handed a connection its own server did not accept; this server's are.

package h1

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"golang.org/x/net/http2"
)

// h2Server serves the HTTP/2 connections a Server hands over, with
// golang.org/x/net/http2's server.
type h2Server struct {
	srv  *http2.Server
	opts *http2.ServeConnOpts
}

// newH2Server returns the HTTP/2 server with base's timeouts and error log
// and h as its handler. ConfigureServer makes base's Shutdown end its
// connections gracefully (GOAWAY, then their streams finish); its one
// error, a cipher suite list without HTTP/2's, is for a server that serves
// TLS itself, which base never does.
func newH2Server(base *http.Server, h http.Handler) *h2Server {
	srv := &http2.Server{MaxReadFrameSize: h2MaxFrame}
	_ = http2.ConfigureServer(base, srv)
	return &h2Server{srv: srv, opts: &http2.ServeConnOpts{BaseConfig: base, Handler: h}}
}

// serveH2 serves an HTTP/2 connection (nc, over tc when it is TLS) behind
// an h2Guard until it ends.
func (s *Server) serveH2(nc net.Conn, tc *tls.Conn) {
	if s.shut.Load() {
		return // Shutdown's GOAWAY to every connection may have gone
	}
	g := guardH2(nc, tc)
	opts := *s.h2.opts
	opts.Context = context.WithValue(context.Background(), guardKey{}, guardOf(g))
	s.h2.srv.ServeConn(g, &opts)
}

// guardOf is the h2Guard guardH2 returned.
func guardOf(c net.Conn) *h2Guard {
	if t, ok := c.(tlsH2Guard); ok {
		return t.h2Guard
	}
	return c.(*h2Guard)
}

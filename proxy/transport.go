package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// dialError marks a failure to establish an upstream connection, so that
// the try is classified as a connect failure (retry_on connect-failure) and
// not as a reset.
type dialError struct {
	err      error
	overflow bool // refused locally by the max_connections threshold
}

func (e *dialError) Error() string { return "upstream connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// newTransport builds a cluster's connection pool: an http.Transport tuned
// for a proxy (many idle connections per endpoint, no transparent
// decompression, no environment proxy) whose dialer enforces the connect
// timeout and Envoy's max_connections threshold through admission.
//
// Plain-text HTTP/1.1 clusters send their requests through h1Client, which
// falls back to the Transport for what it does not take; both dial through
// the same admission.
func newTransport(cfg ClusterConfig, adm *breaker.Admission, tlsCfg *tls.Config) upstreamClient {
	cc := cfg.Connection
	d := &net.Dialer{Timeout: cc.ConnectTimeout.D(), KeepAlive: cc.KeepAlive.D()}
	var freed func() // wakes requests waiting for a connection (h1Client)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !adm.Acquire(breaker.Connections) {
			return nil, &dialError{err: errOverflow, overflow: true}
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			adm.Release(breaker.Connections)
			return nil, &dialError{err: err}
		}
		return &countedConn{Conn: conn, adm: adm, freed: freed}, nil
	}
	t := &http.Transport{
		DialContext:           dial,
		MaxIdleConns:          cc.MaxIdleConns,
		MaxIdleConnsPerHost:   cc.MaxIdleConnsPerHost,
		MaxConnsPerHost:       cc.MaxConnsPerHost,
		IdleConnTimeout:       cc.IdleConnTimeout.D(),
		TLSHandshakeTimeout:   cc.ConnectTimeout.D(),
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		TLSClientConfig:       tlsCfg,
	}
	var protos http.Protocols
	switch cfg.Protocol {
	case ProtocolH2C:
		protos.SetUnencryptedHTTP2(true)
	case ProtocolHTTPS:
		protos.SetHTTP1(true)
		protos.SetHTTP2(true)
	default:
		protos.SetHTTP1(true)
	}
	t.Protocols = &protos
	if cfg.Protocol == ProtocolHTTP1 && cc.MaxConnsPerHost == 0 {
		c := newH1Client(t, dial, cc, adm)
		freed = c.freedOne
		return c
	}
	return t
}

// Cluster protocols.
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2C   = "h2c"
	ProtocolHTTPS = "https"
)

// countedConn gives its max_connections unit back when closed.
type countedConn struct {
	net.Conn
	adm    *breaker.Admission
	freed  func() // nil, or told when the unit is back
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.adm.Release(breaker.Connections)
		if c.freed != nil {
			c.freed()
		}
	}
	return err
}

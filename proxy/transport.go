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
func newTransport(cfg ClusterConfig, adm *breaker.Admission, tlsCfg *tls.Config) *http.Transport {
	cc := cfg.Connection
	d := &net.Dialer{Timeout: cc.ConnectTimeout.D(), KeepAlive: cc.KeepAlive.D()}
	t := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !adm.Acquire(breaker.Connections) {
				return nil, &dialError{err: errOverflow, overflow: true}
			}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				adm.Release(breaker.Connections)
				return nil, &dialError{err: err}
			}
			return &countedConn{Conn: conn, adm: adm}, nil
		},
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
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.adm.Release(breaker.Connections)
	}
	return c.Conn.Close()
}

package h1

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// Dialer opens a cluster's upstream connections within its max_connections
// threshold, as Envoy's circuit breaking counts them: each open connection
// holds a breaker.Connections unit of the admission, taken before dialling
// and given back when the connection is closed, and a dial at the threshold
// fails at once with an overflow DialError. The Client and the net/http
// Transport it falls back to dial through the same Dialer, so that the
// threshold counts both.
type Dialer struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	adm   *breaker.Admission
	freed func() // wakes the Client's pending requests; set by NewClient
}

// NewDialer returns a dialer that opens connections with dial (a
// net.Dialer's DialContext, with its connect timeout) within adm's
// max_connections.
func NewDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), adm *breaker.Admission) *Dialer {
	return &Dialer{dial: dial, adm: adm}
}

// DialContext opens a connection to addr, or fails with a DialError.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if !d.adm.Acquire(breaker.Connections) {
		return nil, &DialError{Err: errOverflow, Overflow: true}
	}
	conn, err := d.dial(ctx, network, addr)
	if err != nil {
		d.adm.Release(breaker.Connections)
		return nil, &DialError{Err: err}
	}
	return &countedConn{Conn: conn, adm: d.adm, freed: d.freed}, nil
}

var errOverflow = errors.New("cluster connection threshold reached")

// DialError is a failure to open an upstream connection, so that the try
// is classified as a connect failure (Envoy's retry_on connect-failure)
// and not as a reset.
type DialError struct {
	Err      error
	Overflow bool // refused locally by the max_connections threshold
}

// Error says that the connection could not be opened, and why.
func (e *DialError) Error() string { return "upstream connect: " + e.Err.Error() }

// Unwrap returns the dial's own error.
func (e *DialError) Unwrap() error { return e.Err }

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

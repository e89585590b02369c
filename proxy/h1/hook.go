package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http"
)

// The methods below are what a ServerConfig.Fast hook serves a request
// with, from its head: the bytes that came with it, the answer's writer
// (or the server's own http.ResponseWriter), and a watch on the client
// while the hook waits on an upstream connection. They are for the
// connection's own goroutine, during the hook's call.

// Context is the connection's context, which every request on it shares:
// it is cancelled when the client goes away or the connection ends.
func (c *Conn) Context() context.Context { return c.ctx }

// RemoteAddr is the client's address, as net.Conn.RemoteAddr gives it.
func (c *Conn) RemoteAddr() string { return c.remote }

// TLS is the connection's TLS state; nil on a plaintext connection.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// Buffered returns what has been read past the current request head: its
// body, when it came with the head, and any pipelined requests. It is
// valid until the connection is read again.
func (c *Conn) Buffered() []byte {
	b, _ := c.br.Peek(c.br.Buffered())
	return b
}

// Discard drops the first n buffered bytes: the body of a request served
// from the buffer.
func (c *Conn) Discard(n int) { _, _ = c.br.Discard(n) }

// Writer is where the answer to the current request is written, under the
// server's write and send timeouts; what is buffered goes out with Flush.
func (c *Conn) Writer() *bufio.Writer { return c.bw }

// ShuttingDown reports whether the server is shutting down, when an answer
// should close its connection.
func (c *Conn) ShuttingDown() bool { return c.s.shut.Load() }

// ResponseWriter answers the current request through the server's own
// http.ResponseWriter instead of Writer, for a request the caller built
// itself: the writer reads its Method, ProtoMinor and Close. Its header
// starts empty. FinishResponse completes the answer.
func (c *Conn) ResponseWriter(r *http.Request) http.ResponseWriter {
	return c.newResponse(r)
}

// FinishResponse completes an answer begun with ResponseWriter, as the
// server does when a handler returns, and reports whether the connection
// can take another request: not after a request that asked to close it
// (its Close), whose answer said so.
func (c *Conn) FinishResponse() bool {
	c.held = c.resp.held[:0]
	return c.resp.finish() && !c.resp.closeAfter && !c.resp.req.Close
}

// Watch starts watching for the client going away while the caller waits
// on up, the upstream connection: if it goes, Context is cancelled and
// up's pending reads and writes fail at once. Unwatch ends it.
func (c *Conn) Watch(up *UpstreamConn) {
	c.up.Store(up)
	c.armWatch()
}

// Unwatch stops the watch Watch started, waiting for a read it has begun,
// so that the connection is the server's alone again; it returns the
// upstream connection that was watched, if any.
func (c *Conn) Unwatch() *UpstreamConn {
	up := c.up.Swap(nil)
	c.disarmWatch()
	return up
}

// ClientGone reports whether the watch saw the client go away. It is
// meaningful after Unwatch.
func (c *Conn) ClientGone() bool { return c.gone != nil }

package h1

import (
	"errors"
	"net"
	"time"
)

// Defences against slow clients (slowloris, slow bodies, clients that do
// not read), as nginx's client_header_timeout, client_body_timeout and
// send_timeout and Envoy's overload manager: every wait on a client is
// bounded, and a connection that keeps one of its waits long counts as slow,
// with a bound on how many may be slow at once.

// Reasons the server cuts a client, told to ServerConfig.Rejected.
const (
	// RejectHeaderTimeout: a request head (or the blank lines before it)
	// did not come within the header timeout.
	RejectHeaderTimeout = "header_timeout"
	// RejectBodyTimeout: the client sent no body bytes for the body timeout
	// (or the read timeout passed).
	RejectBodyTimeout = "body_timeout"
	// RejectSendTimeout: the client read nothing of its answer for the
	// send timeout.
	RejectSendTimeout = "send_timeout"
	// RejectSlowConnections: the connection turned slow when
	// MaxSlowConns were already.
	RejectSlowConnections = "slow_connections"
)

// slowAfter is how long one wait on a client (for head or body bytes, or
// to write) lasts before its connection counts as slow: a healthy client on
// a slow network is seldom quiet that long mid-request. A shorter timeout
// halves it, so that a wait is counted before it is cut.
const slowAfter = time.Second

// drainLinger bounds the wait for the rest of a request body once its
// answer is complete (as nginx's lingering_timeout): a client that sends
// nothing for this long loses the connection instead of keeping it.
const drainLinger = 5 * time.Second

// clientTimeout is a wait on the client that passed its bound: a net.Error
// whose Timeout is true, as a deadline's is.
type clientTimeout struct{ msg string }

func (e *clientTimeout) Error() string   { return e.msg }
func (e *clientTimeout) Timeout() bool   { return true }
func (e *clientTimeout) Temporary() bool { return true }

var (
	// ErrBodyTimeout is what a request body's Read returns when the client
	// sent nothing for ServerConfig.BodyReadTimeout (or the ReadTimeout
	// passed): the request cannot be completed, and a handler that has not
	// answered should answer 408, as nginx does.
	ErrBodyTimeout error = &clientTimeout{"client body timeout: no request body bytes in time"}
	// ErrSlowConnection is what a read or write on a client returns when
	// its connection turned slow with ServerConfig.MaxSlowConns slow
	// connections already.
	ErrSlowConnection error = &clientTimeout{"too many slow client connections"}
	// ErrSendTimeout is what a write to a client returns when it read
	// nothing for ServerConfig.SendTimeout.
	ErrSendTimeout error = &clientTimeout{"send timeout: the client does not read its answer"}

	// errBodyCut is a request body whose read the server broke off when
	// the handler returned: the rest of it will not be read.
	errBodyCut = errors.New("request body cut off when its answer ended")
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rejected tells the server's Rejected hook that it cut a client for
// reason.
func (c *Conn) rejected(reason string) {
	if f := c.s.cfg.Rejected; f != nil {
		f(reason)
	}
}

// slowCheck returns when a wait bounded by hard (zero: none), starting at
// now, counts its connection as slow, or zero when there is no limit on
// slow connections to count for.
func (s *Server) slowCheck(now, hard time.Time) time.Time {
	if s.cfg.MaxSlowConns <= 0 {
		return time.Time{}
	}
	after := slowAfter
	if !hard.IsZero() {
		if !hard.After(now) {
			return time.Time{}
		}
		after = min(after, hard.Sub(now)/2)
	}
	return now.Add(after)
}

// readWithin bounds the connection's next reads by hard (zero: none).
// When slow connections are limited and the connection is not slow yet, the
// deadline set is the earlier slow check, at which connReader counts the
// connection as slow and goes on waiting until hard.
func (c *Conn) readWithin(hard time.Time) error {
	dl := hard
	c.rdlHard, c.rdlSoft = hard, false
	if !c.readSlow {
		if soft := c.s.slowCheck(time.Now(), hard); !soft.IsZero() {
			dl, c.rdlSoft = soft, true
		}
	}
	if dl == c.rdl {
		return nil
	}
	c.rdl = dl
	return c.nc.SetReadDeadline(dl)
}

// readSlowly is connReader's read once a wait passed the slow check: the
// connection counts as slow (unless too many are) and the read waits on
// until the hard deadline.
func (c *Conn) readSlowly(p []byte) (int, error) {
	c.rdlSoft = false
	if !c.enterSlow() {
		return 0, ErrSlowConnection
	}
	c.readSlow = true
	c.cutMu.Lock()
	if c.readCut {
		// closeForServer cut the read off: its deadline stays.
		c.cutMu.Unlock()
		return 0, errBodyCut
	}
	c.rdl = c.rdlHard
	err := c.nc.SetReadDeadline(c.rdlHard)
	c.cutMu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.nc.Read(p)
}

// endReadWait ends the slow read the connection was in, if any: its head
// or body has come.
func (c *Conn) endReadWait() {
	if c.readSlow {
		c.readSlow = false
		c.leaveSlow()
	}
}

// enterSlow counts one more slow wait of the connection and reports
// whether it may go on: a connection that was not slow is refused when
// MaxSlowConns are.
func (c *Conn) enterSlow() bool {
	if c.slowWaits.Add(1) > 1 {
		return true
	}
	if n := c.s.slow.Add(1); n > int64(c.s.cfg.MaxSlowConns) {
		c.s.slow.Add(-1)
		c.slowWaits.Add(-1)
		c.rejected(RejectSlowConnections)
		return false
	}
	return true
}

func (c *Conn) leaveSlow() {
	if c.slowWaits.Add(-1) == 0 {
		c.s.slow.Add(-1)
	}
}

// sendWriter is what the connection's bufio.Writer writes to: the
// connection, with every write bounded by the send timeout from its last
// progress and by the answer's write timeout, and counted as slow while
// the client reads nothing for slowAfter. A TLS connection cannot go on
// after a write timed out (crypto/tls makes the error permanent), so there
// each write (at most a buffer or a copied chunk) gets the send timeout
// whole, and is not counted as slow.
type sendWriter struct{ c *Conn }

// waitDeadlineKept reports whether a write whose deadline bounds this
// wait alone (the slow check or the send timeout, both counted from now)
// can keep the deadline an earlier write set (old) instead of moving it to
// dl: old is still ahead and at most a 64th of the wait (and a second)
// earlier. Moving a deadline is a timer update, which both moved on every
// write, once per answer; the slow check and the send timeout are
// honoured to within that slack, as the idle timeout is to within
// idleDeadlineSlack.
func waitDeadlineKept(now, old, dl time.Time) bool {
	return old.After(now) && !old.After(dl) && dl.Sub(old) <= min(dl.Sub(now)/64, time.Second)
}

func (w sendWriter) Write(p []byte) (int, error) {
	c := w.c
	cfg := &c.s.cfg
	if cfg.SendTimeout <= 0 && cfg.MaxSlowConns <= 0 {
		if c.wdl != c.wend {
			c.wdl = c.wend
			if err := c.nc.SetWriteDeadline(c.wend); err != nil {
				return 0, err
			}
		}
		return c.nc.Write(p)
	}
	written := 0
	slow := false
	defer func() {
		if slow {
			c.leaveSlow()
		}
	}()
	for {
		now := time.Now()
		hard, bySend := c.wend, false
		if d := cfg.SendTimeout; d > 0 {
			if s := now.Add(d); hard.IsZero() || s.Before(hard) {
				hard, bySend = s, true
			}
		}
		dl, soft := hard, false
		if !slow && !c.isTLS {
			if s := c.s.slowCheck(now, hard); !s.IsZero() {
				dl, soft = s, true
			}
		}
		if dl != c.wdl && !((soft || bySend) && waitDeadlineKept(now, c.wdl, dl)) {
			c.wdl = dl
			if err := c.nc.SetWriteDeadline(dl); err != nil {
				return written, err
			}
		}
		n, err := c.nc.Write(p[written:])
		written += n
		switch {
		case err == nil:
			return written, nil
		case !isTimeout(err):
			return written, err
		case n > 0 && !c.isTLS && (c.wend.IsZero() || time.Now().Before(c.wend)):
			// The client read some: a new wait begins.
			continue
		case soft:
			if !c.enterSlow() {
				return written, ErrSlowConnection
			}
			slow = true
			continue
		case bySend:
			c.rejected(RejectSendTimeout)
			return written, ErrSendTimeout
		}
		return written, err
	}
}

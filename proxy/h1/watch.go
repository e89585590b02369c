package h1

import (
	"errors"
	"net"
	"time"
)

// armWatch starts, after clientGoneCheckAfter, a one-byte read that
// notices the client closing the connection while its request is served.
// It is armed only once the request body has been read: before that the
// handler's own reads notice.
func (c *Conn) armWatch() {
	if c.watchT == nil {
		c.watchEnd = make(chan struct{}, 1)
		c.watchT = time.AfterFunc(clientGoneCheckAfter, c.watch)
	} else {
		c.watchT.Reset(clientGoneCheckAfter)
	}
	c.watchOn = true
}

func (c *Conn) watch() {
	hook := c.s.watchHook
	if hook != nil {
		hook("watching")
	}
	for {
		n, err := c.nc.Read(c.pend[:])
		if n == 1 {
			// The next request (pipelined) has begun: keep its first byte.
			c.pending = int(c.pend[0])
			if hook != nil {
				hook("pending")
			}
		} else if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A deadline the request's reads left (a body or header
				// timeout) passed: the watch goes on without one, unless
				// disarmWatch is ending it.
				c.watchMu.Lock()
				again := !c.unwatching && c.nc.SetReadDeadline(time.Time{}) == nil
				c.watchMu.Unlock()
				if again {
					continue
				}
			} else {
				c.gone = err
				c.cancel(errClientGone)
				if pc := c.up.Load(); pc != nil {
					_ = pc.nc.SetDeadline(aLongTimeAgo)
				}
			}
		}
		break
	}
	c.watchEnd <- struct{}{}
}

// disarmWatch stops the watch, or ends a read it has started and waits for
// it, so that the connection is the server's alone again.
func (c *Conn) disarmWatch() {
	if !c.watchOn {
		return
	}
	c.watchOn = false
	if c.watchT.Stop() {
		return
	}
	c.watchMu.Lock()
	c.unwatching = true
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
	c.watchMu.Unlock()
	<-c.watchEnd
	c.unwatching = false
	_ = c.nc.SetReadDeadline(time.Time{})
	c.rdl, c.rdlSoft = time.Time{}, false
}

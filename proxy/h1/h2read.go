package h1

import (
	"errors"
	"math"

	"golang.org/x/net/http2"
)

// The reader's side of an HTTP/2 connection: every frame the client sends
// is handled here, on the connection's goroutine, which never waits on a
// handler. Errors are RFC 9113's: a connection error ends the connection
// with GOAWAY (section 5.4.1), a stream error resets the stream (5.4.2).

var (
	errH2ConnClosed   = errors.New("http2: connection closed")
	errH2StreamReset  = errors.New("http2: stream reset by the client")
	errH2StreamClosed = errors.New("http2: stream closed")
)

func connErr(code http2.ErrCode, why string) error { return h2ConnError{code, why} }

// frame handles one frame read from the client.
func (c *h2Conn) frame(f http2.Frame) error {
	if !c.sawFirst {
		// The preface's SETTINGS frame comes first (section 3.4).
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			return connErr(http2.ErrCodeProtocol, "first frame is not SETTINGS")
		}
		c.sawFirst = true
	}
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.headers(f)
	case *http2.DataFrame:
		return c.data(f)
	case *http2.SettingsFrame:
		return c.settings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		if f.StreamID != 0 {
			return connErr(http2.ErrCodeProtocol, "PING on a stream")
		}
		return c.write(false, func() error { return c.fr.WritePing(true, f.Data) })
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.rstStream(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.resetStream(f.StreamID, http2.ErrCodeProtocol)
			if !c.countReset() {
				return connErr(http2.ErrCodeEnhanceYourCalm, "too many resets")
			}
		}
		return nil
	case *http2.GoAwayFrame:
		// The client goes away: no new streams, and the connection ends
		// with its last.
		c.drain()
		return nil
	case *http2.PushPromiseFrame:
		return connErr(http2.ErrCodeProtocol, "PUSH_PROMISE from a client")
	case *http2.ContinuationFrame:
		// The framer assembles header blocks: a CONTINUATION of its own
		// is out of order.
		return connErr(http2.ErrCodeProtocol, "CONTINUATION out of a header block")
	}
	return nil // unknown frame types are ignored (section 5.5)
}

// settings applies the client's settings in order (section 6.5.3) and
// acknowledges them.
func (c *h2Conn) settings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	// Under the write lock, so that the ACK goes out before any frame
	// the new settings let a handler send: the client sees its settings
	// acknowledged first.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var err error
	_ = f.ForeachSetting(func(s http2.Setting) error {
		if err = s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		case http2.SettingInitialWindowSize:
			err = c.setInitialWindow(int64(s.Val))
		case http2.SettingMaxFrameSize:
			c.peerFrame = int(s.Val)
		}
		return err
	})
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			return connErr(http2.ErrCode(ce), err.Error())
		}
		return err
	}
	if c.werr != nil {
		return c.werr
	}
	if err := c.fr.WriteSettingsAck(); err != nil {
		c.writeFailed(err)
		return err
	}
	c.ctlDirty = true
	return nil
}

// setInitialWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every
// open stream's send window (section 6.9.2).
func (c *h2Conn) setInitialWindow(v int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delta := v - c.initWin
	c.initWin = v
	for _, st := range c.streams {
		st.sendWin += delta
		if st.sendWin > math.MaxInt32 {
			return connErr(http2.ErrCodeFlowControl, "window overflow")
		}
	}
	c.flow.Broadcast()
	return nil
}

// windowUpdate grows a send window (section 6.9.1).
func (c *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	c.mu.Lock()
	if f.StreamID == 0 {
		c.sendWin += inc
		over := c.sendWin > math.MaxInt32
		c.flow.Broadcast()
		c.mu.Unlock()
		if over {
			return connErr(http2.ErrCodeFlowControl, "connection window overflow")
		}
		return nil
	}
	if f.StreamID > c.maxID {
		c.mu.Unlock()
		return connErr(http2.ErrCodeProtocol, "WINDOW_UPDATE on an idle stream")
	}
	st := c.streams[f.StreamID]
	if st == nil {
		c.mu.Unlock()
		return nil // a closed stream's: ignored
	}
	st.sendWin += inc
	over := st.sendWin > math.MaxInt32
	c.flow.Broadcast()
	c.mu.Unlock()
	if over {
		c.resetStream(f.StreamID, http2.ErrCodeFlowControl)
	}
	return nil
}

// rstStream ends a stream the client reset: its handler's context is
// canceled and its writes fail.
func (c *h2Conn) rstStream(f *http2.RSTStreamFrame) error {
	if f.StreamID > c.maxID {
		return connErr(http2.ErrCodeProtocol, "RST_STREAM on an idle stream")
	}
	// The write lock first: once the stream is closed, its handler
	// must find it done for writing too.
	c.wmu.Lock()
	c.mu.Lock()
	st := c.streams[f.StreamID]
	if st == nil {
		c.mu.Unlock()
		c.wmu.Unlock()
		return nil
	}
	st.wdone = true // nothing more is sent on it
	c.closeStream(st, errH2StreamReset)
	answered := st.answered
	c.mu.Unlock()
	c.wmu.Unlock()
	if !answered && !c.countReset() {
		return connErr(http2.ErrCodeEnhanceYourCalm, "too many resets")
	}
	return nil
}

// resetStream resets stream id with code: a stream error.
func (c *h2Conn) resetStream(id uint32, code http2.ErrCode) {
	// The write lock first (locks are taken in the order wmu, mu): the
	// handler, woken by the stream's end, must not get an answer out
	// before the RST_STREAM.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		st.wdone = true
		c.closeStream(st, errH2StreamClosed)
	}
	c.mu.Unlock()
	if c.werr == nil {
		if err := c.fr.WriteRSTStream(id, code); err != nil {
			c.writeFailed(err)
		}
		c.ctlDirty = true
	}
}

// closeStream takes st out of the connection's streams, with why for its
// handler's body reads and writes, and gives its unread body back to the
// connection's window; with mu held.
func (c *h2Conn) closeStream(st *h2Stream, why error) {
	if c.streams[st.id] == st {
		delete(c.streams, st.id)
		if len(c.streams) == 0 {
			c.idleSince = timeNow()
		}
	}
	st.gone(why)
	c.flow.Broadcast()
}

// giveBack counts n body bytes the connection may receive again and
// returns the WINDOW_UPDATE increment due, if any; with mu held.
func (c *h2Conn) giveBack(n int64) uint32 {
	c.unacked += n
	if c.unacked < h2ConnWindow/8 {
		return 0
	}
	inc := c.unacked
	c.unacked = 0
	c.recvWin += inc
	return uint32(inc)
}

// data takes a DATA frame into its stream's body (section 6.1), counting
// all of it, padding included, against the flow-control windows.
func (c *h2Conn) data(f *http2.DataFrame) error {
	id := f.StreamID
	size := int64(f.Length)
	c.mu.Lock()
	if size > c.recvWin {
		c.mu.Unlock()
		return connErr(http2.ErrCodeFlowControl, "connection window exceeded")
	}
	c.recvWin -= size
	st := c.streams[id]
	if st == nil || st.remoteDone || st.bodyClosed || size > st.recvWin {
		// Not taken: the connection's window gets it back at once.
		inc := c.giveBack(size)
		c.mu.Unlock()
		c.connCredit(inc)
		switch {
		case st == nil && id > c.maxID:
			return connErr(http2.ErrCodeProtocol, "DATA on an idle stream")
		case st == nil || st.remoteDone:
			c.resetStream(id, http2.ErrCodeStreamClosed)
			return nil
		case size > st.recvWin:
			c.resetStream(id, http2.ErrCodeFlowControl)
			return nil
		}
		// A body the handler closed: dropped, but its length still
		// counts.
		return c.bodyEnd(st, f, int64(len(f.Data())))
	}
	st.recvWin -= size
	p := f.Data()
	if pad := size - int64(len(p)); pad > 0 {
		st.unackedPad += pad
	}
	st.body = append(st.body, p...)
	st.bodyCond.Broadcast()
	c.mu.Unlock()
	return c.bodyEnd(st, f, int64(len(p)))
}

// bodyEnd counts n body bytes of st against its content-length and ends
// its body when f ends the stream (section 8.1.1).
func (c *h2Conn) bodyEnd(st *h2Stream, f *http2.DataFrame, n int64) error {
	st.gotLen += n
	end := f.StreamEnded()
	if st.declLen >= 0 && (st.gotLen > st.declLen || end && st.gotLen != st.declLen) {
		c.resetStream(st.id, http2.ErrCodeProtocol)
		if !c.countReset() {
			return connErr(http2.ErrCodeEnhanceYourCalm, "too many resets")
		}
		return nil
	}
	if end {
		c.endRemote(st)
	}
	return nil
}

// endRemote notes the client's END_STREAM on st: its body is complete.
func (c *h2Conn) endRemote(st *h2Stream) {
	c.mu.Lock()
	st.remoteDone = true
	if st.bodyErr == nil {
		st.bodyErr = errBodyEOF
	}
	st.bodyCond.Broadcast()
	done := st.answered
	if done {
		c.closeStream(st, errH2StreamClosed)
	}
	c.mu.Unlock()
}

// connCredit sends the connection's WINDOW_UPDATE for inc, if any.
func (c *h2Conn) connCredit(inc uint32) {
	if inc == 0 {
		return
	}
	_ = c.write(false, func() error { return c.fr.WriteWindowUpdate(0, inc) })
}

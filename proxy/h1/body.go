package h1

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// requestBody is a request body: Content-Length bytes or a chunked stream. It
// is safe to read from another goroutine than the handler's (a transport
// may still be sending it upstream when the handler returns); once the
// handler has returned, reads fail, and a read still waiting on the client
// is cut off. Each read waits for the client at most the body timeout (as
// nginx's client_body_timeout), and all of them end by the read timeout.
type requestBody struct {
	c       *Conn
	req     *http.Request
	mu      sync.Mutex
	remain  int64     // Content-Length bytes left; -1 when chunked
	chunked io.Reader // the chunked decoder, or nil
	expect  bool      // a 100 Continue is owed before the first read
	unsent  bool      // the answer began before the 100 Continue: the body stays unread
	err     error     // sticky: io.EOF once the body is done
	closed  bool      // the handler has returned
	end     time.Time // the read timeout's deadline (zero: none)
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *requestBody) readLocked(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.expect {
		b.expect = false
		if !b.c.resp.sendContinue() {
			// The answer has begun without reading the body: it will not
			// be read, and the connection will not be reused (drain), or
			// what the client sends of it anyway would be read as its
			// next request.
			b.err, b.unsent = io.EOF, true
			return 0, b.err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	c := b.c
	if b.chunked != nil || b.remain > 0 && c.br.Buffered() == 0 {
		// This read may wait on the client (a fixed-length body's bytes
		// already buffered are read without waiting).
		hard := b.end
		if d := c.s.cfg.BodyReadTimeout; d > 0 {
			if dl := time.Now().Add(d); hard.IsZero() || dl.Before(hard) {
				hard = dl
			}
		}
		_ = c.readWithin(hard)
	}
	c.cutMu.Lock()
	cut := c.readCut
	c.inRead = !cut
	c.cutMu.Unlock()
	if cut {
		n, err = 0, errBodyCut
	} else {
		if b.chunked != nil {
			n, err = b.chunked.Read(p)
			if err == io.EOF {
				err = readTrailer(c.br, c.s.cfg.MaxHeaderBytes, &b.req.Trailer)
			}
		} else {
			n, err = readFixed(c.br, p, &b.remain)
		}
		c.cutMu.Lock()
		c.inRead, cut = false, c.readCut
		c.cutMu.Unlock()
	}
	switch {
	case err == nil || err == io.EOF || errors.Is(err, ErrSlowConnection):
	case cut:
		err = errBodyCut
	case isTimeout(err):
		err = ErrBodyTimeout
		c.rejected(RejectBodyTimeout)
	}
	if err != nil {
		b.err = err
		if err == io.EOF && !b.closed {
			b.c.armWatch()
		}
	}
	return n, err
}

func (b *requestBody) Close() error { return nil }

// closeForServer ends the handler's use of the body, cutting off a read
// still waiting on the client (a transport sending the body upstream on a
// goroutine of its own): the answer is done, and a client that does not
// send the rest must not hold the connection.
func (b *requestBody) closeForServer() {
	c := b.c
	c.cutMu.Lock()
	c.readCut = true
	interrupted := c.inRead
	if interrupted {
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.cutMu.Unlock()
	b.mu.Lock()
	b.closed = true
	if interrupted {
		// Even a read that got its bytes just then left this deadline.
		c.rdl, c.rdlSoft = aLongTimeAgo, false
	}
	b.mu.Unlock()
	c.cutMu.Lock()
	c.readCut = false
	c.cutMu.Unlock()
}

// drain reads what the handler left of the body, up to discardBodyBytes,
// and reports whether the connection can go on.
func (b *requestBody) drain() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == io.EOF {
		return !b.unsent
	}
	if b.err != nil || b.expect {
		// A client waiting for 100 Continue has not sent the body.
		return false
	}
	// The client has its answer: the rest of the body must come soon.
	linger := drainLinger
	if d := b.c.s.cfg.BodyReadTimeout; d > 0 {
		linger = min(linger, d)
	}
	if end := time.Now().Add(linger); b.end.IsZero() || end.Before(b.end) {
		b.end = end
	}
	var buf [4096]byte
	for left := discardBodyBytes; left > 0; {
		n, err := b.readLocked(buf[:min(len(buf), left)])
		left -= n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

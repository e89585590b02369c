package h1

import (
	"io"
	"net/http"
	"sync"
)

// requestBody is a request body: Content-Length bytes or a chunked stream. It
// is safe to read from another goroutine than the handler's (a transport
// may still be sending it upstream when the handler returns); once the
// handler has returned, reads fail.
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
	if b.chunked != nil {
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			err = readTrailer(b.c.br, b.c.s.cfg.MaxHeaderBytes, &b.req.Trailer)
		}
	} else {
		n, err = readFixed(b.c.br, p, &b.remain)
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

// closeForServer ends the handler's use of the body.
func (b *requestBody) closeForServer() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
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

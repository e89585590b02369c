package proxybench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
)

// upstreamResponse is the upstream's only answer: small, with a length, so
// that every proxy keeps the connection alive and forwards it as is.
var upstreamResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")

// Upstream is a minimal HTTP/1.1 server for benchmarks: it answers every
// request with the same 200 as cheaply as possible (no routing, no
// allocation per request, pipelining and keep-alive honoured), so that the
// load side of a bench spends its core on the load, not on the upstream.
// It reads request bodies by Content-Length; a chunked request or a
// "Connection: close" ends the connection after the answer.
type Upstream struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// StartUpstream listens on addr (e.g. "127.0.0.1:0") and serves.
func StartUpstream(addr string) (*Upstream, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	u := &Upstream{ln: ln, conns: map[net.Conn]struct{}{}}
	u.wg.Add(1)
	go u.accept()
	return u, nil
}

// Addr is the listening address.
func (u *Upstream) Addr() string { return u.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (u *Upstream) Close() error {
	err := u.ln.Close()
	u.mu.Lock()
	u.done = true
	for c := range u.conns {
		c.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
	return err
}

func (u *Upstream) accept() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		if u.done {
			u.mu.Unlock()
			c.Close()
			return
		}
		u.conns[c] = struct{}{}
		u.wg.Add(1)
		u.mu.Unlock()
		go u.serve(c)
	}
}

func (u *Upstream) serve(c net.Conn) {
	defer u.wg.Done()
	defer func() {
		u.mu.Lock()
		delete(u.conns, c)
		u.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriterSize(c, 4096)
	for {
		keep, err := readRequest(r)
		if err != nil {
			return
		}
		if _, err := w.Write(upstreamResponse); err != nil {
			return
		}
		// Answer pipelined requests in one write.
		if r.Buffered() == 0 || !keep {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

var (
	hdrContentLength    = []byte("content-length:")
	hdrConnection       = []byte("connection:")
	hdrTransferEncoding = []byte("transfer-encoding:")
	tokenClose          = []byte("close")
)

// readRequest reads one request head and its body, and says whether the
// connection may serve another request.
func readRequest(r *bufio.Reader) (keepAlive bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), []byte("HTTP/1.0")) {
		keepAlive = false
	} else {
		keepAlive = true
	}
	var length int64
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		if len(line) <= 2 { // the empty line ending the head
			break
		}
		switch {
		case hasPrefixFold(line, hdrContentLength):
			n, perr := strconv.ParseInt(string(bytes.TrimSpace(line[len(hdrContentLength):])), 10, 64)
			if perr != nil || n < 0 {
				return false, errors.New("bad content-length")
			}
			length = n
		case hasPrefixFold(line, hdrConnection):
			if bytes.Contains(bytes.ToLower(line), tokenClose) {
				keepAlive = false
			}
		case hasPrefixFold(line, hdrTransferEncoding):
			keepAlive = false // not supported: answer, then close
		}
	}
	if length > 0 {
		if _, err := r.Discard(int(length)); err != nil {
			return false, err
		}
	}
	return keepAlive, nil
}

// hasPrefixFold reports whether line starts with the lower-case prefix,
// ignoring ASCII case.
func hasPrefixFold(line, prefix []byte) bool {
	if len(line) < len(prefix) {
		return false
	}
	for i, c := range prefix {
		b := line[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != c {
			return false
		}
	}
	return true
}

var _ io.Closer = (*Upstream)(nil)

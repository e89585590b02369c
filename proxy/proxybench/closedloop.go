package proxybench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// closedLoop keeps conns connections to addr busy for d, each sending its
// next GET of path, with the extra header lines hdrs (each ending in
// "\r\n"), as soon as the previous answer has been read (a closed loop, as
// wrk and h2load do), and returns what it measured. It speaks just enough
// HTTP/1.1 to do so cheaply: the load side shares one core with the
// upstream, so a heavier client would cap every target sooner.
func closedLoop(ctx context.Context, addr, path, hdrs string, conns int, d time.Duration) Phase {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: meshbench-bench\r\nAccept: */*\r\n" + hdrs + "\r\n")
	type worker struct {
		hist     *hdrhistogram.Histogram
		n, fails int64
		err      error
	}
	ws := make([]worker, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.hist = newHist()
		wg.Go(func() {
			var c *loopConn
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for ctx.Err() == nil {
				if c == nil {
					var err error
					if c, err = dialLoop(ctx, addr); err != nil {
						if ctx.Err() == nil {
							w.fails++
							w.err = err
						}
						return
					}
				}
				t0 := time.Now()
				ok, keep, err := c.roundTrip(req)
				if err != nil {
					if ctx.Err() == nil {
						w.fails++
						w.err = err
					}
					c.Close()
					c = nil
					continue
				}
				_ = w.hist.RecordValue(time.Since(t0).Microseconds())
				w.n++
				if !ok {
					w.fails++
				}
				if !keep {
					c.Close()
					c = nil
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	p := Phase{Tool: ToolOwn, Seconds: el.Seconds()}
	h := newHist()
	for _, w := range ws {
		h.Merge(w.hist)
		p.Requests += w.n
		p.Errors += w.fails
		if w.err != nil && p.firstError == "" {
			p.firstError = w.err.Error()
		}
	}
	p.latencies(h)
	p.Throughput = float64(p.Requests-p.Errors) / el.Seconds()
	return p
}

// loopConn is one closed-loop connection.
type loopConn struct {
	net.Conn
	r    *bufio.Reader
	stop func() bool
}

func (c *loopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

func dialLoop(ctx context.Context, addr string) (*loopConn, error) {
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The deadline unblocks a read in progress when the phase ends.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	return &loopConn{Conn: c, r: bufio.NewReaderSize(c, 8192), stop: stop}, nil
}

var errMalformed = errors.New("malformed response")

// roundTrip writes req and reads one response, reporting a 2xx status and
// whether the connection may be reused.
func (c *loopConn) roundTrip(req []byte) (ok, keep bool, err error) {
	if _, err = c.Write(req); err != nil {
		return false, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return false, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return false, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	ok = line[9] == '2'
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return false, false, err
		}
		if len(line) <= 2 {
			break
		}
		switch {
		case hasPrefixFold(line, hdrContentLength):
			if length, err = strconv.ParseInt(string(bytes.TrimSpace(line[len(hdrContentLength):])), 10, 64); err != nil {
				return false, false, fmt.Errorf("%w: %q", errMalformed, line)
			}
		case hasPrefixFold(line, hdrTransferEncoding):
			chunked = bytes.Contains(bytes.ToLower(line), []byte("chunked"))
		case hasPrefixFold(line, hdrConnection):
			if bytes.Contains(bytes.ToLower(line), tokenClose) {
				keep = false
			}
		}
	}
	switch {
	case chunked:
		err = discardChunked(c.r)
	case length >= 0:
		_, err = c.r.Discard(int(length))
	default: // body to the end of the connection
		_, err = io.Copy(io.Discard, c.r)
		keep = false
	}
	return ok, keep, err
}

// discardChunked reads a chunked body (RFC 9112 §7.1) and its trailers.
func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz := bytes.TrimSpace(line)
		if i := bytes.IndexByte(sz, ';'); i >= 0 {
			sz = sz[:i]
		}
		n, err := strconv.ParseInt(string(sz), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// newHist records latencies in microseconds, from 1 µs to 60 s.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

package h1

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// Write coalescing for HTTP/2 answers. golang.org/x/net/http2's server
// writes an answer's HEADERS frame and its first DATA frame as two flushes
// of its buffer, so two write system calls per answer where one would do:
// a handler's buffered body only goes out at the handler's end, as HEADERS
// then DATA, each written and flushed on its own. The handler knows better:
// when it has written a whole answer of known length, it calls CorkH2, and
// the guard holds the connection's next write if it ends with a HEADERS
// frame that does not end its stream, sending it with the write that
// follows (the DATA frame). A timer bounds the hold (h2CorkHold), so that
// a HEADERS frame whose DATA never comes (the stream reset meanwhile, or a
// flow-control window at zero) still goes out, only later: the hold is a
// hint, never a condition for progress.

// h2CorkHold is the longest a held HEADERS write waits for the write that
// follows it.
const h2CorkHold = 5 * time.Millisecond

// guardKey is the context key under which the HTTP/2 server's requests
// find their connection's guard.
type guardKey struct{}

// CorkH2 tells the HTTP/2 connection serving the request of ctx that the
// answer's HEADERS frame, when next written, is followed at once by DATA:
// the two may go out as one write. It does nothing for other requests.
func CorkH2(ctx context.Context) {
	if g, _ := ctx.Value(guardKey{}).(*h2Guard); g != nil {
		g.w.cork.Store(true)
	}
}

// h2Writer is the guard's write side. The server writes one frame batch
// at a time; mu orders its writes with the timer's.
type h2Writer struct {
	cork  atomic.Bool // CorkH2 was called: the next lone HEADERS write may wait
	mu    sync.Mutex
	held  []byte // a write held for the next one
	timer *time.Timer
}

func (g *h2Guard) Write(p []byte) (int, error) {
	w := &g.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.held) == 0 && w.cork.Load() && endsWithOpenHeaders(p) {
		w.cork.Store(false)
		w.held = append(w.held, p...)
		if w.timer == nil {
			w.timer = time.AfterFunc(h2CorkHold, g.flushHeld)
		} else {
			w.timer.Reset(h2CorkHold)
		}
		return len(p), nil
	}
	if len(w.held) == 0 {
		return g.Conn.Write(p)
	}
	w.timer.Stop()
	prev := len(w.held)
	w.held = append(w.held, p...)
	n, err := g.Conn.Write(w.held)
	switch {
	case err == nil:
		w.held = w.held[:0]
		return len(p), nil
	case n < prev:
		// What is left of the held write stays held: the server tries p
		// again, or gives up on the connection.
		w.held = w.held[:copy(w.held, w.held[n:prev])]
		return 0, err
	default:
		w.held = w.held[:0]
		return n - prev, err
	}
}

// Close closes the connection, which also ends a write blocked on it, and
// drops a held write.
func (g *h2Guard) Close() error {
	err := g.Conn.Close()
	w := &g.w
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.held = w.held[:0]
	w.mu.Unlock()
	return err
}

// flushHeld sends a held write whose follower did not come in time.
func (g *h2Guard) flushHeld() {
	w := &g.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.held) > 0 {
		// What a failed write leaves stays held for the next write, which
		// fails the same way unless the failure was a passing timeout.
		n, _ := g.Conn.Write(w.held)
		w.held = w.held[:copy(w.held, w.held[n:])]
	}
}

// endsWithOpenHeaders reports whether p is whole frames, the last a
// complete HEADERS frame (END_HEADERS) that does not end its stream.
func endsWithOpenHeaders(p []byte) bool {
	last := -1
	for i := 0; i < len(p); {
		if len(p)-i < 9 {
			return false
		}
		n := int(p[i])<<16 | int(p[i+1])<<8 | int(p[i+2])
		if len(p)-i-9 < n {
			return false
		}
		last = i
		i += 9 + n
	}
	if last < 0 {
		return false
	}
	f := p[last:]
	return f[3] == frameHeaders && f[4]&flagEndHeaders != 0 && f[4]&flagEndStream == 0 &&
		binary.BigEndian.Uint32(f[5:9])&(1<<31-1) != 0
}

package proxy

import (
	"errors"
	"io"
	"sync"
)

// replayBody is the body of a streamed request (a gRPC client or
// bidirectional stream) on a route that retries or hedges. It is read from
// the client only as fast as the foremost try sends it on — a
// bidirectional stream's client may wait for an answer before it sends
// more, so nothing may wait for the body's end — and the bytes read are
// kept, up to limit, so that a retry or a hedge can send the stream again
// from its first byte while it is still whole.
//
// A try that needs a byte past the limit reads on from the client alone:
// it owns the rest of the body, the kept prefix no longer is the whole
// body, and the request is committed to that try (reported once on
// claims; the lifecycle then neither retries nor hedges, see
// lifecycle.Request.Committed). Envoy's router does the same with its
// per-request buffer limit. Forwarding an answer commits the body to its
// try too (commitTo). The memory held is at most limit bytes and one read.
//
// Each try reads through a replayReader of its own, on the transport's
// goroutine. The client's body is read by a goroutine of the replayBody's
// own (pump), on demand: a try's reader waits on a condition variable,
// never in a read of the client's body, so that closing it (the transport
// does when the try ends, and waits for the read to return) is immediate
// although the client sends nothing. The lock guards everything.
type replayBody struct {
	mu      sync.Mutex
	cond    sync.Cond
	src     io.Reader
	buf     []byte // the body's prefix read so far: at most limit bytes
	limit   int
	want    bool   // a reader waits for more of the body
	asker   int    // the first try that wanted a byte past the full buffer; 0: none
	owner   int    // the try that owns the body past buf; 0: none yet, -1: none will
	pending []byte // bytes past buf read for the owner and not yet taken
	stage   []byte // where the pump reads bytes past buf
	started bool   // the pump runs
	eof     bool   // src is at its end
	err     error  // src failed (not EOF): the client's body broke
	done    bool   // the exchange is over
	claims  chan int
}

var (
	// errReplayOverflow ends a try that needs more of the body than was
	// kept while another try owns the rest.
	errReplayOverflow = errors.New("request body past the replay buffer belongs to another try")
	errReplayClosed   = errors.New("request body closed")
)

// replayChunk is the most the pump reads at once.
const replayChunk = 32 << 10

func newReplayBody(src io.Reader, limit int64) *replayBody {
	b := &replayBody{src: src, limit: int(min(limit, int64(maxInt))), claims: make(chan int, 1)}
	b.cond.L = &b.mu
	return b
}

const maxInt = int(^uint(0) >> 1)

// reader returns the body as try sends it, from its first byte.
func (b *replayBody) reader(try int) *replayReader { return &replayReader{b: b, try: try} }

// commitTo gives the rest of the body to try, whose answer is forwarded,
// unless a try owns it already: nothing more is kept.
func (b *replayBody) commitTo(try int) {
	b.mu.Lock()
	if b.owner == 0 {
		b.owner = try
		b.cond.Broadcast()
	}
	b.mu.Unlock()
}

// failure returns why reading the client's body failed; nil-safe.
func (b *replayBody) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// close ends every read still waiting, and the pump once its read
// returns (the server closes the client's body when the handler returns):
// the exchange is over.
func (b *replayBody) close() {
	b.mu.Lock()
	b.done = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// whole reports whether the kept prefix is still the whole body read so
// far: no try owns bytes past it.
func (b *replayBody) whole() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.owner == 0 && b.err == nil && !b.done
}

// claim is the try that took the body past the buffer, once it did.
func (b *replayBody) claim() (int, bool) {
	select {
	case id := <-b.claims:
		return id, true
	default:
		return 0, false
	}
}

// pump reads the client's body whenever a reader wants more: into buf
// while it has room and nobody owns the rest, else into stage for the
// owner (the first asker, when nobody owned it yet).
func (b *replayBody) pump() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for !b.want && !b.done {
			b.cond.Wait()
		}
		if b.done {
			return
		}
		var dst []byte
		keep := b.owner == 0 && len(b.buf) < b.limit
		if keep {
			if len(b.buf) == cap(b.buf) {
				// Grow by doubling up to the limit, from a size that holds
				// a unary call's message: most bodies are small, and the
				// room left is what the next read may fill.
				grown := make([]byte, len(b.buf), min(b.limit, max(2*cap(b.buf), 512)))
				copy(grown, b.buf)
				b.buf = grown
			}
			dst = b.buf[len(b.buf):min(cap(b.buf), len(b.buf)+replayChunk)]
		} else {
			if b.stage == nil {
				b.stage = make([]byte, replayChunk)
			}
			dst = b.stage
		}
		b.mu.Unlock()
		n, err := b.src.Read(dst)
		b.mu.Lock()
		if b.done {
			return
		}
		b.want = false
		switch {
		case err == io.EOF:
			b.eof = true
		case err != nil:
			b.err = err
		}
		switch {
		case n == 0:
		case keep:
			b.buf = b.buf[:len(b.buf)+n]
		default:
			if b.owner == 0 {
				b.owner = b.asker
				if b.owner == 0 {
					// Nobody asked (it cannot happen: only an asker's want
					// reads past a full buffer); the bytes are nobody's
					// and the body is no longer whole, so it is committed
					// to no try.
					b.owner = -1
				}
				b.claims <- b.owner // once: owner is set once
			}
			b.pending = b.stage[:n]
		}
		b.cond.Broadcast()
		if b.eof || b.err != nil {
			return
		}
	}
}

// replayReader is one try's view of a replayBody.
type replayReader struct {
	b      *replayBody
	try    int
	off    int // the next byte of buf this try reads
	closed bool
}

func (r *replayReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		switch {
		case r.closed || b.done:
			return 0, errReplayClosed
		case r.off < len(b.buf):
			n := copy(p, b.buf[r.off:])
			r.off += n
			return n, nil
		case b.owner == r.try && len(b.pending) > 0:
			n := copy(p, b.pending)
			b.pending = b.pending[n:]
			if len(b.pending) == 0 {
				b.cond.Broadcast() // the pump may read on
			}
			return n, nil
		case b.owner != 0 && b.owner != r.try:
			// Before the end: this try has a prefix only, which must not
			// reach its upstream as the whole body.
			return 0, errReplayOverflow
		case b.err != nil:
			return 0, b.err
		case b.eof:
			return 0, io.EOF
		}
		if b.owner == 0 && len(b.buf) >= b.limit && b.asker == 0 {
			b.asker = r.try
		}
		if !b.started {
			b.started = true
			go b.pump()
		}
		b.want = true
		b.cond.Broadcast()
		b.cond.Wait()
	}
}

// Close is the transport's: the try is over (answered, reset, cancelled);
// the client's body stays open for the other tries.
func (r *replayReader) Close() error {
	b := r.b
	b.mu.Lock()
	r.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	return nil
}

package ratelimit

import (
	"fmt"
	"math/bits"
	"sync"
	"time"
)

// SlidingWindow admits at most limit events per rolling window, using the
// sliding-window-counter approximation that Cloudflare describes for its
// edge rate limiting: time is cut into fixed windows of the configured
// length, each with a counter, and the number of events in the window
// ending now is estimated as
//
//	previous · (window − elapsed) / window + current
//
// where elapsed is how far now is into the current fixed window. An event is
// admitted when it keeps that estimate at or below the limit. Two counters
// replace a log of timestamps, and the estimate is exact when events are
// spread evenly over the previous window.
//
// Fixed windows are aligned to the first call's time. The comparison is done
// in exact 128-bit integer arithmetic, so decisions at boundaries do not
// depend on float rounding.
type SlidingWindow struct {
	mu      sync.Mutex
	origin  time.Time // first call; the counter works in offsets from it
	started bool
	c       windowCounter
}

// NewSlidingWindow admits limit events per window. It panics if limit is
// negative or window is not positive: those are programmer errors (New
// validates configuration).
func NewSlidingWindow(limit int, window time.Duration) *SlidingWindow {
	return &SlidingWindow{c: newWindowCounter(limit, window)}
}

// Allow counts one event at now if the estimate allows it. It is
// AllowN(now, 1).
func (s *SlidingWindow) Allow(now time.Time) Decision {
	return s.AllowN(now, 1)
}

// AllowN counts n events at now if the estimate plus n stays within the
// limit. When it would not, nothing is counted and RetryAfter is the wait
// until it would (InfDuration when n exceeds the limit). n <= 0 is allowed
// and counts nothing.
func (s *SlidingWindow) AllowN(now time.Time, n int) Decision {
	s.mu.Lock()
	if !s.started {
		s.origin, s.started = now, true
	}
	d := s.c.allow(now.Sub(s.origin), int64(n))
	s.mu.Unlock()
	return d
}

// Limit is the number of events admitted per window.
func (s *SlidingWindow) Limit() int { return int(s.c.limit) }

// Window is the window length.
func (s *SlidingWindow) Window() time.Duration { return s.c.window }

// windowCounter is SlidingWindow without the lock, for callers that already
// serialise access (Keyed). Times are offsets from an origin the caller
// keeps, which spares a time.Time subtraction per call.
type windowCounter struct {
	limit   int64
	window  time.Duration
	start   time.Duration // start of the current fixed window
	started bool
	prev    int64 // events counted in the previous fixed window
	cur     int64 // events counted in the current fixed window
}

func newWindowCounter(limit int, window time.Duration) windowCounter {
	if limit < 0 || window <= 0 {
		panic(fmt.Sprintf("ratelimit: NewSlidingWindow(%d, %v): limit must be >= 0 and window > 0", limit, window))
	}
	return windowCounter{limit: int64(limit), window: window}
}

func (c *windowCounter) allow(now time.Duration, n int64) Decision {
	if n <= 0 {
		return Decision{Allowed: true}
	}
	e := c.roll(now)
	// A now before the current window's start (a clock that stepped back,
	// or callers racing) is judged as at the start.
	behind := max(-e, 0)
	e += behind
	if c.fits(e, n) {
		c.cur += n
		return Decision{Allowed: true}
	}
	ra := c.retryAfter(e, n)
	if ra != InfDuration {
		ra += behind
	}
	return Decision{RetryAfter: ra}
}

// roll moves the fixed windows forward to the one holding now and returns
// how far now is into it, negative when now is before the current window.
func (c *windowCounter) roll(now time.Duration) time.Duration {
	if !c.started {
		c.start, c.started = now, true
		return 0
	}
	e := now - c.start
	if e < c.window {
		return e
	}
	k := e / c.window
	if k == 1 {
		c.prev = c.cur
	} else {
		c.prev = 0
	}
	c.cur = 0
	c.start += k * c.window
	return e - k*c.window
}

// fits reports whether n more events at offset e keep
// prev·(W−e)/W + cur + n ≤ limit, evaluated as prev·(W−e) ≤ (limit−cur−n)·W.
func (c *windowCounter) fits(e time.Duration, n int64) bool {
	room := c.limit - c.cur - n
	if room < 0 {
		return false
	}
	if c.prev == 0 {
		return true
	}
	return !less128(mul128(room, int64(c.window)), mul128(c.prev, int64(c.window-e)))
}

// retryAfter is the shortest wait from offset e after which n events fit,
// with no admissions in between. Called only when they do not fit at e.
func (c *windowCounter) retryAfter(e time.Duration, n int64) time.Duration {
	if n > c.limit {
		return InfDuration
	}
	w := int64(c.window)
	// Later in this window, as the previous window's weight decays: the
	// first offset x with prev·(W−x) ≤ room·W is W − ⌊room·W/prev⌋.
	// Here room < prev, because prev·W ≥ prev·(W−e) > room·W.
	if room := c.limit - c.cur - n; room >= 0 {
		if x := w - div128(mul128(room, w), c.prev); x < w {
			return time.Duration(x) - e
		}
	}
	// In the next window, where the current count becomes the previous one.
	toNext := c.window - e
	room := c.limit - n
	if c.cur <= room {
		return toNext
	}
	if x := w - div128(mul128(room, w), c.cur); x < w {
		return toNext + time.Duration(x)
	}
	// Two windows on, everything counted so far has aged out.
	return toNext + c.window
}

// u128 is an unsigned 128-bit integer, hi·2⁶⁴ + lo.
type u128 struct{ hi, lo uint64 }

// mul128 multiplies two non-negative int64s without overflow.
func mul128(a, b int64) u128 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return u128{hi, lo}
}

func less128(a, b u128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

// div128 is ⌊x/y⌋ for a quotient known to fit in an int64.
func div128(x u128, y int64) int64 {
	q, _ := bits.Div64(x.hi, x.lo, uint64(y))
	return int64(q)
}

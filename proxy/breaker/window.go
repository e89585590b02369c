package breaker

import (
	"math"
	"time"
)

// window counts outcomes in a ring of fixed-width time buckets, as Hystrix's rolling
// statistics do: bucket e holds the outcomes whose time falls in
// [origin+e*width, origin+(e+1)*width), and the window is the newest bucket plus the
// len(slots)-1 before it. Running totals make every operation O(1) amortised.
type window struct {
	origin time.Time // start of bucket 0: the first time the breaker was told
	width  time.Duration
	slots  []slot
	head   int64         // number of the newest bucket
	end    time.Duration // where bucket head ends, as an offset from origin
	cur    int           // slot of bucket head
	total  int
	failed int
}

type slot struct {
	total, failed int
}

func newWindow(span time.Duration, buckets int) window {
	width := span / time.Duration(buckets)
	return window{width: width, end: width, slots: make([]slot, buckets)}
}

// advance makes the bucket that holds now the newest, dropping the buckets that
// fall out of the window. now must not be before origin or earlier calls' times.
func (w *window) advance(now time.Time) {
	off := now.Sub(w.origin)
	if off < w.end {
		return // still in the newest bucket: the common case, without a division
	}
	e := int64(off / w.width)
	if w.end = off - off%w.width + w.width; w.end < off {
		w.end = math.MaxInt64 // 292 years after origin: saturate, as time.Sub does
	}
	n := int64(len(w.slots))
	if e-w.head >= n {
		w.clear()
	} else {
		for i := w.head + 1; i <= e; i++ {
			s := &w.slots[i%n]
			w.total -= s.total
			w.failed -= s.failed
			*s = slot{}
		}
	}
	w.head = e
	w.cur = int(e % n)
}

// add records one outcome at now.
func (w *window) add(now time.Time, success bool) {
	w.advance(now)
	s := &w.slots[w.cur]
	s.total++
	w.total++
	if !success {
		s.failed++
		w.failed++
	}
}

// clear forgets every outcome.
func (w *window) clear() {
	clear(w.slots)
	w.total, w.failed = 0, 0
}

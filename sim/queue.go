package sim

import "math/bits"

// queue is the engine's pending-event set: a radix heap (Ahuja, Mehlhorn,
// Orlin and Tarjan, "Faster algorithms for the shortest path problem", JACM
// 1990), which exploits what a discrete-event simulation guarantees: no
// event is scheduled before the last one fired, so keys only grow.
//
// Entries live in 65 buckets by the highest bit in which their time differs
// from the time last popped. Push is an append; pop takes bucket 0 (entries
// due exactly at the last time) or, when that is empty, empties the lowest
// non-empty bucket into lower ones around its minimum. An entry moves at most
// once per bit of its distance, so both are O(1) amortised for the delays a
// run schedules, with sequential memory access and no data-dependent
// comparisons on the hot path. Measured against a 4-ary heap of the same
// entries (BenchmarkQueue), it is two to three times as fast.
//
// Ties fire in schedule order, and that needs no stored sequence number:
// every bucket is always in schedule order. A push appends the newest entry;
// a redistribution moves a bucket, in order, into buckets that were empty
// (all below the lowest non-empty one), so each receives an ordered
// subsequence. Bucket 0, all of one time, is therefore a FIFO. Entries are
// values; once the buckets have grown to the run's high-water mark nothing
// allocates.
type queue[P any] struct {
	last int64  // time of the last popped entry; every key is >= last
	n    int    // entries pending
	head int    // next entry of bucket 0
	mask uint64 // bit i-1 set when bucket i (1..64) is not empty
	b    [65][]entry[P]
}

// entry is one scheduled event: when it fires and the payload the model
// dispatches on.
type entry[P any] struct {
	at int64 // virtual nanoseconds since the epoch, >= 0
	p  P
}

func (q *queue[P]) len() int { return q.n }

// push adds e; e.at must not be before the last popped time.
func (q *queue[P]) push(e entry[P]) {
	i := bits.Len64(uint64(e.at ^ q.last))
	q.b[i] = append(q.b[i], e)
	if i > 0 {
		q.mask |= 1 << (i - 1)
	}
	q.n++
}

// settle makes bucket 0 non-empty, if anything is pending, by redistributing
// the lowest non-empty bucket around its minimum time.
func (q *queue[P]) settle() {
	if q.head < len(q.b[0]) || q.mask == 0 {
		return
	}
	// Spent entries are not cleared: the payloads' pointers are to pooled
	// objects that live as long as the run anyway.
	q.b[0] = q.b[0][:0]
	q.head = 0
	i := bits.TrailingZeros64(q.mask) + 1
	src := q.b[i]
	m := src[0].at
	for j := 1; j < len(src); j++ {
		m = min(m, src[j].at)
	}
	q.last = m
	for j := range src {
		k := bits.Len64(uint64(src[j].at ^ m)) // always < i
		q.b[k] = append(q.b[k], src[j])
		if k > 0 {
			q.mask |= 1 << (k - 1)
		}
	}
	q.b[i] = src[:0]
	q.mask &^= 1 << (i - 1)
}

// pop removes and returns the earliest entry, the first scheduled among
// equals. The queue must not be empty.
func (q *queue[P]) pop() entry[P] {
	q.settle()
	e := q.b[0][q.head]
	q.head++
	q.n--
	return e
}

// peek returns the earliest entry without removing it. The queue must not
// be empty.
func (q *queue[P]) peek() *entry[P] {
	q.settle()
	return &q.b[0][q.head]
}

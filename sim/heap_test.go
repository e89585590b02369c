package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// heap4 is a 4-ary min-heap of the same entries as queue plus the sequence
// number a heap needs to break ties: the baseline the radix heap was chosen
// against (see BenchmarkQueue). It is kept in the tests only, as the
// reference the benchmark compares with.
type heap4[P any] struct {
	h   []seqEntry[P]
	seq uint64
}

type seqEntry[P any] struct {
	entry[P]
	seq uint64
}

func (e *seqEntry[P]) before(o *seqEntry[P]) bool {
	return e.at < o.at || (e.at == o.at && e.seq < o.seq)
}

func (q *heap4[P]) push(x entry[P]) {
	q.seq++
	e := seqEntry[P]{x, q.seq}
	q.h = append(q.h, e)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) >> 2
		if !e.before(&h[parent]) {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = e
}

func (q *heap4[P]) pop() entry[P] {
	h := q.h
	top := h[0].entry
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	q.h = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < min(c+4, n); j++ {
			if h[j].before(&h[m]) {
				m = j
			}
		}
		if !h[m].before(&last) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = last
	return top
}

type pq interface {
	push(entry[benchEvent])
	pop() entry[benchEvent]
}

// BenchmarkQueue compares the radix heap with a 4-ary heap under the hold
// model at two queue sizes.
func BenchmarkQueue(b *testing.B) {
	for _, impl := range []struct {
		name string
		new  func() pq
	}{
		{"radix", func() pq { return &queue[benchEvent]{} }},
		{"4ary", func() pq { return &heap4[benchEvent]{} }},
	} {
		for _, pending := range []int{1_000, 100_000} {
			b.Run(impl.name+"/pending="+itoa(pending), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				delays := make([]int64, 4096)
				for i := range delays {
					delays[i] = int64(r.ExpFloat64() * float64(time.Millisecond))
				}
				q := impl.new()
				x := 0
				var now int64
				for i := 0; i < pending; i++ {
					q.push(entry[benchEvent]{at: delays[i%len(delays)], p: benchEvent{ptr: &x}})
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					e := q.pop()
					now = e.at
					e.at = now + delays[i&(len(delays)-1)]
					q.push(e)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

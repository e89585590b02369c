package retry

import "math/bits"

// latencyCounts is a log-bucketed latency histogram in the spirit of
// HdrHistogram: values in nanoseconds fall into octaves (powers of two), each
// cut into histSub linear sub-buckets, so a bucket's width is at most 1/16 of
// its lower bound. Recording is O(1) and allocation-free. Per-octave totals
// let a quantile be found by scanning at most histOctaves + histSub counters
// instead of every bucket.
type latencyCounts struct {
	total  uint64
	top    int // highest octave holding a value, so tail quantiles skip empty ones
	octave [histOctaves]uint64
	bucket [histBuckets]uint64
}

const (
	histSubBits = 4
	histSub     = 1 << histSubBits
	// histOctaves: octave 0 holds 0..15 exactly; octave o >= 1 holds
	// [2^(o+3), 2^(o+4)). 37 octaves reach 2^40 ns, about 18 minutes.
	histOctaves = 37
	histBuckets = histOctaves * histSub
	// histMax is the largest value kept apart; larger ones are clamped.
	histMax = 1<<(histOctaves+histSubBits-1) - 1
)

// bucketOf returns the bucket holding v nanoseconds.
func bucketOf(v uint64) int {
	v = min(v, histMax)
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // position of the leading bit, >= histSubBits
	sub := (v >> (e - histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + int(sub)
}

// upperEdge returns the largest value that falls into bucket b, as
// HdrHistogram's highestEquivalentValue: a quantile read from the histogram
// is never below the true one and exceeds it by less than 1/16.
func upperEdge(b int) uint64 {
	o, sub := b/histSub, uint64(b%histSub)
	if o == 0 {
		return sub
	}
	shift := uint(o - 1)
	return (histSub+sub)<<shift + (1 << shift) - 1
}

func (c *latencyCounts) add(b int) {
	o := b / histSub
	c.total++
	c.top = max(c.top, o)
	c.octave[o]++
	c.bucket[b]++
}

// atRank returns the upper edge of the bucket holding the rank-th smallest
// value (1-based); rank must be in [1, total]. Ranks in the upper half are
// found from the top, which is short for the tail percentiles hedging uses.
func (c *latencyCounts) atRank(rank uint64) uint64 {
	if rank > c.total/2 {
		return c.atRankFromTop(c.total - rank)
	}
	var seen uint64
	o := 0
	for ; o < histOctaves-1 && seen+c.octave[o] < rank; o++ {
		seen += c.octave[o]
	}
	b := o * histSub
	for ; b < (o+1)*histSub-1 && seen+c.bucket[b] < rank; b++ {
		seen += c.bucket[b]
	}
	return upperEdge(b)
}

// nearestRank returns the 1-based rank of the p-th percentile (0 < p < 100)
// among n values by the nearest-rank definition, ceil(p/100 × n). The small
// relative tolerance keeps floating-point error in p × n / 100 from rounding
// an exact integer up to the next rank.
func nearestRank(p float64, n uint64) uint64 {
	x := p * float64(n) / 100
	r := uint64(x)
	if x-float64(r) > 1e-9*max(1, x) {
		r++
	}
	return min(max(r, 1), n)
}

// atRankFromTop returns the upper edge of the highest bucket that has more
// than above values at or over it: the bucket of the (total-above)-th
// smallest value.
func (c *latencyCounts) atRankFromTop(above uint64) uint64 {
	var seen uint64
	o := c.top
	for ; o > 0 && seen+c.octave[o] <= above; o-- {
		seen += c.octave[o]
	}
	b := (o+1)*histSub - 1
	for ; b > o*histSub && seen+c.bucket[b] <= above; b-- {
		seen += c.bucket[b]
	}
	return upperEdge(b)
}

package balancer

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// ringHash is "ring_hash": Karger et al.'s consistent hashing as Envoy's ring
// hash balancer. Each available endpoint is hashed onto a 64-bit ring many
// times (virtual nodes "ID_0", "ID_1", …) in proportion to its weight; a key
// goes to the first virtual node at or after its hash, wrapping around.
// Removing an endpoint moves only the keys it owned. The ring size follows
// Envoy: the lightest endpoint gets at least MinRingSize × its normalised
// weight virtual nodes (rounded up), the whole ring at most MaxRingSize.
// Hashes are FNV-1a with a MurmurHash3 finaliser rather than Envoy's xxHash.
//
// A ramping endpoint (slow start) keeps a key only if the key's admission
// number is below its factor; otherwise the key walks on along the ring.
type ringHash struct {
	minSize, maxSize int
}

func newRingHash(cfg Config) algorithm {
	return ringHash{minSize: cfg.MinRingSize, maxSize: cfg.MaxRingSize}
}

// maxRingWalk bounds the walk past ramping endpoints.
const maxRingWalk = 64

func (a ringHash) newPicker(_ int, es []*entry, rp ramp) picker {
	total, minW := 0.0, math.Inf(1)
	for _, e := range es {
		total += e.weight
		minW = min(minW, e.weight)
	}
	minNorm := minW / total
	scale := min(math.Ceil(minNorm*float64(a.minSize))/minNorm, float64(a.maxSize))

	type vnode struct {
		hash  uint64
		owner int32
	}
	ring := make([]vnode, 0, int(scale)+len(es))
	target, count := 0.0, 0.0
	for i, e := range es {
		target += scale * e.weight / total
		for k := 0; count < target; k++ {
			ring = append(ring, vnode{hashVnode(e.ep.ID, k), int32(i)})
			count++
		}
	}
	slices.SortFunc(ring, func(x, y vnode) int {
		switch {
		case x.hash < y.hash:
			return -1
		case x.hash > y.hash:
			return 1
		}
		return int(x.owner - y.owner)
	})
	p := &ringPicker{es: es, ramp: rp, hashes: make([]uint64, len(ring)), owners: make([]int32, len(ring))}
	for i, v := range ring {
		p.hashes[i], p.owners[i] = v.hash, v.owner
	}
	return p
}

type ringPicker struct {
	es     []*entry
	ramp   ramp
	hashes []uint64 // sorted
	owners []int32  // owners[i] is the index in es of hashes[i]
}

// at returns the ring position for h: the first hash >= h, wrapping to 0.
func (p *ringPicker) at(h uint64) int {
	lo, hi := 0, len(p.hashes)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.hashes[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(p.hashes) {
		return 0
	}
	return lo
}

func (p *ringPicker) pick(now time.Time, key uint64, _ *rand.Rand) (*entry, *state) {
	i := p.at(mix64(key))
	e := p.es[p.owners[i]]
	if !p.ramp.active(now) {
		return e, nil
	}
	for step := 0; step < maxRingWalk; step++ {
		c := p.es[p.owners[(i+step)%len(p.owners)]]
		if admitKey(key, p.ramp.factor(now, c)) {
			return c, nil
		}
	}
	return e, nil
}

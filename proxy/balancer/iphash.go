package balancer

import (
	"math/rand/v2"
	"time"
)

// ipHash is "ip_hash", nginx's ip_hash: the key (the hashed client address,
// see HashKey.SourceIP) modulo the total weight selects an endpoint, heavier
// endpoints owning proportionally more residues. Unlike the other balancers
// its table keeps unavailable endpoints, as nginx keeps servers marked down:
// a key that lands on one is rehashed (up to 20 times, as nginx) and then
// falls back to the next available endpoint in order, so keys of available
// endpoints never move when another goes down. Adding or removing endpoints
// remaps most keys; that is nginx's behaviour, and what ring_hash and maglev
// improve on. nginx hashes only the first three octets of an IPv4 address;
// here the key is whatever the caller hashed.
type ipHash struct{}

func newIPHash(Config) algorithm { return ipHash{} }

// maxIPRehash is nginx's limit on rehashing past down servers.
const maxIPRehash = 20

func (ipHash) newPicker(_ int, es []*entry, rp ramp) picker {
	p := &ipHashPicker{es: es, ramp: rp}
	uniform := true
	for _, e := range es {
		uniform = uniform && e.weight == es[0].weight
	}
	if uniform {
		return p
	}
	p.cumulative = make([]uint64, len(es))
	for i, e := range es {
		p.total += uint64(e.ep.weight())
		p.cumulative[i] = p.total
	}
	if p.total <= maxResidueTable {
		p.residues = make([]int32, p.total)
		for i, w := 0, uint64(0); w < p.total; w++ {
			for p.cumulative[i] <= w {
				i++
			}
			p.residues[w] = int32(i)
		}
	}
	return p
}

// maxResidueTable bounds the residue-to-endpoint table that replaces the
// binary search over cumulative weights.
const maxResidueTable = 1 << 16

type ipHashPicker struct {
	es         []*entry // all endpoints of the group, available or not
	ramp       ramp
	cumulative []uint64 // running weight sums; nil when weights are equal
	total      uint64
	residues   []int32 // endpoint index of each residue mod total, if small
}

// index maps a hash to an endpoint index by weight.
func (p *ipHashPicker) index(h uint64) int {
	if p.cumulative == nil {
		return int(h % uint64(len(p.es)))
	}
	w := h % p.total
	if p.residues != nil {
		return int(p.residues[w])
	}
	lo, hi := 0, len(p.cumulative)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.cumulative[mid] <= w {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (p *ipHashPicker) pick(now time.Time, key uint64, _ *rand.Rand) (*entry, *state) {
	ramping := p.ramp.active(now)
	h := mix64(key)
	i := 0
	for try := 0; try < maxIPRehash; try++ {
		i = p.index(h)
		e := p.es[i]
		if e.avail && (!ramping || admitKey(key, p.ramp.factor(now, e))) {
			return e, nil
		}
		h = mix64(h + golden64)
	}
	for j := 1; j <= len(p.es); j++ {
		if e := p.es[(i+j)%len(p.es)]; e.avail {
			return e, nil
		}
	}
	return p.es[i], nil // unreachable: groups have an available endpoint
}

package balancer

import (
	"math/bits"
	"math/rand/v2"
	"time"
)

// maglev is "maglev": the consistent hashing lookup table of Google's Maglev
// (Eisenbud et al., NSDI 2016), weighted as Envoy's maglev balancer. Each
// endpoint derives a permutation of the TableSize slots from two hashes of
// its ID (offset, and skip in [1, M-1], M prime); endpoints take turns
// claiming their next preferred free slot until the table is full, a heavier
// endpoint taking turns proportionally more often. Lookup is one table read,
// every endpoint owns within one slot of its share, and removing one of N
// endpoints moves little more than the 1/N of keys it owned.
//
// A ramping endpoint (slow start) keeps a key only if the key's admission
// number is below its factor; otherwise the key is rehashed into the table.
type maglev struct {
	size int
}

func newMaglev(cfg Config) algorithm { return maglev{size: cfg.TableSize} }

// maxRehash bounds rehashing past ramping endpoints.
const maxRehash = 16

func (a maglev) newPicker(_ int, es []*entry, rp ramp) picker {
	return &maglevPicker{es: es, ramp: rp, table: maglevTable(es, a.size)}
}

// maglevTable fills a table of m slots (m prime) with indices into es.
func maglevTable(es []*entry, m int) []int32 {
	n := len(es)
	next := make([]uint64, n) // next preferred slot of each endpoint
	skip := make([]uint64, n)
	credit := make([]float64, n)
	maxW := 0.0
	for i, e := range es {
		h := hashString(e.ep.ID)
		next[i] = h % uint64(m)
		skip[i] = mix64(h^saltSkip)%uint64(m-1) + 1
		maxW = max(maxW, e.weight)
	}
	table := make([]int32, m)
	for i := range table {
		table[i] = -1
	}
	for filled := 0; filled < m; {
		for i, e := range es {
			credit[i] += e.weight / maxW
			if credit[i] < 1 {
				continue
			}
			credit[i]--
			for {
				c := next[i]
				next[i] += skip[i]
				if next[i] >= uint64(m) {
					next[i] -= uint64(m)
				}
				if table[c] < 0 {
					table[c] = int32(i)
					filled++
					break
				}
			}
			if filled == m {
				break
			}
		}
	}
	return table
}

type maglevPicker struct {
	es    []*entry
	ramp  ramp
	table []int32
}

// slot maps a mixed key onto the table with a multiply-shift, not a modulo.
func (p *maglevPicker) slot(h uint64) *entry {
	i, _ := bits.Mul64(h, uint64(len(p.table)))
	return p.es[p.table[i]]
}

func (p *maglevPicker) pick(now time.Time, key uint64, _ *rand.Rand) (*entry, *state) {
	h := mix64(key)
	e := p.slot(h)
	if !p.ramp.active(now) {
		return e, nil
	}
	for try := 0; try < maxRehash; try++ {
		c := p.slot(h)
		if admitKey(key, p.ramp.factor(now, c)) {
			return c, nil
		}
		h = mix64(h + golden64)
	}
	return e, nil
}

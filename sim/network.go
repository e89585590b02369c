package sim

import (
	"math/rand/v2"
	"time"
)

// hopStatus is what became of a message on one hop.
type hopStatus uint8

const (
	hopOK          hopStatus = iota
	hopLost                  // dropped at random (loss)
	hopPartitioned           // no route between the two nodes
)

// network is the latency and loss of every hop between two nodes (replicas,
// and the gateway as the last node), by the zones they are in: the
// scenario's per-zone overrides for hops inside a zone, crossZone between
// zones, the network default otherwise. Active partitions cut node sets off
// from each other.
type network struct {
	zones  []string
	zoneOf []int32 // by node
	links  []link  // [src zone * len(zones) + dst zone]
	client link    // client ↔ gateway
	parts  []*partition
}

// link is one zone pair's hop model.
type link struct {
	latency distribution // nil: zero
	fixed   time.Duration
	isFixed bool
	loss    float64
}

// partition cuts every node in a from every node in b (both ways).
type partition struct {
	a, b []bool
}

func newLink(d distribution, loss float64) link {
	l := link{latency: d, loss: loss}
	switch c := d.(type) {
	case nil:
		l.isFixed = true
	case interface{ Quantile(float64) time.Duration }:
		// A distribution whose whole range is one value is a constant
		// (scenarios' constant type is not exported).
		if lo := c.Quantile(0); lo == c.Quantile(1) {
			l.fixed, l.isFixed = lo, true
		}
	}
	return l
}

func (l *link) sample(r *rand.Rand) int64 {
	if l.isFixed {
		return int64(l.fixed)
	}
	d := l.latency.Sample(r)
	if d < 0 {
		return 0
	}
	return int64(d)
}

// hop draws the delay of one message from node src to node dst and whether
// it arrives.
func (n *network) hop(src, dst int32, r *rand.Rand) (int64, hopStatus) {
	if len(n.parts) > 0 && n.cut(src, dst) {
		return 0, hopPartitioned
	}
	l := &n.links[int(n.zoneOf[src])*len(n.zones)+int(n.zoneOf[dst])]
	if l.loss > 0 && r.Float64() < l.loss {
		return 0, hopLost
	}
	return l.sample(r), hopOK
}

// clientHop draws the delay between a client and the gateway. Clients are
// outside the mesh: their hop never loses a request.
func (n *network) clientHop(r *rand.Rand) int64 { return n.client.sample(r) }

func (n *network) cut(src, dst int32) bool {
	for _, p := range n.parts {
		if (p.a[src] && p.b[dst]) || (p.a[dst] && p.b[src]) {
			return true
		}
	}
	return false
}

func (n *network) addPartition(p *partition) { n.parts = append(n.parts, p) }

func (n *network) removePartition(p *partition) {
	for i, q := range n.parts {
		if q == p {
			n.parts = append(n.parts[:i], n.parts[i+1:]...)
			return
		}
	}
}

// zoneIndex returns the index of zone z, adding it if new.
func (n *network) zoneIndex(z string) int32 {
	for i, name := range n.zones {
		if name == z {
			return int32(i)
		}
	}
	n.zones = append(n.zones, z)
	return int32(len(n.zones) - 1)
}

// buildLinks fills the zone-pair table from the network spec once every
// zone is known.
func (n *network) buildLinks(s *networkSpec, gwZone int32) {
	nz := len(n.zones)
	n.links = make([]link, nz*nz)
	for i := 0; i < nz; i++ {
		for j := 0; j < nz; j++ {
			d, loss := s.latency, s.loss
			if i == j {
				if o, ok := s.zones[n.zones[i]]; ok {
					d, loss = o.latency, o.loss
				}
			} else if s.crossZone != nil {
				d, loss = s.crossZone.latency, s.crossZone.loss
			}
			n.links[i*nz+j] = newLink(d, loss)
		}
	}
	n.client = n.links[int(gwZone)*nz+int(gwZone)]
	n.client.loss = 0
}

package balancer

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// algorithm is one balancing policy: it turns a group of endpoints into a
// picker. Algorithms may keep state across snapshots (round robin's cursor);
// slot tells which group (0: local or all, 1: other zones) is being built.
type algorithm interface {
	newPicker(slot int, g []*entry, rp ramp) picker
}

// picker answers picks for one group of one snapshot. It only ever sees
// groups with at least one available endpoint. Pickers of balancers that
// track active requests return the entry's state as well, which they have at
// hand, so that neither Pick nor Done has to load the entry to reach it.
type picker interface {
	pick(now time.Time, key uint64, r *rand.Rand) (*entry, *state)
}

// How a balancer draws the number that decides between the local zone and
// the others when spilling.
const (
	spillRand = iota // r.Float64(): balancers that are random anyway
	spillKey         // derived from the key: hash balancers keep affinity
	spillSeq         // a Weyl sequence: round robin stays deterministic without r
)

// snapshot is the immutable view Pick reads: one picker, or two with the
// probability of the first when the local zone spills.
type snapshot struct {
	first, second picker
	share         float64 // probability of first when spill
	spill         bool
}

// pool is the Balancer behind every policy: it owns the endpoint set, the
// per-endpoint state and the published snapshot, and delegates the choice
// inside a group to its algorithm.
type pool struct {
	cfg      Config
	algo     algorithm
	track    uint8
	spillBy  int
	keepDown bool // groups include unavailable endpoints (ip_hash)

	snap atomic.Pointer[snapshot]
	seq  atomic.Uint64 // spillSeq counter

	mu      sync.Mutex
	set     []Endpoint
	members map[string]*member
	clock   *clock // latency stamps count from the first Update's now
}

func newPool(cfg Config, k kind) *pool {
	return &pool{
		cfg:      cfg,
		algo:     k.build(cfg),
		track:    k.track,
		spillBy:  k.spill,
		keepDown: k.keepDown,
		members:  map[string]*member{},
	}
}

// Update implements Balancer.
func (p *pool) Update(now time.Time, eps []Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clock == nil {
		p.clock = &clock{epoch: now, rate: 1 / float64(p.cfg.DecayTime)}
	}
	fresh := len(p.members) == 0
	next := make(map[string]*member, len(eps))
	set := make([]Endpoint, 0, len(eps))
	for _, ep := range eps {
		if _, dup := next[ep.ID]; dup {
			continue
		}
		m := p.members[ep.ID]
		if m == nil {
			m = &member{st: &state{}, available: true, ramping: !fresh, rampStart: now}
			m.st.latency.init(p.clock, now, p.cfg.DefaultRTT)
		}
		next[ep.ID] = m
		set = append(set, ep)
	}
	p.members, p.set = next, set
	p.rebuild(now)
}

// SetAvailable implements Balancer.
func (p *pool) SetAvailable(now time.Time, id string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[id]
	if m == nil || m.available == ok {
		return
	}
	m.available = ok
	if ok {
		m.ramping, m.rampStart = true, now
	}
	p.rebuild(now)
}

// rebuild publishes a snapshot of the current set. Called with p.mu held.
func (p *pool) rebuild(now time.Time) {
	ss := p.cfg.SlowStart
	slab := make([]entry, len(p.set))
	var all, local, remote []*entry
	for i, ep := range p.set {
		m := p.members[ep.ID]
		e := &slab[i]
		w := float64(ep.weight())
		*e = entry{ep: ep, st: m.st, weight: w, inverse: 1 / w, avail: m.available}
		if m.ramping && ss.Window > 0 {
			end := m.rampStart.Add(ss.Window)
			if now.Before(end) {
				e.ramping, e.rampStart, e.rampEnd = true, m.rampStart, end
			} else {
				m.ramping = false
			}
		}
		switch {
		case !p.cfg.Locality.Enabled:
			all = append(all, e)
		case ep.Zone == p.cfg.Locality.LocalZone:
			local = append(local, e)
		default:
			remote = append(remote, e)
		}
	}
	s := &snapshot{}
	if !p.cfg.Locality.Enabled {
		s.first = p.group(0, all)
	} else {
		la, ra := countAvailable(local), countAvailable(remote)
		share := p.cfg.Locality.LocalShare(la, len(local), ra, len(remote))
		switch {
		case share >= 1:
			s.first = p.group(0, local)
		case share <= 0:
			s.first = p.group(1, remote)
		default:
			s.first, s.second = p.group(0, local), p.group(1, remote)
			s.share, s.spill = share, true
		}
	}
	p.snap.Store(s)
}

// group builds the picker for one group, or nil when nothing in it is
// available.
func (p *pool) group(slot int, es []*entry) picker {
	members := es
	if !p.keepDown {
		members = make([]*entry, 0, len(es))
		for _, e := range es {
			if e.avail {
				members = append(members, e)
			}
		}
	}
	if countAvailable(members) == 0 {
		return nil
	}
	return p.algo.newPicker(slot, members, newRamp(p.cfg.SlowStart, members))
}

func countAvailable(es []*entry) int {
	n := 0
	for _, e := range es {
		if e.avail {
			n++
		}
	}
	return n
}

// Pick implements Balancer.
func (p *pool) Pick(now time.Time, key uint64, r *rand.Rand) (Pick, error) {
	s := p.snap.Load()
	if s == nil || s.first == nil {
		return Pick{}, ErrNoEndpoint
	}
	g := s.first
	if s.spill {
		var u float64
		switch p.spillBy {
		case spillKey:
			u = unit(mix64(key ^ saltZone))
		case spillSeq:
			u = unit(p.seq.Add(1) * golden64)
		default:
			u = r.Float64()
		}
		if u >= s.share {
			g = s.second
		}
	}
	e, st := g.pick(now, key, r)
	if p.track&trackActive != 0 {
		st.active.Add(1)
	}
	return Pick{e: e, st: st, track: p.track}, nil
}

package sim

import (
	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/scenarios"
)

// registry models discovery through a service registry with heartbeats
// (scenarios.Discovery, type registry), as the real backends run
// proxy/discovery's registry: every replica registers when it starts and
// heartbeats every hb; its registration lapses ttl after its last
// heartbeat; the gateway lists the registry every refresh and gives its
// clusters the instances listed. A replica that is killed stops
// heartbeating at that instant, so it stays listed until its last
// heartbeat is ttl old; when it starts again it registers at once and
// joins the gateway's clusters at the next listing.
type registry struct {
	ttl, hb, refresh int64
	regAt            []int64 // by replica index: when it last registered
	downAt           []int64 // by replica index: when it was killed; -1 while it runs
	clusters         []*cluster
	listed           [][]bool // by gateway cluster, then endpoint tag: in its endpoint set
}

// buildRegistry sets the registry up when the policy asks for one.
func (m *model) buildRegistry(s *spec) {
	if !s.policy.Registry() {
		return
	}
	d := s.policy.Discovery
	reg := &registry{ttl: int64(d.TTL), hb: int64(d.Heartbeat), refresh: int64(scenarios.RegistryRefresh)}
	for range m.replicas {
		reg.regAt = append(reg.regAt, 0)
		reg.downAt = append(reg.downAt, -1)
	}
	seen := map[*cluster]bool{}
	for _, r := range m.gw.routes {
		if !seen[r.cl] {
			seen[r.cl] = true
			reg.clusters = append(reg.clusters, r.cl)
			all := make([]bool, len(r.cl.reps))
			for i := range all {
				all[i] = true
			}
			reg.listed = append(reg.listed, all)
		}
	}
	m.reg = reg
}

// startRegistry schedules the gateway's first listing after the start,
// where every replica is registered.
func (m *model) startRegistry() {
	if m.reg != nil {
		m.at(m.reg.refresh, event{kind: evRegList})
	}
}

// registered reports whether replica i is listed at now.
func (g *registry) registered(i int32, now int64) bool {
	down := g.downAt[i]
	if down < 0 {
		return true
	}
	last := g.regAt[i] + (down-g.regAt[i])/g.hb*g.hb
	return now < last+g.ttl
}

// registryDown and registryUp are told of kills and restarts.
func (m *model) registryDown(r *replica) {
	if m.reg != nil && m.reg.downAt[r.idx] < 0 {
		m.reg.downAt[r.idx] = m.t
	}
}

func (m *model) registryUp(r *replica) {
	if m.reg != nil {
		m.reg.downAt[r.idx] = -1
		m.reg.regAt[r.idx] = m.t
	}
}

// registryList is the gateway's listing: each cluster whose listed set
// changed gets the new set.
func (m *model) registryList() {
	g := m.reg
	for ci, c := range g.clusters {
		changed := false
		for tag, r := range c.reps {
			if in := g.registered(r.idx, m.t); in != g.listed[ci][tag] {
				g.listed[ci][tag] = in
				changed = true
			}
		}
		if !changed {
			continue
		}
		var eps []balancer.Endpoint
		for tag, r := range c.reps {
			if g.listed[ci][tag] {
				eps = append(eps, balancer.Endpoint{ID: r.id, Zone: m.net.zones[r.zone], Tag: tag})
			}
		}
		c.lc.SetEndpoints(m.clock(), eps, nil)
	}
	if next := m.t + g.refresh; next < m.end+m.drain {
		m.at(next, event{kind: evRegList})
	}
}

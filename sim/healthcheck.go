package sim

import (
	"github.com/meshbench/meshbench/proxy/health"
)

// healthState runs a cluster's active health checks (the gateway's clusters
// only): one probe per endpoint when the tracker says it is due, answered by
// the replica's host without taking a worker — a liveness endpoint, not a
// request — so it fails when the replica is down, paused past the timeout,
// partitioned from the prober, or the probe is lost.
type healthState struct {
	t       *health.Tracker
	timeout int64
}

func (c *cluster) startHealthChecks() {
	m := c.m
	for tag, id := range c.ids {
		c.hc.t.Add(m.clock(), id, c.rng)
		c.lc.SetHealthy(m.clock(), id, c.hc.t.Healthy(id))
		c.scheduleHealthCheck(tag)
	}
}

func (c *cluster) scheduleHealthCheck(tag int) {
	m := c.m
	next := int64(c.hc.t.Next(c.ids[tag]).Sub(Epoch))
	if next < m.t {
		next = m.t
	}
	if next < m.end+m.drain {
		m.at(next, event{kind: evHealthCheck, idx: c.idx, gen: uint32(tag)})
	}
}

// healthCheck probes endpoint tag and schedules the result.
func (c *cluster) healthCheck(tag int) {
	m := c.m
	r := c.reps[tag]
	fail := m.t + c.hc.timeout
	there, st := m.net.hop(c.src, r.node, c.rng)
	if st != hopOK || r.down {
		m.at(fail, event{kind: evHealthFail, idx: c.idx, gen: uint32(tag)})
		return
	}
	if x := r.extra; x != nil {
		there += int64(x.Sample(c.rng))
	}
	answered := m.t + there
	if r.paused(answered) {
		answered = r.pausedUntil
	}
	back, st := m.net.hop(r.node, c.src, c.rng)
	done := answered + back
	if st != hopOK || done > fail {
		m.at(fail, event{kind: evHealthFail, idx: c.idx, gen: uint32(tag)})
		return
	}
	m.at(done, event{kind: evHealthPass, idx: c.idx, gen: uint32(tag)})
}

func (c *cluster) healthReport(tag int, ok bool) {
	if changed, healthy := c.hc.t.Report(c.m.clock(), c.ids[tag], ok, c.rng); changed {
		c.lc.SetHealthy(c.m.clock(), c.ids[tag], healthy)
	}
	c.scheduleHealthCheck(tag)
}

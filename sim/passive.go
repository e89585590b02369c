package sim

// sweep runs outlier detection's interval on c's lifecycle cluster (which
// applies ejections and returns to the balancer) and schedules the next.
func (c *cluster) runSweep() {
	m := c.m
	if c.sweep <= 0 {
		return
	}
	c.lc.Sweep(m.clock())
	if m.t < m.end+m.drain {
		m.at(m.t+c.sweep, event{kind: evSweep, idx: c.idx})
	}
}

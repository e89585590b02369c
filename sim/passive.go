package sim

import (
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/retry"
)

// outlierState runs a cluster's outlier detector (Envoy's passive health
// checking): every attempt's outcome is recorded, Sweep runs on its interval
// as a scheduled event, and ejections and returns are applied to the
// balancer.
type outlierState struct {
	d        *outlier.Detector
	interval int64
}

// outlierOutcome maps an attempt's outcome to what Envoy's detector sees:
// failures without a response are local-origin; answers go by status.
func outlierOutcome(o outcome) outlier.Outcome {
	if o.err != retry.None {
		return outlier.LocalOriginFailure
	}
	return outlier.FromStatus(int(o.status))
}

func (s *outlierState) record(c *cluster, r *replica, o outcome) {
	if evs := s.d.Record(c.m.now, r.id, outlierOutcome(o)); len(evs) > 0 {
		c.applyEjections(evs)
	}
}

// sweep runs the detector's interval and schedules the next one.
func (c *cluster) sweep() {
	m := c.m
	if c.od == nil {
		return
	}
	if evs := c.od.d.Sweep(m.now); len(evs) > 0 {
		c.applyEjections(evs)
	}
	if m.t < m.end+m.drain {
		m.at(m.t+c.od.interval, event{kind: evSweep, idx: c.idx})
	}
}

func (c *cluster) applyEjections(evs []outlier.Event) {
	for _, e := range evs {
		if tag, ok := c.tags[e.ID]; ok {
			c.ejected[tag] = e.Ejected
			c.refreshAvailable(tag)
		}
	}
}

// refreshAvailable tells the balancer whether endpoint tag may be picked:
// healthy by active checks (when there are any) and not ejected.
func (c *cluster) refreshAvailable(tag int) {
	ok := !c.ejected[tag] && (c.hc == nil || c.hc.healthy[tag])
	if ok != c.avail[tag] {
		c.avail[tag] = ok
		c.bal.SetAvailable(c.m.now, c.ids[tag], ok)
	}
}

package outlier

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Detector is Envoy's outlier detector for one cluster (see the package comment).
// The caller names the cluster's hosts with SetHosts, reports every request's
// outcome with Record, and calls Sweep every Interval; both return the ejections
// and returns to apply. A Detector is safe for concurrent use.
type Detector struct {
	mu    sync.Mutex
	cfg   settings
	rnd   *rand.Rand
	hosts []*host          // in SetHosts order, which is the order events come in
	byID  map[string]*host // the same hosts
	// active counts the ejected hosts among hosts.
	active int
	stats  counters
	cands  []candidate // scratch for Sweep
}

// host is one host's counters and ejection state.
type host struct {
	id string

	consec5xx, consecGateway, consecLocal int

	ext, local         tally // this interval, being written by Record
	lastExt, lastLocal tally // the interval Sweep last closed

	ejected    bool
	reason     Reason
	ejectedAt  time.Time
	until      time.Time
	returnedAt time.Time
	returned   bool // returnedAt is set
	multiplier int
	ejections  int

	successRate float64
}

// tally counts requests and their successes over one interval.
type tally struct {
	success, total uint64
}

type counters struct {
	overflow, returned uint64
	detected, enforced [numReasons]uint64
}

// New returns a Detector for cfg with no hosts, after applying the defaults
// documented on Config.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new outlier detector: %w", err)
	}
	r := cfg.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(0x6f75746c, 0x69657273))
	}
	return &Detector{cfg: cfg.resolve(), rnd: r, byID: map[string]*host{}}, nil
}

// Interval returns the sweep interval the caller should keep.
func (d *Detector) Interval() time.Duration { return d.cfg.interval }

// SetHosts replaces the cluster's host set. Hosts that stay keep their counters and
// ejection state; new hosts start in service with clean counters; removed hosts are
// forgotten, freeing their share of MaxEjectionPercent. Duplicate IDs count once.
// Removing hosts does not return ejected ones, even if the ejected share is then
// above MaxEjectionPercent (Envoy does the same). now is taken for symmetry with
// the other calls; no state depends on it today.
func (d *Detector) SetHosts(now time.Time, ids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hosts := make([]*host, 0, len(ids))
	byID := make(map[string]*host, len(ids))
	for _, id := range ids {
		if _, dup := byID[id]; dup {
			continue
		}
		h := d.byID[id]
		if h == nil {
			h = &host{id: id, successRate: -1}
		}
		hosts = append(hosts, h)
		byID[id] = h
	}
	d.active = 0
	for _, h := range hosts {
		if h.ejected {
			d.active++
		}
	}
	d.hosts, d.byID = hosts, byID
}

// Record reports the outcome of one request to host id at now and returns the
// ejection it caused, if any: consecutive-error ejections happen at once, as in
// Envoy. Outcomes for unknown hosts, and for ejected hosts (requests that were
// already in flight when the host was ejected), are ignored.
func (d *Detector) Record(now time.Time, id string, o Outcome) []Event {
	if o < 0 || o >= numOutcomes {
		panic(fmt.Sprintf("outlier: Record with unknown %v", o))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byID[id]
	if h == nil || h.ejected {
		return nil
	}
	c := &d.cfg
	if c.split {
		if o == LocalOriginFailure {
			h.local.total++
			h.consecLocal++
			if reached(h.consecLocal, c.consecLocal) {
				return d.consecutive(now, h, ReasonConsecutiveLocalOriginFailure)
			}
			return nil
		}
		// The host answered, so the connection itself succeeded.
		h.local.success++
		h.local.total++
		h.consecLocal = 0
	}
	h.ext.total++
	switch o {
	case Success:
		h.ext.success++
		h.consec5xx, h.consecGateway = 0, 0
		return nil
	case Error5xx:
		h.consecGateway = 0
	default: // GatewayFailure, or LocalOriginFailure when not split
		h.consecGateway++
		if reached(h.consecGateway, c.consecGateway) {
			if ev := d.consecutive(now, h, ReasonConsecutiveGatewayFailure); ev != nil {
				return ev
			}
		}
	}
	h.consec5xx++
	if reached(h.consec5xx, c.consec5xx) {
		return d.consecutive(now, h, ReasonConsecutive5xx)
	}
	return nil
}

// reached reports whether a consecutive counter has hit an enabled threshold.
func reached(count, threshold int) bool { return threshold > 0 && count >= threshold }

// Uneject returns an ejected host to service at once, as Envoy does when an active
// health check of the host succeeds (successful_active_health_check_uneject_host).
// It reports false if id is unknown or not ejected.
func (d *Detector) Uneject(now time.Time, id string) (Event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byID[id]
	if h == nil || !h.ejected {
		return Event{}, false
	}
	return d.uneject(now, h), true
}

// Ejected reports whether host id is ejected now.
func (d *Detector) Ejected(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byID[id]
	return h != nil && h.ejected
}

// Status returns host id's state, and false if id is unknown.
func (d *Detector) Status(id string) (HostStatus, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byID[id]
	if h == nil {
		return HostStatus{}, false
	}
	s := HostStatus{
		Ejected:     h.ejected,
		Reason:      h.reason,
		EjectedAt:   h.ejectedAt,
		Ejections:   h.ejections,
		Multiplier:  h.multiplier,
		SuccessRate: h.successRate,
	}
	if h.ejected {
		s.Until = h.until
	}
	return s, true
}

// Stats returns the detector's counters.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Stats{
		Active:   d.active,
		Overflow: d.stats.overflow,
		Returned: d.stats.returned,
		Detected: map[Reason]uint64{},
		Enforced: map[Reason]uint64{},
	}
	for r := ReasonConsecutive5xx; r < numReasons; r++ {
		if n := d.stats.detected[r]; n > 0 {
			s.Detected[r] = n
		}
		if n := d.stats.enforced[r]; n > 0 {
			s.Enforced[r] = n
		}
	}
	return s
}

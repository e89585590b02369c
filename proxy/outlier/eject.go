package outlier

import "time"

// consecutive handles a consecutive-error detection on h: it tries the ejection
// and, whether or not it is made, restarts the counter that fired so that the next
// run of errors is detected afresh (as Envoy does).
func (d *Detector) consecutive(now time.Time, h *host, r Reason) []Event {
	d.stats.detected[r]++
	ev, ok := d.eject(now, h, r)
	switch r {
	case ReasonConsecutive5xx:
		h.consec5xx = 0
	case ReasonConsecutiveGatewayFailure:
		h.consecGateway = 0
	case ReasonConsecutiveLocalOriginFailure:
		h.consecLocal = 0
	}
	if !ok {
		return nil
	}
	return []Event{ev}
}

// eject ejects h for reason r at now unless MaxEjectionPercent forbids it or the
// enforcement draw says no, following Envoy's ejectHost.
func (d *Detector) eject(now time.Time, h *host, r Reason) (Event, bool) {
	c := &d.cfg
	// Envoy: 100 × (ejected + 1) / hosts ≤ max_ejection_percent, in integers here
	// so that no rounding can let one ejection too many through.
	allowed := 100*(d.active+1) <= c.maxPercent*len(d.hosts)
	if c.alwaysOne && d.active == 0 {
		allowed = true
	}
	if !allowed {
		d.stats.overflow++
		return Event{}, false
	}
	if !d.enforce(r) {
		return Event{}, false
	}
	d.active++
	d.stats.enforced[r]++
	h.ejected, h.reason, h.ejectedAt = true, r, now
	h.ejections++
	// Envoy stops growing the multiplier once base × multiplier has passed the
	// cap by a base, so that it can shrink back below the cap promptly.
	if time.Duration(h.multiplier)*c.base < c.maxEjection+c.base {
		h.multiplier++
	}
	eject := min(time.Duration(h.multiplier)*c.base, c.maxEjection)
	if c.jitter > 0 {
		eject += time.Duration(d.rnd.Int64N(int64(c.jitter) + 1))
	}
	h.until = now.Add(eject)
	return Event{ID: h.id, Ejected: true, Reason: r, At: now, Until: h.until}, true
}

// uneject returns h to service at now. Its consecutive counters start again from
// zero so that a few errors right after its return do not eject it at once.
func (d *Detector) uneject(now time.Time, h *host) Event {
	d.active--
	d.stats.returned++
	h.ejected = false
	h.consec5xx, h.consecGateway, h.consecLocal = 0, 0, 0
	h.returnedAt, h.returned = now, true
	return Event{ID: h.id, Ejected: false, Reason: h.reason, At: now}
}

// enforce draws whether a detection by r becomes an ejection.
func (d *Detector) enforce(r Reason) bool {
	c := &d.cfg
	var pct int
	switch r {
	case ReasonConsecutive5xx:
		pct = c.enf5xx
	case ReasonConsecutiveGatewayFailure:
		pct = c.enfGateway
	case ReasonConsecutiveLocalOriginFailure:
		pct = c.enfLocal
	case ReasonSuccessRate:
		pct = c.enfSR
	case ReasonSuccessRateLocalOrigin:
		pct = c.enfSRLocal
	case ReasonFailurePercentage:
		pct = c.enfFP
	case ReasonFailurePercentageLocalOrigin:
		pct = c.enfFPLocal
	}
	switch {
	case pct >= 100:
		return true
	case pct <= 0:
		return false
	}
	return d.rnd.IntN(100) < pct
}

package outlier

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// candidate is a host in service with enough requests in the last interval for at
// least one of the statistical detectors.
type candidate struct {
	h      *host
	rate   float64 // success rate in percent
	sr, fp bool    // has the volume for success rate, for failure percentage
}

// Sweep ends the current interval at now, in the order of Envoy's interval timer:
// it returns the hosts whose ejection time has passed, runs success-rate and
// failure-percentage detection over the interval's counts (external-origin, then
// local-origin when split), and shrinks the ejection multiplier of every host that
// has been back in service for at least an Interval. Call it every Interval; the
// calls themselves delimit the intervals.
func (d *Detector) Sweep(now time.Time) []Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	var evs []Event
	for _, h := range d.hosts {
		if h.ejected && !now.Before(h.until) {
			evs = append(evs, d.uneject(now, h))
		}
		h.lastExt, h.ext = h.ext, tally{}
		h.lastLocal, h.local = h.local, tally{}
		h.successRate = -1
	}
	evs = d.sweepRates(now, evs, false)
	if d.cfg.split {
		evs = d.sweepRates(now, evs, true)
	}
	for _, h := range d.hosts {
		if !h.ejected && h.returned && h.multiplier > 0 && now.Sub(h.returnedAt) >= d.cfg.interval {
			h.multiplier--
		}
	}
	return evs
}

// sweepRates runs Envoy's success-rate and failure-percentage detection over the
// last interval's counts of one origin. Outliers are ejected worst first (lowest
// success rate, then SetHosts order), so that when MaxEjectionPercent leaves room
// for only some of them, the worst go; Envoy leaves that order unspecified.
func (d *Detector) sweepRates(now time.Time, evs []Event, local bool) []Event {
	c := &d.cfg
	if len(d.hosts) < c.srMinHosts && len(d.hosts) < c.fpMinHosts {
		return evs
	}
	srReason, fpReason := ReasonSuccessRate, ReasonFailurePercentage
	if local {
		srReason, fpReason = ReasonSuccessRateLocalOrigin, ReasonFailurePercentageLocalOrigin
	}
	cands := d.cands[:0]
	var sum float64
	nSR, nFP := 0, 0
	for _, h := range d.hosts {
		t := h.lastExt
		if local {
			t = h.lastLocal
		}
		if h.ejected || t.total == 0 {
			continue
		}
		rate := float64(t.success) * 100 / float64(t.total)
		cd := candidate{h: h, rate: rate, sr: t.total >= uint64(c.srVolume), fp: t.total >= uint64(c.fpVolume)}
		if !local && t.total >= uint64(min(c.srVolume, c.fpVolume)) {
			h.successRate = rate
		}
		if cd.sr {
			sum += rate
			nSR++
		}
		if cd.fp {
			nFP++
		}
		if cd.sr || cd.fp {
			cands = append(cands, cd)
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(a.rate, b.rate) })

	if nSR > 0 && nSR >= c.srMinHosts {
		mean := sum / float64(nSR)
		var variance float64
		for _, cd := range cands {
			if cd.sr {
				variance += (cd.rate - mean) * (cd.rate - mean)
			}
		}
		threshold := mean - c.srFactor*math.Sqrt(variance/float64(nSR))
		for _, cd := range cands {
			if cd.sr && !cd.h.ejected && cd.rate < threshold {
				d.stats.detected[srReason]++
				if ev, ok := d.eject(now, cd.h, srReason); ok {
					evs = append(evs, ev)
				}
			}
		}
	}
	if nFP > 0 && nFP >= c.fpMinHosts {
		for _, cd := range cands {
			if cd.fp && !cd.h.ejected && 100-cd.rate >= float64(c.fpThreshold) {
				d.stats.detected[fpReason]++
				if ev, ok := d.eject(now, cd.h, fpReason); ok {
					evs = append(evs, ev)
				}
			}
		}
	}
	clear(cands) // drop the host pointers; keep the capacity
	d.cands = cands[:0]
	return evs
}

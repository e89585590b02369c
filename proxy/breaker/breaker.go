package breaker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Breaker is a closed → open → half-open circuit breaker with Hystrix's semantics
// (see the package comment): a rolling window of outcomes or a run of consecutive
// failures trips it, a sleep window keeps it open, and a limited set of half-open
// probes decides whether it closes.
//
// The caller asks Allow before sending a request and reports the request's outcome
// with Record. Both take the current time; the breaker never reads a clock. Times
// earlier than one already seen are treated as that time, so goroutines that read
// the clock and then race for the lock cannot move the breaker backwards.
//
// The state changes lazily: an open breaker becomes half-open at the first call
// made at or after the end of its sleep window. A Breaker is safe for concurrent
// use.
type Breaker struct {
	// closed mirrors state == Closed so that Allow and State answer a closed
	// breaker, the common case, without taking the lock. Only a transition, made
	// under mu, writes it.
	closed atomic.Bool

	mu  sync.Mutex
	cfg Config

	state   State
	since   time.Time // when the current state began, or the last lost probes were replaced
	latest  time.Time // the latest time told; earlier times are clamped to it
	started bool      // latest and the window's origin are set

	consecutive int // failures in a row while closed

	probes    int // probes admitted in the current half-open set
	reported  int // of those, how many have reported
	succeeded int // of those, how many succeeded

	win   window
	stats Stats
}

// New returns a closed Breaker, after applying the defaults documented on Config.
func New(cfg Config) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new circuit breaker: %w", err)
	}
	cfg = cfg.withDefaults()
	b := &Breaker{cfg: cfg, win: newWindow(cfg.Window, cfg.Buckets)}
	b.closed.Store(true)
	return b, nil
}

// Allow reports whether a request may be sent at now: always while closed, never
// while open, and while half-open only until HalfOpenProbes probes have been
// admitted. Every true answer must be followed by one Record call with the
// request's outcome.
func (b *Breaker) Allow(now time.Time) bool {
	if b.closed.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now = b.observe(now)
	switch b.state {
	case Closed:
		return true
	case HalfOpen:
		if b.probes >= b.cfg.HalfOpenProbes && now.Sub(b.since) >= b.cfg.SleepWindow {
			// Every probe was admitted a sleep window ago and some never reported:
			// count those as lost and admit replacements, so that a lost outcome
			// cannot hold the circuit half-open for ever.
			b.probes = b.reported
			b.since = now
		}
		if b.probes < b.cfg.HalfOpenProbes {
			b.probes++
			return true
		}
	}
	b.stats.Rejected++
	return false
}

// Record reports the outcome of a request that Allow admitted, observed at now, and
// returns the state change made during the call, if any (including the time-driven
// move from open to half-open). While closed the outcome enters the
// window and may trip the circuit. While half-open it is taken as a probe's: a
// failure reopens the circuit, and the HalfOpenProbes-th success closes it. While
// open, and when no probe is outstanding, the outcome is ignored: it belongs to a
// request sent before the circuit tripped.
func (b *Breaker) Record(now time.Time, success bool) Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := b.state
	now = b.observe(now)
	switch b.state {
	case Closed:
		b.count(success)
		b.win.add(now, success)
		if success {
			b.consecutive = 0
		} else {
			b.consecutive++
		}
		if b.tripped() {
			b.enter(Open, now)
		}
	case HalfOpen:
		if b.reported >= b.probes {
			b.stats.Ignored++
			break
		}
		b.count(success)
		b.reported++
		if !success {
			b.enter(Open, now)
			break
		}
		b.succeeded++
		if b.succeeded >= b.cfg.HalfOpenProbes {
			b.enter(Closed, now)
		}
	default:
		b.stats.Ignored++
	}
	return Transition{From: from, To: b.state}
}

// State returns the breaker's state at now.
func (b *Breaker) State(now time.Time) State {
	if b.closed.Load() {
		return Closed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.observe(now)
	return b.state
}

// Stats returns the cumulative transition and outcome counters.
func (b *Breaker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// observe clamps now to the latest time seen, applies the time-driven transitions
// and returns the clamped time.
func (b *Breaker) observe(now time.Time) time.Time {
	switch {
	case !b.started:
		b.started = true
		b.latest, b.since, b.win.origin = now, now, now
	case now.Before(b.latest):
		now = b.latest
	default:
		b.latest = now
	}
	if b.state == Open && now.Sub(b.since) >= b.cfg.SleepWindow {
		b.enter(HalfOpen, now)
	}
	return now
}

// tripped reports whether the closed-state counters call for opening the circuit.
func (b *Breaker) tripped() bool {
	if n := b.cfg.ConsecutiveFailures; n > 0 && b.consecutive >= n {
		return true
	}
	r := b.cfg.FailureRatio
	return r > 0 && b.win.total > 0 && b.win.total >= b.cfg.MinRequests &&
		float64(b.win.failed) >= r*float64(b.win.total)
}

func (b *Breaker) enter(s State, now time.Time) {
	b.state, b.since = s, now
	b.closed.Store(s == Closed)
	switch s {
	case Open:
		b.stats.Opened++
	case HalfOpen:
		b.stats.HalfOpened++
		b.probes, b.reported, b.succeeded = 0, 0, 0
	case Closed:
		b.stats.Closed++
		// A closed circuit judges the upstream afresh, as Hystrix resets its
		// rolling counts when the circuit closes.
		b.win.clear()
		b.consecutive = 0
	}
}

func (b *Breaker) count(success bool) {
	if success {
		b.stats.Successes++
	} else {
		b.stats.Failures++
	}
}

package health

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Tracker holds the active health-check state of a set of endpoints: whether
// each is healthy, its run of consecutive results, and when it is next due for
// a probe. A min-heap of due times makes Due and NextDue cheap for thousands
// of endpoints. A Tracker is safe for concurrent use.
//
// The loop that drives it, in the proxy or the simulator:
//
//	for _, id := range t.Due(now, ids[:0]) {   // claims the due probes
//		start a probe of id with t.Config().Timeout; when it ends:
//		if changed, healthy := t.Report(end, id, ok, r); changed {
//			balancer.SetAvailable(end, id, healthy)
//		}
//	}
//	next wake-up: t.NextDue()
type Tracker struct {
	cfg Config

	mu    sync.Mutex
	eps   map[string]*endpoint
	sched schedule
	seq   uint64
	epoch time.Time // the first Add's time; due times are kept as offsets from it
	began bool
}

type endpoint struct {
	id        string
	healthy   bool
	unprobed  bool // added unhealthy and never probed: one success suffices
	successes int  // consecutive
	failures  int  // consecutive
	due       time.Time
	at        int64  // due as nanoseconds from the tracker's epoch, the heap key
	seq       uint64 // scheduling order, breaks ties between equal due times
	index     int    // position in the schedule, -1 while a probe is in flight
}

// New returns an empty Tracker, or an error naming each invalid field of cfg.
func New(cfg Config) (*Tracker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg, eps: make(map[string]*endpoint)}, nil
}

// Config returns the configuration with defaults applied; the prober takes
// Timeout and Path from it.
func (t *Tracker) Config() Config { return t.cfg }

// Add starts tracking id, healthy or not as Config.StartHealthy says, with its
// first probe due at now plus a random wait in [0, InitialJitter). Adding an
// id that is already tracked changes nothing, so a caller may re-add a whole
// endpoint set. r must not be nil when InitialJitter is positive and is
// unused otherwise.
func (t *Tracker) Add(now time.Time, id string, r *rand.Rand) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.eps[id]; ok {
		return
	}
	e := &endpoint{id: id, healthy: t.cfg.StartHealthy, unprobed: !t.cfg.StartHealthy, index: -1}
	t.eps[id] = e
	t.schedule(e, now.Add(draw(t.cfg.InitialJitter, r)))
}

// Remove stops tracking id. A probe of id still in flight is ignored when it
// reports.
func (t *Tracker) Remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.eps[id]
	if !ok {
		return
	}
	if e.index >= 0 {
		t.sched.remove(e.index)
	}
	delete(t.eps, id)
}

// Len returns the number of tracked endpoints.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.eps)
}

// Healthy reports whether id is tracked and healthy.
func (t *Tracker) Healthy(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.eps[id]
	return ok && e.healthy
}

// Next returns when the next probe of id is due, or the zero time if id is
// not tracked. While a probe claimed by Due is in flight it returns the time
// that probe became due.
func (t *Tracker) Next(id string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.eps[id]; ok {
		return e.due
	}
	return time.Time{}
}

// Due appends to dst the endpoints whose probe is due at or before now, the
// earliest first, and returns the extended slice. It claims them: they are not
// returned again until Report has recorded their probe's result and scheduled
// the next one, so the caller must Report every id it gets (a probe that times
// out reports ok=false). Reusing dst keeps Due free of allocations.
func (t *Tracker) Due(now time.Time, dst []string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sched) == 0 {
		return dst
	}
	limit := int64(now.Sub(t.epoch))
	for len(t.sched) > 0 && t.sched[0].at <= limit {
		dst = append(dst, t.sched.remove(0).id)
	}
	return dst
}

// NextDue returns the earliest due time among endpoints not already claimed
// by Due, and false if there is none: the simulator's next wake-up.
func (t *Tracker) NextDue() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sched) == 0 {
		return time.Time{}, false
	}
	return t.sched[0].due, true
}

// Report records the result of a probe of id that ended at now and schedules
// the next probe at now + Interval + a random wait in [0, Jitter × Interval).
// It returns whether the endpoint's health changed and whether it is now
// healthy. A healthy endpoint becomes unhealthy on its UnhealthyThreshold-th
// consecutive failure; an unhealthy one becomes healthy on its
// HealthyThreshold-th consecutive success, or on its first success if it has
// never been probed (Envoy's rule for new hosts). Reports for ids that are not
// tracked are ignored and return (false, false). Report also works without
// Due, for callers that keep their own per-endpoint timers and read Next. r
// must not be nil when Jitter is positive and is unused otherwise.
func (t *Tracker) Report(now time.Time, id string, ok bool, r *rand.Rand) (changed, healthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, tracked := t.eps[id]
	if !tracked {
		return false, false
	}
	if ok {
		e.successes++
		e.failures = 0
		if !e.healthy && (e.unprobed || e.successes >= t.cfg.HealthyThreshold) {
			e.healthy, changed = true, true
		}
	} else {
		e.failures++
		e.successes = 0
		if e.healthy && e.failures >= t.cfg.UnhealthyThreshold {
			e.healthy, changed = false, true
		}
	}
	e.unprobed = false
	t.schedule(e, now.Add(t.cfg.Interval+draw(time.Duration(t.cfg.Jitter*float64(t.cfg.Interval)), r)))
	return changed, e.healthy
}

// schedule sets e's due time and puts it in (or moves it within) the heap.
// The caller holds t.mu.
func (t *Tracker) schedule(e *endpoint, due time.Time) {
	if !t.began {
		t.began, t.epoch = true, due
	}
	t.seq++
	e.due, e.at, e.seq = due, int64(due.Sub(t.epoch)), t.seq
	if e.index >= 0 {
		t.sched.fix(e.index)
		return
	}
	t.sched.push(e)
}

// draw returns a uniform wait in [0, span), or 0 when span is not positive.
func draw(span time.Duration, r *rand.Rand) time.Duration {
	if span <= 0 {
		return 0
	}
	if r == nil {
		panic(fmt.Sprintf("health: jitter of %v configured but no *rand.Rand passed", span))
	}
	return time.Duration(r.Int64N(int64(span)))
}

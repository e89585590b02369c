package sim

import (
	"fmt"
	"time"
)

// Epoch is virtual time zero: the instant every simulated run starts at.
// Policies receive Epoch.Add(elapsed) as their `now`; the date is arbitrary
// but fixed, so runs are reproducible and no policy can tell it from a wall
// clock by its shape.
var Epoch = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// Engine is a discrete-event scheduler: a virtual clock and a priority queue
// (a radix heap, see queue) of events of payload type P, ordered by time and
// then by the order they were scheduled in — the sequence of At and After
// calls breaks every tie — so a run is a deterministic function of its
// inputs.
//
// The engine knows nothing about what events mean. A model schedules payloads
// and drives the loop itself:
//
//	for {
//		ev, ok := eng.Next()
//		if !ok {
//			break
//		}
//		switch ev.kind { ... }
//	}
//
// P should be a small struct of values and pointers (an event kind plus
// indices or a pointer to pooled state), not a closure: scheduling then
// allocates nothing. An Engine is not safe for concurrent use; a simulation
// runs on one goroutine.
type Engine[P any] struct {
	now       int64
	processed uint64
	q         queue[P]
}

// NewEngine returns an engine at virtual time zero with an empty queue.
func NewEngine[P any]() *Engine[P] {
	return &Engine[P]{}
}

// Now is the virtual time: Epoch plus Elapsed.
func (e *Engine[P]) Now() time.Time { return Epoch.Add(time.Duration(e.now)) }

// Elapsed is the virtual time since the start of the run.
func (e *Engine[P]) Elapsed() time.Duration { return time.Duration(e.now) }

// At schedules p to fire at virtual time at (since the start of the run).
// Scheduling in the past is a programming error and panics: it would let
// the clock run backwards.
func (e *Engine[P]) At(at time.Duration, p P) {
	if int64(at) < e.now {
		panic(fmt.Sprintf("sim: event scheduled in the past (%v < %v)", at, time.Duration(e.now)))
	}
	e.q.push(entry[P]{at: int64(at), p: p})
}

// After schedules p to fire d after the current virtual time. A negative d
// is treated as zero.
func (e *Engine[P]) After(d time.Duration, p P) {
	if d < 0 {
		d = 0
	}
	e.q.push(entry[P]{at: e.now + int64(d), p: p})
}

// Next removes the earliest event, advances the clock to its time and
// returns its payload. It reports false when no event is pending.
func (e *Engine[P]) Next() (P, bool) {
	if e.q.n == 0 {
		var zero P
		return zero, false
	}
	ent := e.q.pop()
	e.now = ent.at
	e.processed++
	return ent.p, true
}

// NextAt reports when the earliest pending event fires, and false when none
// is pending.
func (e *Engine[P]) NextAt() (time.Duration, bool) {
	if e.q.n == 0 {
		return 0, false
	}
	return time.Duration(e.q.peek().at), true
}

// Pending is the number of scheduled events not yet fired.
func (e *Engine[P]) Pending() int { return e.q.len() }

// Processed is the number of events fired so far.
func (e *Engine[P]) Processed() uint64 { return e.processed }

package fleet

import (
	"context"
	"errors"
	"sync/atomic"
)

// errQueueFull is the answer of a replica whose workers are busy and whose
// queue is full: the K of an M/G/c/K station, answered 503.
var errQueueFull = errors.New("queue full")

// admission is a replica's c workers in front of a FIFO queue of k places,
// as the simulator's replica: a request is served at once by a free
// worker, waits in the queue, or is refused when c+k requests are already
// inside. A waiting request whose context ends leaves the queue.
//
// Workers are the slots of a buffered channel; goroutines blocked sending
// on a channel are woken in arrival order, which makes the queue FIFO.
type admission struct {
	slots    chan struct{} // nil: unlimited workers, no queue
	capacity int64         // workers + queue places
	inside   atomic.Int64  // requests served or waiting

	// onEnter, when set (by tests), is called when a request is inside:
	// serving or queued.
	onEnter func()
	// gauges track workers in use and requests waiting.
	busy, waiting func(delta float64)
}

func newAdmission(workers, queue int) *admission {
	a := &admission{busy: func(float64) {}, waiting: func(float64) {}}
	if workers > 0 {
		a.slots = make(chan struct{}, workers)
		a.capacity = int64(workers + queue)
	}
	return a
}

// acquire takes a worker for the caller, waiting in the queue if need be.
// It returns errQueueFull when the station is full, or ctx's error when the
// caller gave up while queued. On success the caller must call release.
func (a *admission) acquire(ctx context.Context) error {
	if a.slots == nil {
		a.busy(1)
		a.enter()
		return nil
	}
	if a.inside.Add(1) > a.capacity {
		a.inside.Add(-1)
		return errQueueFull
	}
	select {
	case a.slots <- struct{}{}: // a free worker: no queueing
		a.busy(1)
		a.enter()
		return nil
	default:
	}
	a.waiting(1)
	a.enter()
	defer a.waiting(-1)
	select {
	case a.slots <- struct{}{}:
		a.busy(1)
		return nil
	case <-ctx.Done():
		a.inside.Add(-1)
		return ctx.Err()
	}
}

// release frees the caller's worker for the next request in the queue.
func (a *admission) release() {
	a.busy(-1)
	if a.slots == nil {
		return
	}
	<-a.slots
	a.inside.Add(-1)
}

func (a *admission) enter() {
	if a.onEnter != nil {
		a.onEnter()
	}
}

package sim

// timerList holds deadlines that are almost always added in time order —
// every timer of one list has the same duration (a route's request timeout, a
// cluster's per-try timeout), so deadline order is insertion order. It is an
// intrusive doubly linked list: adding and cancelling are O(1) and touch no
// heap, and only the earliest deadline is represented in the engine's queue,
// by one wake-up event. A request that completes normally costs two pointer
// updates instead of a heap push and a stale pop, and the event queue stays
// as small as the number of things actually happening.
type timerList[T any] struct {
	head, tail *timerNode[T]
	armed      int64 // time of the pending wake-up; -1 when none
	id         int32 // index in the model's lists of this type
}

// timerNode is embedded in the object it times.
type timerNode[T any] struct {
	prev, next *timerNode[T]
	list       *timerList[T]
	at         int64
	obj        *T
}

// add links n to fire at at. It returns the time a wake-up must be scheduled
// for, or -1 when the one already armed fires early enough.
func (l *timerList[T]) add(n *timerNode[T], at int64) int64 {
	n.at = at
	n.list = l
	// Walk back past later deadlines; with equal durations this loop does not
	// run.
	p := l.tail
	for p != nil && p.at > at {
		p = p.prev
	}
	n.prev = p
	if p == nil {
		n.next = l.head
		l.head = n
	} else {
		n.next = p.next
		p.next = n
	}
	if n.next == nil {
		l.tail = n
	} else {
		n.next.prev = n
	}
	if l.armed < 0 || at < l.armed {
		l.armed = at
		return at
	}
	return -1
}

// remove unlinks n if it is linked. The wake-up stays armed: it fires, finds
// nothing due and re-arms for the new head.
func (l *timerList[T]) remove(n *timerNode[T]) {
	if n.list != l {
		return
	}
	if n.prev == nil {
		l.head = n.next
	} else {
		n.prev.next = n.next
	}
	if n.next == nil {
		l.tail = n.prev
	} else {
		n.next.prev = n.prev
	}
	n.prev, n.next, n.list = nil, nil, nil
}

// wake is called by the wake-up event scheduled for at. It reports whether
// the event is current (a superseded wake-up is ignored) and disarms.
func (l *timerList[T]) wake(at int64) bool {
	if at != l.armed {
		return false
	}
	l.armed = -1
	return true
}

// popDue unlinks and returns the earliest node due at or before now, or nil.
func (l *timerList[T]) popDue(now int64) *T {
	n := l.head
	if n == nil || n.at > now {
		return nil
	}
	l.remove(n)
	return n.obj
}

// rearm returns the time the next wake-up must be scheduled for, or -1.
func (l *timerList[T]) rearm() int64 {
	if l.head == nil || l.armed >= 0 {
		return -1
	}
	l.armed = l.head.at
	return l.armed
}

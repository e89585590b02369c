package health

// schedule is a binary min-heap of endpoints ordered by due time (as the
// integer offset at, cheaper to compare than time.Time), then by the
// order in which they were scheduled, so that endpoints due at the same
// instant come out first-scheduled first and a run is deterministic. Each
// endpoint records its index so that a reschedule or removal is O(log n).
// Endpoints whose probe is in flight are not in the heap (index -1).
type schedule []*endpoint

func (s schedule) less(i, j int) bool {
	a, b := s[i], s[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (s schedule) swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index = i
	s[j].index = j
}

func (s *schedule) push(e *endpoint) {
	e.index = len(*s)
	*s = append(*s, e)
	s.up(e.index)
}

// remove takes the endpoint at index i out of the heap.
func (s *schedule) remove(i int) *endpoint {
	h := *s
	last := len(h) - 1
	e := h[i]
	if i != last {
		h.swap(i, last)
	}
	h[last] = nil
	*s = h[:last]
	if i != last {
		s.fix(i)
	}
	e.index = -1
	return e
}

// fix restores the heap after the endpoint at index i changed its due time.
func (s schedule) fix(i int) {
	if !s.down(i) {
		s.up(i)
	}
}

func (s schedule) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			return
		}
		s.swap(i, parent)
		i = parent
	}
}

// down sifts the endpoint at i towards the leaves and reports whether it
// moved.
func (s schedule) down(i int) bool {
	start := i
	n := len(s)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && s.less(right, child) {
			child = right
		}
		if !s.less(child, i) {
			break
		}
		s.swap(i, child)
		i = child
	}
	return i > start
}

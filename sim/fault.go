package sim

// fault is one scheduled fault with its targets resolved to replicas.
type fault struct {
	idx   int32
	spec  *faultSpec
	reps  []*replica
	part  *partition
	saved []replicaState // what the fault overrode, restored at its end
}

// replicaState is the part of a replica a fault can override.
type replicaState struct {
	slow      float64
	errRate   float64
	errStatus int
	extra     distribution
}

func (m *model) scheduleFaults() {
	for _, f := range m.faults {
		m.at(int64(f.spec.at), event{kind: evFaultStart, idx: f.idx})
	}
}

func (m *model) faultStart(f *fault) {
	s := f.spec
	end := int64(-1)
	if s.dur > 0 {
		end = m.t + int64(s.dur)
	}
	switch s.action {
	case faultKill:
		for _, r := range f.reps {
			m.kill(r)
		}
	case faultRestart:
		for _, r := range f.reps {
			m.kill(r)
		}
		end = m.t + int64(s.downtime)
	case faultPause:
		d := int64(s.dur)
		if d <= 0 {
			d = m.end + m.drain - m.t // until the end of the run
		}
		for _, r := range f.reps {
			m.pause(r, d)
		}
		end = -1
	case faultSlow, faultErrors, faultLatency:
		f.saved = f.saved[:0]
		for _, r := range f.reps {
			f.saved = append(f.saved, replicaState{r.slow, r.errRate, r.errStatus, r.extra})
			switch s.action {
			case faultSlow:
				r.slow = s.factor
			case faultErrors:
				r.errRate, r.errStatus = s.rate, s.status
			case faultLatency:
				r.extra = s.add
			}
		}
	case faultPartition:
		m.net.addPartition(f.part)
	case faultAbort, faultDelay:
		m.switchRouteFault(f, true)
	}
	if end >= 0 {
		m.at(end, event{kind: evFaultEnd, idx: f.idx})
	}
}

func (m *model) faultEnd(f *fault) {
	switch f.spec.action {
	case faultKill, faultRestart:
		for _, r := range f.reps {
			m.restart(r)
		}
	case faultSlow, faultErrors, faultLatency:
		for i, r := range f.reps {
			st := f.saved[i]
			r.slow, r.errRate, r.errStatus, r.extra = st.slow, st.errRate, st.errStatus, st.extra
		}
	case faultPartition:
		m.net.removePartition(f.part)
	case faultAbort, faultDelay:
		m.switchRouteFault(f, false)
	}
}

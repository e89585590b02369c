package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// Fault is the misbehaviour injected into one replica, the real-fleet side
// of the scenario format's faults. Its zero value is a healthy replica.
//
// In JSON (the /admin/fault body) every key is optional:
//
//	{"latency": "20ms" | {"type":"exponential","mean":"5ms"},  added before the replica sees a request
//	 "slow": 3,                                                 service time multiplied by 3
//	 "errorRate": 0.5, "errorStatus": 503,                      half the requests answered 503
//	 "hang": true,                                              accept, answer nothing until cleared
//	 "crash": true}                                             exit (library: close the service)
type Fault struct {
	// Latency is added to every request before it reaches the replica's
	// queue, as the scenario's latency fault adds to the hop into the
	// target. Nil: none.
	Latency *scenarios.DistributionSpec
	// Slow multiplies the service time (the scenario's slow factor, a
	// brownout). 0 or 1: unchanged.
	Slow float64
	// ErrorRate, when above 0, replaces Config.ErrorRate: that fraction of
	// requests is answered ErrorStatus after its service time, as the
	// scenario's errors fault.
	ErrorRate float64
	// ErrorStatus is the status of injected errors. 0: 500.
	ErrorStatus int
	// Hang makes the replica accept requests and answer none (the API and
	// the health checks) until the hang is cleared; requests caught by it
	// then proceed. The scenario's pause.
	Hang bool
	// Crash ends the replica: the program exits, a library Service closes
	// its listeners and aborts its requests. It cannot be cleared.
	Crash bool
}

// faultWire is Fault's JSON; a pointer field is absent or null when nil.
type faultWire struct {
	Latency     *distWire `json:"latency,omitempty"`
	Slow        *float64  `json:"slow,omitempty"`
	ErrorRate   *float64  `json:"errorRate,omitempty"`
	ErrorStatus *int      `json:"errorStatus,omitempty"`
	Hang        *bool     `json:"hang,omitempty"`
	Crash       *bool     `json:"crash,omitempty"`
}

// MarshalJSON writes the fault's set fields, latency in the form
// ParseDistribution reads.
func (f Fault) MarshalJSON() ([]byte, error) {
	var w faultWire
	if f.Latency != nil {
		d := wireOf(*f.Latency)
		w.Latency = &d
	}
	if f.Slow != 0 {
		w.Slow = &f.Slow
	}
	if f.ErrorRate != 0 {
		w.ErrorRate = &f.ErrorRate
	}
	if f.ErrorStatus != 0 {
		w.ErrorStatus = &f.ErrorStatus
	}
	if f.Hang {
		w.Hang = &f.Hang
	}
	if f.Crash {
		w.Crash = &f.Crash
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a whole fault; keys absent are zero.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var g Fault
	if err := g.Patch(b); err != nil {
		return err
	}
	*f = g
	return nil
}

// Patch merges a JSON fault into f, as POST /admin/fault does: keys present
// replace f's, keys absent keep them, and null (or a zero value) clears a
// key. Overlapping faults of a scenario on one replica are thus set and
// ended independently. Unknown keys and impossible values are errors, and
// f is unchanged on error.
func (f *Fault) Patch(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	var w faultWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	g := *f
	set := func(key string) bool { _, ok := raw[key]; return ok }
	if set("latency") {
		g.Latency = nil
		if w.Latency != nil {
			spec := w.Latency.spec()
			g.Latency = &spec
		}
	}
	if set("slow") {
		g.Slow = deref(w.Slow)
	}
	if set("errorRate") {
		g.ErrorRate = deref(w.ErrorRate)
	}
	if set("errorStatus") {
		g.ErrorStatus = deref(w.ErrorStatus)
	}
	if set("hang") {
		g.Hang = deref(w.Hang)
	}
	if set("crash") {
		g.Crash = deref(w.Crash)
	}
	if _, err := g.build(); err != nil {
		return err
	}
	*f = g
	return nil
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// build checks the fault and returns its latency distribution (nil: none).
func (f Fault) build() (scenarios.Distribution, error) {
	if !(f.Slow >= 0) {
		return nil, fmt.Errorf("fault: slow factor %v must not be negative", f.Slow)
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) {
		return nil, fmt.Errorf("fault: error rate %v must be between 0 and 1", f.ErrorRate)
	}
	if f.ErrorStatus != 0 && (f.ErrorStatus < 100 || f.ErrorStatus > 599) {
		return nil, fmt.Errorf("fault: error status %d must be between 100 and 599", f.ErrorStatus)
	}
	if f.Latency == nil {
		return nil, nil
	}
	d, err := f.Latency.Build()
	if err != nil {
		return nil, fmt.Errorf("fault: latency: %w", err)
	}
	return d, nil
}

// scale applies the slow factor to a service time.
func (f Fault) scale(st time.Duration) time.Duration {
	if f.Slow == 0 || f.Slow == 1 {
		return st
	}
	return time.Duration(float64(st) * f.Slow)
}

// errorRate is the chance of an injected error given the replica's own
// rate, and its status.
func (f Fault) errorRate(base float64) (rate float64, status int) {
	if f.ErrorRate > 0 {
		status = f.ErrorStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return f.ErrorRate, status
	}
	return base, http.StatusInternalServerError
}

// faultState is a replica's current fault, read by every request.
type faultState struct {
	mu      sync.Mutex
	f       Fault
	latency scenarios.Distribution // built from f.Latency
	hang    chan struct{}          // open while hung, closed when cleared
	// onHang, when set (by tests), is called when a request starts waiting
	// out a hang.
	onHang func()
}

// current returns the fault and its latency distribution.
func (s *faultState) current() (Fault, scenarios.Distribution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f, s.latency
}

// set replaces the fault. A hang ends when the new fault has none.
func (s *faultState) set(f Fault) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setLocked(f)
}

// patch merges a JSON patch into the fault and returns the result.
func (s *faultState) patch(b []byte) (Fault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.f
	if err := f.Patch(b); err != nil {
		return Fault{}, err
	}
	return f, s.setLocked(f)
}

func (s *faultState) setLocked(f Fault) error {
	lat, err := f.build()
	if err != nil {
		return err
	}
	s.f, s.latency = f, lat
	switch {
	case f.Hang && s.hang == nil:
		s.hang = make(chan struct{})
	case !f.Hang && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
	return nil
}

// waitHang blocks while the replica hangs, until the hang is cleared or ctx
// ends.
func (s *faultState) waitHang(ctx context.Context) error {
	s.mu.Lock()
	ch := s.hang
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	if s.onHang != nil {
		s.onHang()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

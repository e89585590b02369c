package breaker

import "strconv"

// State is where a Breaker stands in the closed → open → half-open cycle.
type State int

const (
	// Closed admits every request and records outcomes in the rolling window.
	Closed State = iota
	// Open rejects every request until the sleep window has passed.
	Open
	// HalfOpen admits a limited number of probes to learn whether the upstream
	// has recovered.
	HalfOpen
)

// String returns the state's name as metrics and reports spell it.
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Transition is the state a Breaker was in when a call began and the state it left
// it in. Record returns one so that callers can log or count changes without a
// callback.
type Transition struct {
	From, To State
}

// Changed reports whether the call moved the breaker to another state.
func (t Transition) Changed() bool { return t.From != t.To }

// String returns "from->to", for logs.
func (t Transition) String() string { return t.From.String() + "->" + t.To.String() }

// Stats are a Breaker's cumulative counters, for metrics.
type Stats struct {
	Opened     uint64 // transitions into Open (from Closed or HalfOpen)
	HalfOpened uint64 // transitions from Open to HalfOpen
	Closed     uint64 // transitions from HalfOpen to Closed
	Rejected   uint64 // Allow calls answered false
	Successes  uint64 // outcomes recorded as successes while closed or as probes
	Failures   uint64 // outcomes recorded as failures while closed or as probes
	Ignored    uint64 // outcomes that arrived while open, or with no probe outstanding
}

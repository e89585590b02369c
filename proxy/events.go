package proxy

import "time"

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	EventEndpoints EventKind = "endpoints" // a cluster's endpoint set changed
	EventHealth    EventKind = "health"    // an endpoint's active health changed
	EventEjection  EventKind = "ejection"  // outlier detection ejected or returned an endpoint
	EventBreaker   EventKind = "breaker"   // a cluster's circuit breaker changed state
	EventReload    EventKind = "reload"    // a configuration was applied or refused
)

// Event is a state change of the proxy, for logs, tests and the lead's CLI.
type Event struct {
	Time     time.Time
	Kind     EventKind
	Cluster  string
	Endpoint string
	// Up is true when the endpoint became healthy, returned from ejection,
	// or the breaker closed; false for the opposite.
	Up bool
	// Detail is a reason or a count ("consecutive_5xx", "3 endpoints",
	// "closed->open", an error).
	Detail string
}

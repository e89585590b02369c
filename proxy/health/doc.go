// Package health tracks active health checking of upstream endpoints as
// Envoy's active health checker does: each endpoint is probed every Interval
// plus a random jitter, a probe that does not answer within Timeout counts as
// a failure, and an endpoint changes state only after UnhealthyThreshold
// consecutive failures (healthy to unhealthy) or HealthyThreshold consecutive
// successes (unhealthy to healthy). Envoy's no_traffic_interval,
// unhealthy_interval and edge intervals are not modelled: every wait is
// Interval plus jitter.
//
// The Tracker does not probe anything. It is a pure state machine that is told
// the time (see docs/architecture.md): the caller asks which endpoints are due (Due,
// NextDue), runs the probes however it likes (the proxy over HTTP, the
// simulator in virtual time), and hands each result to Report, which applies
// the thresholds and schedules the next probe. Nothing here reads the clock,
// sleeps, starts goroutines or does I/O; randomness comes in as a *rand.Rand
// from math/rand/v2, so a schedule is reproducible from its seed. State
// changes reported by Report are applied to a balancer with SetAvailable.
package health

// Package fault is the fault injection filter of the meshbench proxy, after
// Envoy's HTTP fault filter (envoy.filters.http.fault) and Istio's
// HTTPFaultInjection: per route, a percentage of requests is delayed (by a
// fixed duration or a draw from a distribution) and a percentage is aborted
// with a status, optionally only for requests that carry a header, and at
// most MaxActive faults at once (Envoy's max_active_faults).
//
// As in Envoy, the delay is decided and applied first and the abort after
// it, with independent draws, so a request can be both delayed and
// aborted; an aborted request never reaches the upstream.
//
// The decision, Filter.Decide, is a pure function of a *rand.Rand that the
// caller passes, so the simulator can reuse it on its own streams. The
// middleware is not a policy: it draws from the Filter's seeded source
// under a mutex, and it sleeps — the delay is a timer that ends early when
// the request's context does, in which case the request is answered 504
// and not forwarded.
package fault

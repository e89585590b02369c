// Package retry decides whether, when and how often a failed request may be
// tried again, and when a slow one deserves a hedged copy.
//
// It holds three independent policies, each a pure state machine that is told
// the time (see docs/architecture.md): nothing here reads the clock, sleeps, starts a
// goroutine or does I/O, so the simulator and the proxy run the same objects.
//
//   - Policy classifies an attempt's Outcome with the retry_on conditions of
//     Envoy's route retry policy (x-envoy-retry-on: 5xx, gateway-error, reset,
//     connect-failure, retriable-4xx, retriable-status-codes, and the gRPC
//     ones of x-envoy-retry-grpc-on: cancelled, deadline-exceeded, internal,
//     resource-exhausted, unavailable), caps the total
//     number of tries, and draws Envoy's fully jittered exponential back-off
//     (base 25ms, cap 10 × base by default).
//   - Budget bounds retries to a ratio of recent requests plus a minimum rate,
//     as Finagle's RetryBudget and Linkerd's retryBudget (retryRatio,
//     minRetriesPerSecond, ttl) do, so that retries cannot multiply load on an
//     upstream that is already failing.
//   - Hedger says when to send a backup copy of a request that has not
//     answered: after a fixed delay, or after a percentile of recently observed
//     latencies, the "hedged requests" of Dean and Barroso, "The Tail at
//     Scale" (CACM 2013), and Finagle's backup requests.
//
// Randomness comes in as a *rand.Rand from math/rand/v2, so a run is
// reproducible from its seed. All types are safe for concurrent use; a
// *rand.Rand is not, so concurrent callers each pass their own.
package retry

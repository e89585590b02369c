// Package breaker models the two kinds of circuit breaking a mesh data plane applies
// to an upstream cluster, as pure state machines that are told the time.
//
// # Outcome breaker
//
// Breaker is the request-outcome circuit breaker popularised by Netflix Hystrix and
// resilience4j. It counts successes and failures in a rolling window of time buckets
// and moves through three states:
//
//	closed ──trip──► open ──sleep window──► half-open ──N probe successes──► closed
//	                  ▲                         │
//	                  └──────any probe failure──┘
//
// While closed every request is allowed and its outcome recorded. The circuit trips
// when the failure ratio over the window reaches Config.FailureRatio with at least
// Config.MinRequests outcomes in it (Hystrix's errorThresholdPercentage and
// requestVolumeThreshold), or when Config.ConsecutiveFailures failures arrive in a
// row (resilience4j's count-based idea reduced to its simplest form); either
// condition may be used alone. While open every request is rejected. After
// Config.SleepWindow the breaker is half-open and admits at most
// Config.HalfOpenProbes trial requests; when that many have succeeded it closes, and
// the first failure opens it again for another sleep window.
//
// # Admission thresholds
//
// Admission is Envoy's cluster circuit breaking: four counters of resources in use
// (connections, pending requests, active requests, active retries), each with a
// maximum; Acquire fails instead of exceeding it and the caller fails the request
// fast (Envoy answers 503 with x-envoy-overloaded). Envoy's defaults are 1024, 1024,
// 1024 and 3; see Thresholds for how zero and negative values are read.
//
// Neither type reads the clock, sleeps, starts goroutines or does I/O: time comes in
// as an argument, so the same objects run in the discrete-event simulator (virtual
// time) and in the proxy (wall-clock time). Both are safe for concurrent use, and the
// same calls in the same order give the same answers.
//
// The per-host complement, ejecting misbehaving hosts from the load-balancing set,
// is Envoy's outlier detection in package proxy/outlier.
//
// References:
//   - Envoy, circuit breaking: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking
//   - Envoy API, CircuitBreakers.Thresholds: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto
//   - Envoy, outlier detection: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
//   - Hystrix, How it Works, Circuit Breaker: https://github.com/Netflix/Hystrix/wiki/How-it-Works#circuit-breaker
//   - resilience4j, CircuitBreaker: https://resilience4j.readme.io/docs/circuitbreaker
package breaker

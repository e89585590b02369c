// Package outlier implements Envoy's outlier detection, a form of passive health
// checking: it watches the outcome of every request sent to each host of a cluster
// and ejects hosts that behave unlike the others from the load-balancing set for a
// while.
//
// Detector follows Envoy's algorithm and defaults (config.cluster.v3.OutlierDetection):
//
//   - Consecutive errors eject at once, from Record: consecutive_5xx (every 5xx and,
//     unless split, every locally originated failure), consecutive_gateway_failure
//     (502, 503, 504 and local failures) and, with split_external_local_origin_errors,
//     consecutive_local_origin_failure.
//   - Every Interval the caller calls Sweep, which returns hosts whose ejection has
//     expired and then runs the statistical detectors over the interval just ended:
//     success rate (hosts whose success rate is below mean − stdev_factor × stdev of
//     the hosts with enough volume) and failure percentage (hosts whose failure
//     percentage reaches a fixed threshold).
//   - A host is ejected for base_ejection_time × its ejection multiplier, capped at
//     max_ejection_time. The multiplier grows by one at each ejection and shrinks by
//     one at each sweep the host spends in service at least an Interval after its
//     last return, so a host that keeps failing stays out longer and one that
//     recovers is forgiven.
//   - No ejection may take the ejected share of the cluster above
//     max_ejection_percent. As in current Envoy the limit is strict by default: with
//     the default 10% a cluster needs at least ten hosts before any can be ejected.
//     Config.AlwaysEjectOneHost (Envoy's always_eject_one_host) allows one ejection
//     whatever the percentage.
//   - Each detector's ejections are enforced with a probability (the enforcing_*
//     percentages), drawn from an injected math/rand/v2 source.
//
// Record and Sweep return Events; the caller applies them to its balancer, e.g. with
// SetAvailable(now, id, !e.Ejected). The Detector never reads the clock, sleeps,
// starts goroutines or does I/O: time and randomness come in from outside, so the
// same Detector runs in the discrete-event simulator and in the proxy. It is safe for
// concurrent use, and the same inputs in the same order give the same events.
//
// The cluster-wide limits on connections, requests and retries, and the
// request-outcome circuit breaker in the style of Hystrix and resilience4j, are in
// package proxy/breaker.
//
// References:
//   - Envoy, outlier detection: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
//   - Envoy API, OutlierDetection: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/outlier_detection.proto
//   - Envoy, circuit breaking: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking
//   - Hystrix, How it Works, Circuit Breaker: https://github.com/Netflix/Hystrix/wiki/How-it-Works#circuit-breaker
//   - resilience4j, CircuitBreaker: https://resilience4j.readme.io/docs/circuitbreaker
package outlier

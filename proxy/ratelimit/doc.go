// Package ratelimit holds the admission policies of the meshbench data plane:
// rate limiters that decide whether a request may start now, and concurrency
// limiters that bound how many requests are in flight at once.
//
// Every policy is a pure state machine that is told the time. Methods take
// now time.Time as an argument, and the one policy that draws random numbers
// (the jitter of AdaptiveConcurrency) takes a *rand.Rand from math/rand/v2 at
// construction. Nothing here reads the clock, sleeps, starts goroutines or
// does I/O, so the same object answers identically inside the discrete-event
// simulator (virtual time) and the real proxy (wall time). All types are safe
// for concurrent use.
//
// What each limiter models:
//
//   - TokenBucket ("token_bucket") is golang.org/x/time/rate's Limiter,
//     driven only through its explicit-time methods (AllowN, TokensAt). It
//     stands in for Envoy's local rate limit filter (max_tokens,
//     tokens_per_fill, fill_interval), refilled continuously rather than in
//     fill_interval steps.
//   - SlidingWindow ("sliding_window") is the sliding-window counter that
//     Cloudflare describes for its edge rate limiting: the count of the
//     previous fixed window, weighted by how much of it still overlaps the
//     sliding window, plus the count of the current window.
//   - Concurrency ("concurrency") is a fixed cap on requests in flight, as
//     Envoy's max_requests circuit-breaker threshold.
//   - AdaptiveConcurrency ("adaptive_concurrency") is a gradient controller
//     after Envoy's adaptive concurrency filter and Netflix's
//     concurrency-limits (Gradient2): it periodically measures an ideal
//     latency (minRTT) at a pinned low concurrency, compares windowed sample
//     latencies against it and scales the limit by the gradient plus a
//     square-root headroom.
//   - Keyed applies one rate limiter per key (consumer, route, client IP)
//     with bounded memory: at most MaxKeys keys, least recently used first
//     out, and keys idle for IdleTTL dropped lazily.
//
// Rate limiters answer with a Decision; a denied Decision carries RetryAfter,
// the wait after which the same request would be admitted if nothing else
// arrived meanwhile.
package ratelimit

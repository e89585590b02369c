package ratelimit

import (
	"time"

	"golang.org/x/time/rate"
)

// InfDuration is the RetryAfter of a request that can never be admitted, for
// example one asking for more tokens than the bucket holds. It is the same
// value as rate.InfDuration.
const InfDuration = rate.InfDuration

// Decision is a rate limiter's answer for one request.
type Decision struct {
	// Allowed reports whether the request may proceed now.
	Allowed bool
	// RetryAfter is zero when Allowed. When denied it is the shortest wait
	// after which the same request would be admitted, assuming no other
	// request is admitted meanwhile (the value for an HTTP Retry-After
	// header), or InfDuration when it never would be.
	RetryAfter time.Duration
}

// Limiter is a request-rate limiter: token_bucket and sliding_window.
type Limiter interface {
	Allow(now time.Time) Decision
}

// ConcurrencyLimiter bounds the number of requests in flight: concurrency and
// adaptive_concurrency. Every successful Acquire must be matched by exactly
// one Release when the request completes.
type ConcurrencyLimiter interface {
	// Acquire reports whether one more request may start at now; when it
	// returns true the caller owns a slot until Release.
	Acquire(now time.Time) bool
	// Release returns a slot. latency is the request's duration and ok is
	// false for dropped or failed requests; adaptive limiters learn from them.
	Release(now time.Time, latency time.Duration, ok bool)
	// Limit is the current maximum number of requests in flight.
	Limit() int
}

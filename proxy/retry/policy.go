package retry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults applied to zero fields, following Envoy's route retry policy.
const (
	// DefaultAttempts is the total number of tries when Policy.Attempts is
	// zero: the first try plus Envoy's default num_retries of 1.
	DefaultAttempts = 2
	// DefaultBackoffBase is Envoy's default retry_back_off.base_interval.
	DefaultBackoffBase = 25 * time.Millisecond
	// DefaultBackoffMaxFactor is how many bases make Envoy's default
	// retry_back_off.max_interval.
	DefaultBackoffMaxFactor = 10
)

// Backoff is the wait before a retry, as Envoy's retry_back_off. Zero Base
// means DefaultBackoffBase; zero Max means DefaultBackoffMaxFactor × Base.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Policy is a route retry policy with Envoy's semantics: which outcomes are
// retried (RetryOn, RetriableStatusCodes), how many tries a request gets in
// total (Attempts), how long each try may take (PerTryTimeout), and the
// back-off between tries. A Policy is read-only once in use, so one value may
// be shared by any number of goroutines.
type Policy struct {
	// Attempts is the total number of tries including the first, i.e.
	// Envoy's num_retries + 1. Zero means DefaultAttempts; 1 disables
	// retries.
	Attempts int
	// RetryOn lists condition names (see Names); an outcome is retryable if
	// any of them covers it. Empty retries nothing.
	RetryOn []string
	// RetriableStatusCodes are the statuses retried by the
	// "retriable-status-codes" condition. As in Envoy they have no effect
	// unless that condition is in RetryOn.
	RetriableStatusCodes []int
	// PerTryTimeout bounds each try; zero means no per-try bound (only the
	// caller's overall deadline applies). The caller enforces it and reports
	// an expired try as Outcome{Err: Timeout}.
	PerTryTimeout time.Duration
	// Backoff shapes the wait before each retry.
	Backoff Backoff
}

// Validate reports every problem with p: unknown condition names (with the
// list of valid ones), out-of-range status codes, negative counts or
// durations, and a back-off cap below its base.
func (p *Policy) Validate() error {
	var errs []error
	if p.Attempts < 0 {
		errs = append(errs, fmt.Errorf("attempts %d: must be >= 0 (0 means %d)", p.Attempts, DefaultAttempts))
	}
	for i, name := range p.RetryOn {
		if err := checkCondition(name); err != nil {
			errs = append(errs, fmt.Errorf("retry_on[%d]: %w", i, err))
		}
	}
	for i, code := range p.RetriableStatusCodes {
		if code < 100 || code > 599 {
			errs = append(errs, fmt.Errorf("retriable_status_codes[%d]: %d is not an HTTP status (100-599)", i, code))
		}
	}
	if p.PerTryTimeout < 0 {
		errs = append(errs, fmt.Errorf("per_try_timeout %v: must be >= 0", p.PerTryTimeout))
	}
	if p.Backoff.Base < 0 {
		errs = append(errs, fmt.Errorf("backoff base %v: must be >= 0", p.Backoff.Base))
	}
	if p.Backoff.Max < 0 {
		errs = append(errs, fmt.Errorf("backoff max %v: must be >= 0", p.Backoff.Max))
	} else if base, maxWait := p.backoffBounds(); p.Backoff.Max != 0 && maxWait < base {
		errs = append(errs, fmt.Errorf("backoff max %v: must be >= base %v", maxWait, base))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retry policy: %w", err)
	}
	return nil
}

// Retryable reports whether any condition in RetryOn covers o. It does not
// look at the number of tries; see ShouldRetry.
func (p *Policy) Retryable(o Outcome) bool {
	for _, name := range p.RetryOn {
		if matches(name, o, p.RetriableStatusCodes) {
			return true
		}
	}
	return false
}

// ShouldRetry reports whether a request whose try number tries (1 for the
// first) ended with o may be tried again: o is Retryable and tries is below
// the total number of attempts. A retry budget, if any, is consulted by the
// caller after this returns true.
func (p *Policy) ShouldRetry(tries int, o Outcome) bool {
	attempts := p.Attempts
	if attempts == 0 {
		attempts = DefaultAttempts
	}
	return tries < attempts && p.Retryable(o)
}

// BackoffFor draws the wait before the retry that follows try number attempt
// (1 before the first retry), with Envoy's fully jittered exponential
// back-off: uniform in [0, min(Max, Base × 2^(attempt-1))). Attempt values
// below 1 are treated as 1. r must not be nil.
func (p *Policy) BackoffFor(attempt int, r *rand.Rand) time.Duration {
	base, maxWait := p.backoffBounds()
	if base <= 0 || maxWait <= 0 {
		return 0
	}
	ceiling := min(base, maxWait)
	for n := 1; n < attempt && ceiling < maxWait; n++ {
		if ceiling > maxWait/2 {
			ceiling = maxWait // doubling would pass the cap (or overflow)
			break
		}
		ceiling *= 2
	}
	return time.Duration(r.Int64N(int64(ceiling)))
}

// backoffBounds returns Base and Max with defaults applied.
func (p *Policy) backoffBounds() (base, maxWait time.Duration) {
	base = p.Backoff.Base
	if base == 0 {
		base = DefaultBackoffBase
	}
	maxWait = p.Backoff.Max
	if maxWait == 0 {
		maxWait = DefaultBackoffMaxFactor * base
	}
	return base, maxWait
}

package ratelimit

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// TokenBucket admits events at a sustained rate with bursts of up to the
// bucket size: the bucket starts full, refills continuously at rate tokens
// per second, and each admitted event takes one token. It is the token bucket
// of Envoy's local rate limit filter, where rate = tokens_per_fill /
// fill_interval and burst = max_tokens, except that it refills continuously
// instead of in fill_interval steps.
//
// The bucket is golang.org/x/time/rate's Limiter, used only through the
// methods that take an explicit time (AllowN, TokensAt), so its decisions are
// exactly those of rate.Limiter.AllowN on the same timeline. A denied request
// does not change the bucket.
type TokenBucket struct {
	lim *rate.Limiter
	// Copies of the limiter's settings, which never change: reading them
	// from lim would take its lock twice more on every denial.
	limit rate.Limit
	burst int
}

// NewTokenBucket returns a full bucket of burst tokens refilled at
// perSecond tokens per second. perSecond may be math.Inf(1) (admit
// everything). It panics if perSecond is negative or NaN or burst is
// negative: those are programmer errors (New validates configuration).
func NewTokenBucket(perSecond float64, burst int) *TokenBucket {
	if perSecond < 0 || math.IsNaN(perSecond) || burst < 0 {
		panic(fmt.Sprintf("ratelimit: NewTokenBucket(%v, %d): rate and burst must be >= 0", perSecond, burst))
	}
	lim := rate.Inf
	if !math.IsInf(perSecond, 1) {
		lim = rate.Limit(perSecond)
	}
	return &TokenBucket{lim: rate.NewLimiter(lim, burst), limit: lim, burst: burst}
}

// Allow takes one token at now. It is AllowN(now, 1).
func (b *TokenBucket) Allow(now time.Time) Decision {
	return b.AllowN(now, 1)
}

// AllowN takes n tokens at now if the bucket holds them (rate.Limiter.AllowN).
// When it does not, nothing is taken and RetryAfter is the time until the
// bucket will hold n tokens, or InfDuration when n exceeds the burst.
//
// Under concurrent use RetryAfter is computed from a second look at the
// bucket and is a hint: another goroutine may take tokens in between.
func (b *TokenBucket) AllowN(now time.Time, n int) Decision {
	if n <= 0 || b.lim.AllowN(now, n) {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: b.retryAfter(now, n)}
}

// retryAfter is the wait until AllowN(now+wait, n) would succeed, with no
// other admissions: what ReserveN(now, n).DelayFrom(now) reports (unless now
// is behind the bucket's last update, where ReserveN is early). It reads
// the bucket through TokensAt instead of reserving and cancelling (ReserveN
// then CancelAt): CancelAt re-accrues the bucket from now, which moves later
// decisions off rate.Limiter's own by float rounding, and it briefly lends
// out tokens that concurrent callers would then be denied.
func (b *TokenBucket) retryAfter(now time.Time, n int) time.Duration {
	limit := b.limit
	if n > b.burst || limit <= 0 {
		return InfDuration
	}
	if limit == rate.Inf {
		return 0
	}
	admits := func(d time.Duration) bool {
		return tokenWait(float64(n)-b.lim.TokensAt(now.Add(d)), limit) == 0
	}
	// Normally the time to accrue what is missing now, give or take a
	// nanosecond of float rounding.
	wait := tokenWait(float64(n)-b.lim.TokensAt(now), limit)
	for range 3 {
		if wait == InfDuration || admits(wait) {
			return wait
		}
		wait++
	}
	// now is behind the bucket's last update (a clock stepping back), and
	// accrual only starts from that update, which the bucket does not
	// expose: search for the first admitting time, doubling then bisecting.
	lo, step := wait, max(wait, 1)
	for !admits(lo + step) {
		if lo > InfDuration-2*step {
			return InfDuration
		}
		lo, step = lo+step, 2*step
	}
	hi := lo + step
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; admits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// tokenWait converts missing tokens into the time to accrue them, truncated
// to the nanosecond, as rate.Limiter does when it decides: it admits a
// request exactly when this is zero.
func tokenWait(missing float64, limit rate.Limit) time.Duration {
	if missing <= 0 {
		return 0
	}
	d := missing / float64(limit) * float64(time.Second)
	if d >= float64(InfDuration) {
		return InfDuration
	}
	return time.Duration(d)
}

// Rate is the refill rate in tokens per second (+Inf when unlimited).
func (b *TokenBucket) Rate() float64 {
	if b.limit != rate.Inf {
		return float64(b.limit)
	}
	return math.Inf(1)
}

// Burst is the bucket size.
func (b *TokenBucket) Burst() int {
	return b.burst
}

// TokensAt is the number of tokens the bucket holds at now, without taking
// any.
func (b *TokenBucket) TokensAt(now time.Time) float64 {
	return b.lim.TokensAt(now)
}

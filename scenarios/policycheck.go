package scenarios

import (
	"slices"
)

// reportFunc reports an issue at a key path relative to the block checked.
type reportFunc func(rel, format string, args ...any)

// checkPolicy checks the relations inside one effective policy. Ranges of
// single numbers are checked while decoding, from the jsonschema tags.
func checkPolicy(p *Policy, report reportFunc) {
	checkBalancer(&p.Balancer, sub(report, "balancer"))
	t := p.Timeouts
	if t.Request > 0 && t.PerTry > t.Request {
		report("timeouts.perTry", "perTry (%s) exceeds the request timeout (%s)", t.PerTry, t.Request)
	}
	if p.Retries != nil {
		checkRetries(p.Retries, t, sub(report, "retries"))
	}
	if cb := p.CircuitBreaker; cb != nil {
		if cb.Window <= 0 {
			report("circuitBreaker.window", "must be greater than 0")
		}
		if cb.SleepWindow <= 0 {
			report("circuitBreaker.sleepWindow", "must be greater than 0")
		}
	}
	if od := p.OutlierDetection; od != nil {
		if od.Interval <= 0 {
			report("outlierDetection.interval", "must be greater than 0")
		}
		if od.BaseEjectionTime <= 0 {
			report("outlierDetection.baseEjectionTime", "must be greater than 0")
		} else if od.MaxEjectionTime < od.BaseEjectionTime {
			report("outlierDetection.maxEjectionTime", "maxEjectionTime (%s) is below baseEjectionTime (%s)", od.MaxEjectionTime, od.BaseEjectionTime)
		}
	}
	if p.RateLimit != nil {
		checkRateLimit(p.RateLimit, sub(report, "rateLimit"))
	}
	if p.Security != nil {
		checkSecurity(p.Security, sub(report, "security"))
	}
	if hc := p.HealthCheck; hc != nil {
		if hc.Interval <= 0 {
			report("healthCheck.interval", "must be greater than 0")
		}
		if hc.Timeout <= 0 {
			report("healthCheck.timeout", "must be greater than 0")
		} else if hc.Timeout > hc.Interval && hc.Interval > 0 {
			report("healthCheck.timeout", "timeout (%s) exceeds the interval (%s)", hc.Timeout, hc.Interval)
		}
	}
}

// sub reports relative to a child block.
func sub(report reportFunc, key string) reportFunc {
	return func(rel, format string, args ...any) { report(joinPath(key, rel), format, args...) }
}

func checkBalancer(b *Balancer, report reportFunc) {
	if b.MinRingSize > b.MaxRingSize {
		report("minRingSize", "minRingSize (%d) exceeds maxRingSize (%d)", b.MinRingSize, b.MaxRingSize)
	}
	if b.Type == BalancerMaglev && !isPrime(b.TableSize) {
		report("tableSize", "maglev's table size must be a prime, got %d (65537 is)", b.TableSize)
	}
	if b.Type == BalancerPeakEWMA && b.DecayTime <= 0 {
		report("decayTime", "must be greater than 0")
	}
	keys := 0
	h := b.HashKey
	for _, set := range []bool{h.Header != "", h.Cookie != "", h.SourceIP} {
		if set {
			keys++
		}
	}
	if keys > 1 {
		report("hashKey", "give one of header, cookie and sourceIP")
	}
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for i := 2; i*i <= n; i++ {
		if n%i == 0 {
			return false
		}
	}
	return true
}

func checkRetries(r *Retries, t Timeouts, report reportFunc) {
	hasCodes := slices.Contains(r.RetryOn, RetryOnRetriableStatusCodes)
	switch {
	case hasCodes && len(r.RetriableStatusCodes) == 0:
		report("retriableStatusCodes", "retryOn has retriable-status-codes but no codes are listed")
	case !hasCodes && len(r.RetriableStatusCodes) > 0:
		report("retriableStatusCodes", "codes are listed but retryOn lacks retriable-status-codes")
	}
	if r.Backoff.Base <= 0 {
		report("backoff.base", "must be greater than 0")
	} else if r.Backoff.Max < r.Backoff.Base {
		report("backoff.max", "max (%s) is below base (%s)", r.Backoff.Max, r.Backoff.Base)
	}
	if t.Request > 0 && r.PerTryTimeout > t.Request {
		report("perTryTimeout", "perTryTimeout (%s) exceeds the request timeout (%s)", r.PerTryTimeout, t.Request)
	}
	if b := r.Budget; b != nil && b.TTL <= 0 {
		report("budget.ttl", "must be greater than 0")
	}
	if h := r.Hedging; h != nil {
		switch {
		case h.Delay > 0 && h.Percentile > 0:
			report("hedging", "give delay or percentile, not both")
		case h.Delay <= 0 && h.Percentile <= 0:
			report("hedging", "give a delay (\"10ms\") or a percentile (p95)")
		}
	}
}

// checkRateLimit checks a limiter for the parameters its type needs.
func checkRateLimit(r *RateLimit, report reportFunc) {
	switch r.Type {
	case "":
		report("type", "a rate limit needs a type (token_bucket, sliding_window, concurrency or adaptive_concurrency)")
	case LimiterTokenBucket, LimiterSlidingWindow:
		if r.Rate <= 0 {
			report("rate", "a %s limiter needs a rate above 0, such as \"1000/s\"", r.Type)
		}
		if r.Type == LimiterSlidingWindow && r.Window <= 0 {
			report("window", "must be greater than 0")
		}
	case LimiterConcurrency:
		if r.Limit < 1 {
			report("limit", "a concurrency limiter needs a limit of at least 1")
		}
	case LimiterAdaptiveConcurrency:
		if r.MinLimit < 1 {
			report("minLimit", "must be at least 1")
		}
		if r.MaxLimit < r.MinLimit {
			report("maxLimit", "maxLimit (%d) is below minLimit (%d)", r.MaxLimit, r.MinLimit)
		} else if r.Limit < r.MinLimit || r.Limit > r.MaxLimit {
			report("limit", "the initial limit (%d) must lie between minLimit (%d) and maxLimit (%d)", r.Limit, r.MinLimit, r.MaxLimit)
		}
	}
}

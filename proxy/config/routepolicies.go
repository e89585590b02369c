package config

import (
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// RoutePolicies are the policy objects of a route, or of a sidecar's
// service, as Policy.Policies builds them: what a lifecycle.Route holds,
// and what the caller needs to describe each request to it (its hash key,
// its consumer, whether its body is kept for replays).
type RoutePolicies struct {
	// Timeout bounds the whole request, retries and hedges included; zero
	// means none.
	Timeout time.Duration
	// Retry is the retry policy; nil: one round of tries. It is set for a
	// per-try timeout alone too.
	Retry *retry.Policy
	// Budget bounds retries and hedges to a share of requests; nil: none
	// (retry.budget.disabled, or neither retries nor hedging).
	Budget *retry.Budget
	// Hedger sends hedged copies; nil: no hedging.
	Hedger *retry.Hedger
	// Limits are the route's rate limits, in the order they are asked:
	// the route limiters of rateLimit and rateLimits (reason
	// lifecycle.RateLimited), then the per-consumer limiter
	// (lifecycle.ConsumerRateLimited).
	Limits []lifecycle.Limit
	// HashKey is the part of a request that keys the hash balancers.
	HashKey balancer.HashKey
	// BufferBytes is the largest request body kept for replays.
	BufferBytes int64
	// Replays reports whether the route retries or hedges, so that a
	// request's body, up to BufferBytes, must be kept to be sent again.
	Replays bool
	// ConsumerHeader names the header field (canonical) whose value is a
	// request's consumer for the per-consumer limiter; "" means the
	// client's address.
	ConsumerHeader string
}

// Policies builds the policy objects of a route with policy p, with the
// defaults of Defaults applied first. Errors are *ConfigErrors with key
// paths relative to the route ("retry.attempts", "hedge",
// "consumerRateLimit.key", ...; "" for the route as a whole), all of them
// joined; see Under. Middlewares are not built here: they are the proxy's.
func (p Policy) Policies() (RoutePolicies, error) {
	p = policyDefaults(p)
	var rp RoutePolicies
	var errs fieldErrors
	if p.Timeout > 0 {
		rp.Timeout = p.Timeout.D()
	}
	r := p.Retry
	if r.Attempts < 0 {
		errs.add("retry.attempts", fmt.Errorf("must not be negative"))
	}
	if r.Attempts > 1 || r.PerTryTimeout > 0 {
		rp.Retry = &retry.Policy{
			Attempts:             max(r.Attempts, 1),
			RetryOn:              r.RetryOn,
			RetriableStatusCodes: r.RetriableStatusCodes,
			PerTryTimeout:        r.PerTryTimeout.D(),
			Backoff:              retry.Backoff{Base: r.BackoffBase.D(), Max: r.BackoffMax.D()},
		}
		if err := rp.Retry.Validate(); err != nil {
			errs.add("retry", err)
		}
	}
	if r.BufferBytes < 0 {
		errs.add("retry.bufferBytes", fmt.Errorf("must not be negative (0 means the default, %d)", DefaultBufferBytes))
	}
	rp.BufferBytes = r.BufferBytes
	var err error
	if h := p.Hedge; h.Delay > 0 {
		if rp.Hedger, err = retry.NewHedger(retry.HedgeConfig{Delay: h.Delay.D(), Percentile: h.Percentile, MaxHedges: h.MaxHedges}); err != nil {
			errs.add("hedge", err)
		} else if n := rp.Hedger.MaxHedges(); n > lifecycle.MaxLive-1 {
			errs.add("", fmt.Errorf("hedging: at most %d hedges, got %d", lifecycle.MaxLive-1, n))
		}
	} else if h.Percentile != 0 || h.MaxHedges != 0 {
		errs.add("hedge.delay", fmt.Errorf("hedging needs a positive delay"))
	}
	rp.Replays = (rp.Retry != nil && rp.Retry.Attempts > 1) || rp.Hedger != nil
	switch b := r.Budget; {
	case b == nil:
	case b.Disabled && (b.Ratio != 0 || b.MinPerSecond != 0 || b.TTL != 0):
		errs.add("retry.budget", fmt.Errorf("set disabled or ratio, minPerSecond and ttl, not both"))
	case !b.Disabled && rp.Replays:
		if rp.Budget, err = retry.NewBudget(retry.BudgetConfig{Ratio: b.Ratio, MinPerSecond: b.MinPerSecond, TTL: b.TTL.D()}); err != nil {
			errs.add("retry.budget", err)
		}
	}
	if rl := p.RateLimit; rl != nil {
		l, err := rateLimit(*rl)
		errs.addUnder("rateLimit", err)
		rp.Limits = append(rp.Limits, l)
	}
	for i, rl := range p.RateLimits {
		l, err := rateLimit(rl)
		errs.addUnder(fmt.Sprintf("rateLimits[%d]", i), err)
		rp.Limits = append(rp.Limits, l)
	}
	if crl := p.ConsumerRateLimit; crl != nil {
		l, hdr, err := consumerLimit(*crl)
		errs.addUnder("consumerRateLimit", err)
		rp.Limits = append(rp.Limits, l)
		rp.ConsumerHeader = hdr
	}
	rp.HashKey = balancer.HashKey{Header: p.HashKey.Header, Cookie: p.HashKey.Cookie, SourceIP: p.HashKey.SourceIP}
	if err := errs.err(); err != nil {
		return RoutePolicies{}, err
	}
	return rp, nil
}

// rateLimit builds a route limiter; errors are relative to its key.
func rateLimit(rl RateLimitConfig) (lifecycle.Limit, error) {
	l, err := ratelimit.New(rl.limiterConfig())
	if err != nil {
		return lifecycle.Limit{}, &ConfigError{Err: err}
	}
	return lifecycle.Limit{Limiter: l, Reason: lifecycle.RateLimited}, nil
}

// consumerLimit builds a per-consumer limiter and names the header that
// keys it ("" for the client's address); errors are relative to its key.
func consumerLimit(crl ConsumerRateLimitConfig) (lifecycle.Limit, string, error) {
	var errs fieldErrors
	cfg := crl.limiterConfig()
	cfg.MaxKeys, cfg.IdleTTL = crl.MaxKeys, crl.IdleTTL.D()
	k, err := ratelimit.NewKeyed(cfg)
	if err != nil {
		errs.add("", err)
	}
	hdr := ""
	switch {
	case crl.Key == "ip":
	case strings.HasPrefix(crl.Key, "header:") && len(crl.Key) > len("header:"):
		hdr = textproto.CanonicalMIMEHeaderKey(strings.TrimPrefix(crl.Key, "header:"))
	default:
		errs.add("key", fmt.Errorf("want \"ip\" or \"header:<Name>\", got %q", crl.Key))
	}
	return lifecycle.Limit{Keyed: k, Reason: lifecycle.ConsumerRateLimited}, hdr, errs.err()
}

func (rl RateLimitConfig) limiterConfig() ratelimit.Config {
	return ratelimit.Config{Type: rl.Type, Rate: rl.Rate, Burst: rl.Burst, Window: rl.Window.D(), Limit: rl.Limit}
}

package config

import (
	"fmt"
	"slices"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// SharedPolicies are the policy objects of a configuration's top level,
// which every gateway route shares: the limiters of rateLimit and
// consumerRateLimit, asked before each route's own. One set serves every
// route, so the gateway's limits count the requests of all routes
// together.
type SharedPolicies struct {
	// Limits are the shared limiters in the order they are asked: the
	// gateway's limiter (reason lifecycle.RateLimited), then its
	// per-consumer limiter (lifecycle.ConsumerRateLimited).
	Limits []lifecycle.Limit
	// ConsumerHeader names the header field (canonical) whose value is a
	// request's consumer for the shared per-consumer limiter; "" means the
	// client's address.
	ConsumerHeader string
}

// SharedPolicies builds the limiters of c's top level, with the defaults
// of Defaults applied first. Errors are *ConfigErrors at "rateLimit",
// "consumerRateLimit" and "consumerRateLimit.key", joined.
func (c Config) SharedPolicies() (SharedPolicies, error) {
	var s SharedPolicies
	var errs fieldErrors
	if rl := limitDefaults(c.RateLimit); rl != nil {
		l, err := rateLimit(*rl)
		errs.addUnder("rateLimit", err)
		s.Limits = append(s.Limits, l)
	}
	if crl := consumerDefaults(c.ConsumerRateLimit, "ip"); crl != nil {
		l, hdr, err := consumerLimit(*crl)
		errs.addUnder("consumerRateLimit", err)
		s.Limits = append(s.Limits, l)
		s.ConsumerHeader = hdr
	}
	if err := errs.err(); err != nil {
		return SharedPolicies{}, err
	}
	return s, nil
}

// Apply returns rp, the policies of a gateway route, under the shared
// ones: the shared limiters come first in its Limits, the same objects for
// every route, and a route without a consumer limit of its own names its
// consumer by the shared limit's key. (Validate refuses a route whose
// consumer key differs from the shared one: a request has one consumer.)
func (s SharedPolicies) Apply(rp RoutePolicies) RoutePolicies {
	if len(s.Limits) == 0 {
		return rp
	}
	rp.Limits = slices.Concat(s.Limits, rp.Limits)
	if rp.ConsumerHeader == "" {
		rp.ConsumerHeader = s.ConsumerHeader
	}
	return rp
}

// checkShared checks the top level's limits: their policies, and that
// they are a gateway's. (Validate checks each route's consumer key.)
func checkShared(cfg Config, errs *fieldErrors) {
	_, err := cfg.SharedPolicies()
	errs.addUnder("", err)
	if cfg.Mode != ModeSidecar {
		return
	}
	gatewayOnly := fmt.Errorf("shared limits are the gateway's; in sidecar mode set them per service")
	if cfg.RateLimit != nil {
		errs.add("rateLimit", gatewayOnly)
	}
	if cfg.ConsumerRateLimit != nil {
		errs.add("consumerRateLimit", gatewayOnly)
	}
}

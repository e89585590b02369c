package dataplane

import (
	"fmt"

	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/scenarios"
)

// HeaderCache is the header in which the gateway's response cache says
// whether it answered (cache.StatusHit), forwarded (cache.StatusMiss) or
// passed a request by (cache.StatusBypass).
const HeaderCache = "X-Cache"

// RouteCache is the response cache of a route with a cache block: answers
// that state no freshness (the fleet's) are fresh for the block's ttl, at
// most maxEntries are kept, and HeaderCache says HIT on answers it gave.
// Memory stays bounded by the cache's default byte budget, which the
// fleet's small answers do not reach at the entry bound.
func RouteCache(c *scenarios.RouteCache) cache.Config {
	return cache.Config{DefaultTTL: c.TTL, MaxEntries: c.MaxEntries, StatusHeader: HeaderCache}
}

// RouteFault is the fault filter configuration of a route while the given
// faults are on: at most one abort and one delay (validation keeps them so).
// A nil abort or delay injects none of that kind. The delay's
// distribution is built from its spec, so the proxy and the simulator
// draw from the same one.
func RouteFault(abort, delay *scenarios.Fault) (fault.Config, error) {
	var cfg fault.Config
	if abort != nil {
		cfg.Abort = &fault.Abort{Status: abort.Status, Percentage: abort.Percentage}
	}
	if delay != nil {
		if delay.Delay == nil {
			return cfg, fmt.Errorf("delay fault on %s without a delay", delay.Target)
		}
		d, err := delay.Delay.Build()
		if err != nil {
			return cfg, fmt.Errorf("delay fault on %s: %w", delay.Target, err)
		}
		cfg.Delay = &fault.Delay{Distribution: d, Percentage: delay.Percentage}
	}
	return cfg, nil
}

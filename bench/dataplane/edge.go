package dataplane

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/proxy/quota"
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

// Quota is the proxy's quota (proxy/quota) of a scenario's quota block.
func Quota(q *scenarios.Quota) quota.Config {
	return quota.Config{Limit: int64(q.Limit), Period: q.Period}
}

// ConsumerName is the name of consumer i of a workload at the gateway: its
// JWT sub, its API key's name (bench/consumer.Set.Name).
func ConsumerName(workload string, i int) string { return workload + "-" + strconv.Itoa(i) }

// ACL is the proxy's access-control list (proxy/access) of route r: its
// allow and deny lists, and the members of every consumer group of t by
// consumer name (ConsumerName) over the workloads of load.
func ACL(t *scenarios.Topology, load []scenarios.Workload, a *scenarios.ACL) access.ACLConfig {
	groups := map[string][]string{}
	for _, g := range t.Gateway.ConsumerGroups {
		members := groups[g.Name]
		for _, w := range load {
			if w.Consumers == nil || g.Workload != "" && g.Workload != w.Name {
				continue
			}
			for _, i := range g.Consumers {
				if i >= 0 && i < w.Consumers.Count {
					members = append(members, ConsumerName(w.Name, i))
				}
			}
		}
		groups[g.Name] = members
	}
	return access.ACLConfig{Allow: a.Allow, Deny: a.Deny, Groups: groups}
}

// IPRestriction is the proxy's address lists (proxy/access) of a route's
// ipRestriction block.
func IPRestriction(ip *scenarios.IPRestriction) access.IPRestrictionConfig {
	return access.IPRestrictionConfig{Allow: ip.Allow, Deny: ip.Deny}
}

// IntrospectionParams are the auth parameters of an introspection route
// (proxy/auth.Params) against the endpoint at url, which knows the gateway
// as client id with secret: the route's issuer and audience, the block's
// cacheTtl (0 turns the cache off), inactive answers reused
// scenarios.IntrospectionNegativeTTL at most.
func IntrospectionParams(a *scenarios.Auth, url, id, secret string) auth.Params {
	p := auth.Params{Type: auth.TypeIntrospection, IntrospectionURL: url, ClientID: id, ClientSecret: secret, Issuer: a.Issuer}
	if a.Audience != "" {
		p.Audiences = []string{a.Audience}
	}
	ttl := scenarios.Introspection{CacheTTL: 30 * time.Second}
	if a.Introspection != nil {
		ttl = *a.Introspection
	}
	p.CacheTTL = ttl.CacheTTL
	if p.CacheTTL == 0 {
		p.CacheTTL = -1 // no cache
	}
	p.NegativeTTL = min(scenarios.IntrospectionNegativeTTL, max(ttl.CacheTTL, 0))
	if p.NegativeTTL == 0 {
		p.NegativeTTL = -1
	}
	return p
}

// QuotaKey is who a request is counted as under a quota keyed key:
// client_ip its client address; api_key the API key's consumer its route
// verified, jwt_sub the bearer token's sub (a JWT's or an introspected
// token's), each "" (one shared count) for requests verified otherwise or
// not at all; consumer (the default) the verified consumer of any kind,
// else the client address (Kong's limit_by consumer). c is the verified
// consumer, when verified.
func QuotaKey(key string, c auth.Consumer, verified bool, addr netip.Addr) string {
	switch key {
	case scenarios.LimitKeyClientIP:
		return "ip:" + addr.String()
	case scenarios.LimitKeyAPIKey:
		if verified && c.Method == auth.MethodAPIKey {
			return c.ID
		}
		return ""
	case scenarios.LimitKeyJWTSub:
		if verified && (c.Method == auth.MethodJWT || c.Method == auth.MethodOAuth2) {
			return c.ID
		}
		return ""
	}
	if verified && c.ID != "" {
		return c.ID
	}
	return "ip:" + addr.String()
}

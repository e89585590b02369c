package export

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/scenarios"
)

// Kong writes the variant named as a Kong declarative configuration
// (decK format 3.0): a service and an upstream per meshbench service that
// a gateway route reaches (targets weighted as the variant's replicas,
// health checks from healthCheck and outlierDetection, the algorithm from
// the balancer), the routes, and the plugins for rate limits, auth, the
// cache and route aborts.
func Kong(p *scenarios.Plan, variant string) (*Output, error) {
	vp, v, err := variantOf(p, variant)
	if err != nil {
		return nil, err
	}
	pol := &v.Policy
	var ns notes
	root := importer.Map().Set("_format_version", importer.Str("3.0"))
	services := importer.List()
	upstreams := importer.List()
	var keys []string
	issuer := ""
	q := quotaPlacement(vp, pol.Quota, &ns)
	for i := range vp.Topology.Services {
		svc := &vp.Topology.Services[i]
		var routes []scenarios.Route
		for _, rt := range vp.Topology.Gateway.Routes {
			if rt.Service == svc.Name {
				routes = append(routes, rt)
			}
		}
		if len(routes) == 0 {
			continue // Kong proxies the gateway's traffic only
		}
		up := svc.Name + "-upstream"
		s := importer.Map().Set("name", importer.Str(svc.Name)).Set("host", importer.Str(up)).Set("port", importer.Int(8080)).Set("protocol", importer.Str("http"))
		if r := pol.Retries; r != nil {
			s.Set("retries", importer.Int(int64(r.Attempts-1)))
			if !sameSet(r.RetryOn, []string{scenarios.RetryOnConnectFailure, scenarios.RetryOnReset}) {
				ns.add("retries.retryOn %v: Kong retries connection failures and timeouts only", r.RetryOn)
			}
		} else {
			s.Set("retries", importer.Int(0))
		}
		s.Set("connect_timeout", importer.Int(pol.Timeouts.Connect.Milliseconds()))
		if pt := pol.PerTryTimeout(); pt > 0 {
			s.Set("read_timeout", importer.Int(pt.Milliseconds()))
			if pol.Timeouts.Request > 0 {
				ns.add("timeouts.request (%s): Kong bounds each try, not the whole request", pol.Timeouts.Request)
			}
		} else if pol.Timeouts.Request > 0 {
			s.Set("read_timeout", importer.Int(pol.Timeouts.Request.Milliseconds()))
			ns.add("timeouts.request is exported as Kong's read_timeout, which bounds each try")
		}
		rl := importer.List()
		for _, rt := range routes {
			var rq *scenarios.Quota
			if q.routes[rt.Name] {
				rq = pol.Quota
			}
			rl.Append(kongRoute(vp, pol, rt, rq, &ns, &keys, &issuer))
		}
		s.Set("routes", rl)
		if q.service == svc.Name {
			s.Set("plugins", importer.List(rateLimitPlugin(nil, pol.Quota, &ns)))
		}
		services.Append(s)
		upstreams.Append(kongUpstream(svc, up, pol, &ns))
	}
	root.Set("services", services)
	root.Set("upstreams", upstreams)
	consumers := groupConsumers(vp, &ns)
	if len(keys) > 0 || issuer != "" {
		c := importer.Map().Set("username", importer.Str("meshbench"))
		if len(keys) > 0 {
			l := importer.List()
			for _, k := range keys {
				l.Append(importer.Map().Set("key", importer.Str(k)))
			}
			c.Set("keyauth_credentials", l)
		}
		if issuer != "" {
			c.Set("jwt_secrets", importer.List(importer.Map().Set("key", importer.Str(issuer)).Set("algorithm", importer.Str("ES256"))))
			ns.add("jwt: the consumer's rsa_public_key (the issuer's key) is the deployment's to fill in")
		}
		consumers.Append(c)
	}
	if consumers.Len() > 0 {
		root.Set("consumers", consumers)
	}
	var globalQuota *scenarios.Quota
	if q.global {
		globalQuota = pol.Quota
	}
	if pol.RateLimit != nil || globalQuota != nil {
		if pl := rateLimitPlugin(pol.RateLimit, globalQuota, &ns); pl != nil {
			root.Set("plugins", importer.List(pl))
		}
	}
	if pol.CircuitBreaker != nil {
		ns.add("circuitBreaker: Kong has no circuit breaker")
	}
	unrepresented(pol, "kong", &ns)
	return &Output{Text: root.String(), Notes: ns}, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// quotaAt is where a Kong export counts the policy's quota: the global
// rate-limiting plugin (a quota of every route), a service's (the quota
// names exactly that service's routes) or each named route's.
type quotaAt struct {
	global  bool
	service string
	routes  map[string]bool
}

func quotaPlacement(p *scenarios.Plan, q *scenarios.Quota, ns *notes) quotaAt {
	at := quotaAt{routes: map[string]bool{}}
	if q == nil {
		return at
	}
	if len(q.Routes) == 0 {
		at.global = true
		return at
	}
	services := map[string]bool{}
	for _, rt := range p.Topology.Gateway.Routes {
		if slices.Contains(q.Routes, rt.Name) {
			services[rt.Service] = true
		}
	}
	if len(services) == 1 {
		for svc := range services {
			all := true
			for _, rt := range p.Topology.Gateway.Routes {
				all = all && (rt.Service != svc || slices.Contains(q.Routes, rt.Name))
			}
			if all && len(q.Routes) > 1 {
				at.service = svc
				return at
			}
		}
	}
	for _, r := range q.Routes {
		at.routes[r] = true
	}
	if len(q.Routes) > 1 {
		ns.add("quota routes %v: Kong counts a route's rate-limiting plugin apart; meshbench's quota is shared by its routes", q.Routes)
	}
	return at
}

// groupConsumers writes a Kong consumer for each consumer of the
// workloads' consumers up to the last one a consumer group holds, named as
// the gateway knows it (workload-i), with the groups as its acls.
func groupConsumers(p *scenarios.Plan, ns *notes) *importer.Node {
	out := importer.List()
	groups := p.Topology.Gateway.ConsumerGroups
	if len(groups) == 0 {
		return out
	}
	for _, w := range p.Load {
		if w.Consumers == nil {
			continue
		}
		last := -1
		for _, g := range groups {
			if g.Workload == "" || g.Workload == w.Name {
				for _, c := range g.Consumers {
					last = max(last, c)
				}
			}
		}
		for i := 0; i <= last; i++ {
			c := importer.Map().Set("username", importer.Str(fmt.Sprintf("%s-%d", w.Name, i)))
			acls := importer.List()
			for _, g := range groups {
				if (g.Workload == "" || g.Workload == w.Name) && slices.Contains(g.Consumers, i) {
					acls.Append(importer.Map().Set("group", importer.Str(g.Name)))
				}
			}
			if acls.Len() > 0 {
				c.Set("acls", acls)
			}
			out.Append(c)
		}
	}
	if out.Len() > 0 {
		ns.add("consumerGroups: the consumers' credentials (keyauth_credentials, jwt_secrets) are the deployment's to fill in; meshbench's runs make their own")
	}
	return out
}

func kongRoute(p *scenarios.Plan, pol *scenarios.Policy, rt scenarios.Route, quota *scenarios.Quota, ns *notes, keys *[]string, issuer *string) *importer.Node {
	r := importer.Map().Set("name", importer.Str(rt.Name))
	switch {
	case rt.Match.PathPrefix != "":
		r.Set("paths", importer.Strs(rt.Match.PathPrefix))
	case rt.Match.PathRegex != "":
		r.Set("paths", importer.Strs("~"+strings.TrimSuffix(rt.Match.PathRegex, ".*")))
		if !strings.HasSuffix(rt.Match.PathRegex, ".*") {
			ns.add("route %s: Kong's regex paths match a prefix of the path; pathRegex %q matches the whole path", rt.Name, rt.Match.PathRegex)
		}
	case rt.Match.Path != "":
		r.Set("paths", importer.Strs("~"+rt.Match.Path+"$"))
		ns.add("route %s: the exact path is exported as the anchored regex ~%s$", rt.Name, rt.Match.Path)
	}
	if rt.Match.Method != "" {
		r.Set("methods", importer.Strs(rt.Match.Method))
	}
	if rt.Match.Host != "" {
		r.Set("hosts", importer.Strs(rt.Match.Host))
	}
	if len(rt.Match.Headers) > 0 {
		hs := importer.Map()
		for _, k := range sortedKeys(rt.Match.Headers) {
			hs.Set(k, importer.Strs(rt.Match.Headers[k]))
		}
		r.Set("headers", hs)
	}
	r.Set("strip_path", importer.Bool(false))
	plugins := importer.List()
	if a := rt.Auth; a != nil {
		switch a.Type {
		case scenarios.AuthAPIKey:
			h := a.Header
			if h == "" {
				h = "X-API-Key"
			}
			plugins.Append(importer.Map().Set("name", importer.Str("key-auth")).Set("config", importer.Map().Set("key_names", importer.Strs(h))))
			*keys = append(*keys, a.Keys...)
		case scenarios.AuthJWT:
			plugins.Append(importer.Map().Set("name", importer.Str("jwt")).Set("config", importer.Map().Set("claims_to_verify", importer.Strs("exp"))))
			*issuer = a.Issuer
			if a.Audience != "" {
				ns.add("route %s: Kong's jwt plugin does not check the audience (%q)", rt.Name, a.Audience)
			}
		case scenarios.AuthIntrospection:
			ns.add("route %s: auth introspection is Kong Enterprise's oauth2-introspection plugin, not written (an acl there needs an authentication plugin to name the consumer)", rt.Name)
		}
	}
	if a := rt.ACL; a != nil {
		cfg := importer.Map()
		if len(a.Allow) > 0 {
			cfg.Set("allow", importer.Strs(a.Allow...))
		}
		switch {
		case len(a.Deny) > 0 && len(a.Allow) > 0:
			ns.add("route %s: Kong's acl takes allow or deny, not both: deny %v is left out (a consumer in an allowed group and a denied one is admitted)", rt.Name, a.Deny)
		case len(a.Deny) > 0:
			cfg.Set("deny", importer.Strs(a.Deny...))
		}
		plugins.Append(importer.Map().Set("name", importer.Str("acl")).Set("config", cfg))
	}
	if ip := rt.IPRestriction; ip != nil {
		cfg := importer.Map()
		if len(ip.Allow) > 0 {
			cfg.Set("allow", importer.Strs(ip.Allow...))
		}
		if len(ip.Deny) > 0 {
			cfg.Set("deny", importer.Strs(ip.Deny...))
		}
		plugins.Append(importer.Map().Set("name", importer.Str("ip-restriction")).Set("config", cfg))
	}
	if rt.RateLimit != nil || quota != nil {
		if pl := rateLimitPlugin(rt.RateLimit, quota, ns); pl != nil {
			plugins.Append(pl)
		}
	}
	if c := pol.CacheOf(rt.Name); c != nil {
		plugins.Append(importer.Map().Set("name", importer.Str("proxy-cache")).Set("config", importer.Map().
			Set("strategy", importer.Str("memory")).Set("cache_ttl", importer.Int(int64(math.Round(c.TTL.Seconds()))))))
	}
	if f := abortFault(p, rt.Name); f != nil && f.Percentage == 100 {
		plugins.Append(importer.Map().Set("name", importer.Str("request-termination")).Set("config", importer.Map().Set("status_code", importer.Int(int64(f.Status)))))
	}
	if plugins.Len() > 0 {
		r.Set("plugins", plugins)
	}
	return r
}

var periodOf = map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour"}

// rateLimitPlugin writes Kong's rate-limiting for a rate limit, a quota
// or both (Kong has one such plugin per scope, counting per second to per
// month): the rate limit's window and the quota's period.
func rateLimitPlugin(rl *scenarios.RateLimit, q *scenarios.Quota, ns *notes) *importer.Node {
	cfg := importer.Map()
	limitBy := ""
	if rl != nil {
		switch {
		case rl.Type != scenarios.LimiterSlidingWindow && rl.Type != scenarios.LimiterTokenBucket:
			ns.add("rateLimit %s: Kong's rate-limiting counts requests per period; a concurrency limit has no form there", rl.Type)
		default:
			window := rl.Window
			if rl.Type == scenarios.LimiterTokenBucket || periodOf[window] == "" {
				window = time.Second
				ns.add("rateLimit %s: exported as Kong's fixed window of one second (rate %g/s)", rl.Type, float64(rl.Rate))
			}
			cfg.Set(periodOf[window], importer.Float(float64(rl.Rate)*window.Seconds()))
			switch rl.Key {
			case scenarios.LimitKeyClientIP:
				limitBy = "ip"
			case scenarios.LimitKeyAPIKey, scenarios.LimitKeyJWTSub:
				limitBy = "consumer"
			default:
				limitBy = "service"
				if rl.Key == scenarios.LimitKeyGlobal {
					ns.add("rateLimit key global: exported as limit_by service (one counter per Kong service)")
				}
			}
		}
	}
	if q != nil {
		by := "consumer"
		if q.Key == scenarios.LimitKeyClientIP {
			by = "ip"
		}
		switch {
		case limitBy == "":
			limitBy = by
		case limitBy != by:
			ns.add("quota key %s: Kong's one rate-limiting plugin per scope counts the rate limit and the quota by one limit_by (%s)", q.Key, limitBy)
		}
		if cfg.Has(q.Period) {
			ns.add("quota per %s: the rate limit already counts per %s in Kong's plugin; the quota is left out", q.Period, q.Period)
		} else {
			cfg.Set(q.Period, importer.Int(int64(q.Limit)))
		}
		if q.Period != scenarios.PeriodDay && q.Period != scenarios.PeriodMonth {
			ns.add("quota per %s: Kong's rate-limiting counts it like a rate limit (and imports back as one)", q.Period)
		}
		if q.StartAt != 0 {
			ns.add("quota.startAt (%s): Kong's windows follow the clock, not a virtual calendar", q.StartAt)
		}
	}
	if cfg.Len() == 0 {
		return nil
	}
	cfg.Set("limit_by", importer.Str(limitBy))
	cfg.Set("policy", importer.Str("local"))
	return importer.Map().Set("name", importer.Str("rate-limiting")).Set("config", cfg)
}

func kongUpstream(svc *scenarios.Service, name string, pol *scenarios.Policy, ns *notes) *importer.Node {
	u := importer.Map().Set("name", importer.Str(name))
	b := &pol.Balancer
	switch b.Type {
	case scenarios.BalancerRoundRobin, scenarios.BalancerWeightedRoundRobin:
		u.Set("algorithm", importer.Str("round-robin"))
	case scenarios.BalancerLeastRequest:
		u.Set("algorithm", importer.Str("least-connections"))
	case scenarios.BalancerPeakEWMA:
		u.Set("algorithm", importer.Str("latency"))
	case scenarios.BalancerRingHash, scenarios.BalancerMaglev, scenarios.BalancerIPHash:
		u.Set("algorithm", importer.Str("consistent-hashing"))
		switch {
		case b.HashKey.Header != "":
			u.Set("hash_on", importer.Str("header")).Set("hash_on_header", importer.Str(b.HashKey.Header))
		case b.HashKey.Cookie != "":
			u.Set("hash_on", importer.Str("cookie")).Set("hash_on_cookie", importer.Str(b.HashKey.Cookie))
		case b.HashKey.SourceIP || b.Type == scenarios.BalancerIPHash:
			u.Set("hash_on", importer.Str("ip"))
		}
	default:
		ns.add("balancer %s has no Kong algorithm: round-robin is written", b.Type)
		u.Set("algorithm", importer.Str("round-robin"))
	}
	targets := importer.List()
	for i := range svc.Replicas {
		targets.Append(importer.Map().Set("target", importer.Str(fmt.Sprintf("%s-%d:8080", svc.Name, i))).Set("weight", importer.Int(int64(svc.ReplicaWeight(i)))))
	}
	u.Set("targets", targets)
	hc := importer.Map()
	if h := pol.HealthCheck; h != nil {
		hc.Set("active", importer.Map().Set("type", importer.Str("http")).Set("http_path", importer.Str(h.Path)).
			Set("timeout", importer.Float(h.Timeout.Seconds())).
			Set("healthy", importer.Map().Set("interval", importer.Float(h.Interval.Seconds())).Set("successes", importer.Int(int64(h.HealthyThreshold)))).
			Set("unhealthy", importer.Map().Set("interval", importer.Float(h.Interval.Seconds())).Set("http_failures", importer.Int(int64(h.UnhealthyThreshold)))))
	}
	if od := pol.OutlierDetection; od != nil {
		un := importer.Map().Set("http_failures", importer.Int(int64(od.Consecutive5xx)))
		if od.ConsecutiveGatewayFailure > 0 {
			un.Set("tcp_failures", importer.Int(int64(od.ConsecutiveGatewayFailure))).Set("timeouts", importer.Int(int64(od.ConsecutiveGatewayFailure)))
		}
		hc.Set("passive", importer.Map().Set("type", importer.Str("http")).Set("unhealthy", un))
		ns.add("outlierDetection: Kong's passive health check has no ejection time, interval or ejection cap")
	}
	if hc.Len() > 0 {
		u.Set("healthchecks", hc)
	}
	return u
}

package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/scenarios"
)

// Istio writes the variant named as Istio resources: a Gateway, one
// VirtualService for the gateway's routes (with the variant's timeout,
// retries and subset weights), a DestinationRule per service (balancer,
// connection pool, outlier detection, subsets from the replicas' labels),
// a PeerAuthentication when mutual TLS is on, and a RequestAuthentication
// per service whose routes check JWTs. Istio applies one DestinationRule
// per host; meshbench's policy is the mesh's, so every service gets the same.
func Istio(p *scenarios.Plan, variant string) (*Output, error) {
	vp, v, err := variantOf(p, variant)
	if err != nil {
		return nil, err
	}
	pol := &v.Policy
	var ns notes
	var out []*importer.Node

	gw := resource("networking.istio.io/v1", "Gateway", "edge")
	gw.Child("spec").Set("selector", importer.Map().Set("istio", importer.Str("ingressgateway")))
	gw.Get("spec").Set("servers", importer.List(importer.Map().
		Set("port", importer.Map().Set("number", importer.Int(80)).Set("name", importer.Str("http")).Set("protocol", importer.Str("HTTP"))).
		Set("hosts", importer.Strs("*"))))
	out = append(out, gw)

	vs := resource("networking.istio.io/v1", "VirtualService", "gateway")
	spec := vs.Child("spec")
	spec.Set("hosts", importer.Strs("*"))
	spec.Set("gateways", importer.Strs("edge"))
	httpRoutes := importer.List()
	for _, rt := range vp.Topology.Gateway.Routes {
		svc, _ := vp.Topology.Service(rt.Service)
		h := importer.Map().Set("name", importer.Str(rt.Name))
		m := importer.Map()
		switch {
		case rt.Match.Path != "":
			m.Set("uri", importer.Map().Set("exact", importer.Str(rt.Match.Path)))
		case rt.Match.PathPrefix != "":
			m.Set("uri", importer.Map().Set("prefix", importer.Str(rt.Match.PathPrefix)))
		case rt.Match.PathRegex != "":
			m.Set("uri", importer.Map().Set("regex", importer.Str(rt.Match.PathRegex)))
		}
		if rt.Match.Method != "" {
			m.Set("method", importer.Map().Set("exact", importer.Str(rt.Match.Method)))
		}
		if rt.Match.Host != "" {
			m.Set("authority", importer.Map().Set("exact", importer.Str(rt.Match.Host)))
		}
		if len(rt.Match.Headers) > 0 {
			hs := importer.Map()
			for _, k := range sortedKeys(rt.Match.Headers) {
				hs.Set(k, importer.Map().Set("exact", importer.Str(rt.Match.Headers[k])))
			}
			m.Set("headers", hs)
		}
		if m.Len() > 0 {
			h.Set("match", importer.List(m))
		}
		dests := importer.List()
		subs := subsetsOf(svc)
		if len(subs) > 1 || (len(subs) == 1 && len(subs[0].labels) > 0 && svc.Weighted()) {
			ws := make([]int, len(subs))
			for i, s := range subs {
				ws[i] = s.weight
			}
			for i, pc := range percents(ws) {
				dests.Append(importer.Map().
					Set("destination", importer.Map().Set("host", importer.Str(rt.Service)).Set("subset", importer.Str(subs[i].name))).
					Set("weight", importer.Int(int64(pc))))
			}
			checkEvenWithin(svc, subs, &ns)
		} else {
			dests.Append(importer.Map().Set("destination", importer.Map().Set("host", importer.Str(rt.Service))))
			if svc.Weighted() && !evenWeights(svc) {
				ns.add("service %s: replica weights without labels have no Istio form (subsets select replicas by labels): give its replicas labels", svc.Name)
			}
		}
		h.Set("route", dests)
		if pol.Timeouts.Request > 0 {
			h.Set("timeout", dur(pol.Timeouts.Request))
		}
		if r := pol.Retries; r != nil {
			h.Set("retries", istioRetries(r, &ns))
		} else {
			h.Set("retries", importer.Map().Set("attempts", importer.Int(0)))
		}
		if f := abortFault(vp, rt.Name); f != nil {
			h.Set("fault", importer.Map().Set("abort", importer.Map().Set("httpStatus", importer.Int(int64(f.Status))).
				Set("percentage", importer.Map().Set("value", importer.Float(f.Percentage)))))
		}
		if rt.Timeout > 0 {
			ns.add("route %s: its own timeout (%s) is not exported: the VirtualService carries the policy's", rt.Name, rt.Timeout)
		}
		if rt.RateLimit != nil {
			ns.add("route %s: rate limits have no Istio resource (Istio uses an EnvoyFilter or an external rate-limit service)", rt.Name)
		}
		httpRoutes.Append(h)
	}
	spec.Set("http", httpRoutes)
	out = append(out, vs)

	tp := trafficPolicy(pol, &ns)
	for i := range vp.Topology.Services {
		svc := &vp.Topology.Services[i]
		dr := resource("networking.istio.io/v1", "DestinationRule", svc.Name)
		ds := dr.Child("spec").Set("host", importer.Str(svc.Name))
		if tp.Len() > 0 {
			ds.Set("trafficPolicy", tp)
		}
		subs := subsetsOf(svc)
		if len(subs) > 0 && len(subs[0].labels) > 0 {
			l := importer.List()
			for _, s := range subs {
				lm := importer.Map()
				for _, k := range sortedKeys(s.labels) {
					lm.Set(k, importer.Str(s.labels[k]))
				}
				l.Append(importer.Map().Set("name", importer.Str(s.name)).Set("labels", lm))
			}
			ds.Set("subsets", l)
		}
		out = append(out, dr)
	}
	if pol.Security != nil && pol.Security.MTLS != nil {
		pa := resource("security.istio.io/v1", "PeerAuthentication", "default")
		pa.Child("spec").Set("mtls", importer.Map().Set("mode", importer.Str(pol.Security.MTLS.Mode)))
		out = append(out, pa)
		ns.add("security.mtls.certTtl and rotateEvery: Istio's certificate lifetimes are the control plane's settings, not a resource's")
	}
	jwtDone := map[string]bool{}
	for _, rt := range vp.Topology.Gateway.Routes {
		if rt.Auth == nil || rt.Auth.Type == scenarios.AuthNone {
			continue
		}
		if rt.Auth.Type != scenarios.AuthJWT {
			ns.add("route %s: auth %s has no Istio resource", rt.Name, rt.Auth.Type)
			continue
		}
		if jwtDone[rt.Service] {
			continue
		}
		jwtDone[rt.Service] = true
		ra := resource("security.istio.io/v1", "RequestAuthentication", rt.Service+"-jwt")
		rule := importer.Map()
		if rt.Auth.Issuer != "" {
			rule.Set("issuer", importer.Str(rt.Auth.Issuer))
		}
		if rt.Auth.Audience != "" {
			rule.Set("audiences", importer.Strs(rt.Auth.Audience))
		}
		ra.Child("spec").Set("selector", importer.Map().Set("matchLabels", importer.Map().Set("app", importer.Str(rt.Service)))).
			Set("jwtRules", importer.List(rule))
		out = append(out, ra)
	}
	out = append(out, authorizationPolicies(vp, &ns)...)
	unrepresented(pol, "istio", &ns)
	return &Output{Text: docs(out...), Notes: ns}, nil
}

// authorizationPolicies writes, per service, the routes' ipRestriction and
// acl as an ALLOW AuthorizationPolicy (one rule: the allowed addresses and
// the allowed groups, both required) and a DENY one (a rule for the denied
// addresses, another for the denied groups: either refuses). A group is a
// value of the token's groups claim, so an acl needs the route's jwt auth.
// Istio selects workloads, not routes: a service's routes share one access.
func authorizationPolicies(p *scenarios.Plan, ns *notes) []*importer.Node {
	var out []*importer.Node
	done := map[string]string{}
	for _, rt := range p.Topology.Gateway.Routes {
		ip, acl := rt.IPRestriction, rt.ACL
		if acl != nil && (rt.Auth == nil || rt.Auth.Type != scenarios.AuthJWT) {
			ns.add("route %s: acl judges the consumer its %s auth verifies; Istio's groups are a JWT claim, so only routes with jwt auth export it", rt.Name, rt.Auth.Type)
			acl = nil
		}
		key := fmt.Sprint(ip, acl)
		if first, ok := done[rt.Service]; ok {
			if first != key {
				ns.add("route %s: its acl and ipRestriction differ from another route of service %s; Istio's AuthorizationPolicy selects the service's workloads, so the first route's are written", rt.Name, rt.Service)
			}
			continue
		}
		done[rt.Service] = key
		var allowIPs, denyIPs, allowGroups, denyGroups []string
		if ip != nil {
			allowIPs, denyIPs = ip.Allow, ip.Deny
		}
		if acl != nil {
			allowGroups, denyGroups = acl.Allow, acl.Deny
		}
		if len(allowIPs)+len(allowGroups) > 0 {
			rule := importer.Map()
			if len(allowIPs) > 0 {
				rule.Set("from", importer.List(importer.Map().Set("source", importer.Map().Set("ipBlocks", importer.Strs(allowIPs...)))))
			}
			if len(allowGroups) > 0 {
				rule.Set("when", groupsCondition(allowGroups))
			}
			out = append(out, accessPolicy(rt.Service+"-allow", rt.Service, "ALLOW", importer.List(rule)))
		}
		if len(denyIPs)+len(denyGroups) > 0 {
			rules := importer.List()
			if len(denyIPs) > 0 {
				rules.Append(importer.Map().Set("from", importer.List(importer.Map().Set("source", importer.Map().Set("ipBlocks", importer.Strs(denyIPs...))))))
			}
			if len(denyGroups) > 0 {
				rules.Append(importer.Map().Set("when", groupsCondition(denyGroups)))
			}
			out = append(out, accessPolicy(rt.Service+"-deny", rt.Service, "DENY", rules))
		}
		if ip != nil {
			ns.add("route %s: ipBlocks judge the address of the peer that connects to the workload; behind a load balancer use remoteIpBlocks (the client's, from X-Forwarded-For)", rt.Name)
		}
		if acl != nil {
			ns.add("route %s: the tokens' groups claim must carry the consumer groups (topology.gateway.consumerGroups says which consumer is in which)", rt.Name)
		}
	}
	return out
}

func groupsCondition(groups []string) *importer.Node {
	return importer.List(importer.Map().Set("key", importer.Str("request.auth.claims[groups]")).Set("values", importer.Strs(groups...)))
}

func accessPolicy(name, service, action string, rules *importer.Node) *importer.Node {
	ap := resource("security.istio.io/v1", "AuthorizationPolicy", name)
	ap.Child("spec").Set("selector", importer.Map().Set("matchLabels", importer.Map().Set("app", importer.Str(service)))).
		Set("action", importer.Str(action)).Set("rules", rules)
	return ap
}

func resource(api, kind, name string) *importer.Node {
	return importer.Map().Set("apiVersion", importer.Str(api)).Set("kind", importer.Str(kind)).
		Set("metadata", importer.Map().Set("name", importer.Str(name)))
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkEvenWithin notes replicas of one subset with different weights:
// Istio balances evenly within a subset.
func checkEvenWithin(svc *scenarios.Service, subs []subset, ns *notes) {
	for _, s := range subs {
		first := -1
		for i, l := range svc.Labels {
			if labelKey(l) != labelKey(s.labels) {
				continue
			}
			if first < 0 {
				first = svc.ReplicaWeight(i)
			} else if svc.ReplicaWeight(i) != first {
				ns.add("service %s: replicas of subset %s weigh differently; Istio balances evenly within a subset (their sum is the subset's weight)", svc.Name, s.name)
				break
			}
		}
	}
}

func abortFault(p *scenarios.Plan, route string) *scenarios.Fault {
	for i := range p.Faults {
		f := &p.Faults[i]
		if f.Action == scenarios.ActionAbort && f.Target.Route == route && f.At == 0 && f.For == 0 {
			return f
		}
	}
	return nil
}

func istioRetries(r *scenarios.Retries, ns *notes) *importer.Node {
	n := importer.Map().Set("attempts", importer.Int(int64(r.Attempts-1)))
	if r.PerTryTimeout > 0 {
		n.Set("perTryTimeout", dur(r.PerTryTimeout))
	}
	on := slices.Clone(r.RetryOn)
	var parts []string
	for _, c := range on {
		if c == scenarios.RetryOnRetriableStatusCodes {
			for _, code := range r.RetriableStatusCodes {
				parts = append(parts, fmt.Sprint(code))
			}
		}
		parts = append(parts, c)
	}
	n.Set("retryOn", importer.Str(strings.Join(parts, ",")))
	n.Set("backoff", dur(r.Backoff.Base))
	if r.Budget != nil {
		ns.add("retries.budget: Istio has no retry budget of this form (a DestinationRule's retryBudget caps concurrent retries)")
	}
	if r.Hedging != nil {
		ns.add("retries.hedging: Istio does not hedge requests")
	}
	ns.add("retries.backoff.max: Envoy's default (10 × base) applies")
	return n
}

func trafficPolicy(pol *scenarios.Policy, ns *notes) *importer.Node {
	tp := importer.Map()
	lb := importer.Map()
	b := &pol.Balancer
	switch b.Type {
	case scenarios.BalancerRoundRobin, scenarios.BalancerWeightedRoundRobin:
		lb.Set("simple", importer.Str("ROUND_ROBIN"))
	case scenarios.BalancerLeastRequest:
		lb.Set("simple", importer.Str("LEAST_REQUEST"))
	case scenarios.BalancerRandom:
		lb.Set("simple", importer.Str("RANDOM"))
	case scenarios.BalancerRingHash, scenarios.BalancerMaglev, scenarios.BalancerIPHash:
		ch := importer.Map()
		switch {
		case b.HashKey.Header != "":
			ch.Set("httpHeaderName", importer.Str(b.HashKey.Header))
		case b.HashKey.Cookie != "":
			ch.Set("httpCookie", importer.Map().Set("name", importer.Str(b.HashKey.Cookie)))
		case b.HashKey.SourceIP || b.Type == scenarios.BalancerIPHash:
			ch.Set("useSourceIp", importer.Bool(true))
		}
		if b.Type == scenarios.BalancerMaglev {
			ch.Set("maglev", importer.Map().Set("tableSize", importer.Int(int64(b.TableSize))))
		} else {
			ch.Set("ringHash", importer.Map().Set("minimumRingSize", importer.Int(int64(b.MinRingSize))))
		}
		if b.Type == scenarios.BalancerIPHash {
			ns.add("balancer ip_hash is exported as a ring hash of the source address")
		}
		lb.Set("consistentHash", ch)
	default:
		ns.add("balancer %s has no Istio equivalent: the DestinationRule leaves loadBalancer out", b.Type)
	}
	if b.Locality.Enabled {
		lb.Set("localityLbSetting", importer.Map().Set("enabled", importer.Bool(true)))
	}
	if b.SlowStart.Window > 0 {
		lb.Set("warmup", importer.Map().Set("duration", dur(b.SlowStart.Window)).
			Set("minimumPercent", importer.Float(b.SlowStart.MinWeightPercent)).Set("aggression", importer.Float(b.SlowStart.Aggression)))
	}
	if lb.Len() > 0 {
		tp.Set("loadBalancer", lb)
	}
	cp := importer.Map()
	tcp := importer.Map().Set("connectTimeout", dur(pol.Timeouts.Connect))
	if cb := pol.CircuitBreaker; cb != nil {
		tcp.Set("maxConnections", importer.Int(int64(cb.MaxConnections)))
		cp.Set("http", importer.Map().Set("http1MaxPendingRequests", importer.Int(int64(cb.MaxPending))).
			Set("http2MaxRequests", importer.Int(int64(cb.MaxRequests))).Set("maxRetries", importer.Int(int64(cb.MaxRetries))))
		ns.add("circuitBreaker's failure-ratio breaker (failureRatio, minRequests, consecutiveFailures, window, sleepWindow, halfOpenProbes) has no Istio equivalent: only its thresholds are exported")
	}
	cp.Set("tcp", tcp)
	tp.Set("connectionPool", cp)
	if od := pol.OutlierDetection; od != nil {
		o := importer.Map().Set("consecutive5xxErrors", importer.Int(int64(od.Consecutive5xx))).
			Set("consecutiveGatewayErrors", importer.Int(int64(od.ConsecutiveGatewayFailure))).
			Set("interval", dur(od.Interval)).Set("baseEjectionTime", dur(od.BaseEjectionTime)).
			Set("maxEjectionPercent", importer.Int(int64(od.MaxEjectionPercent)))
		if od.FailurePercentage != nil {
			o.Set("failurePercentageThreshold", importer.Int(int64(od.FailurePercentage.Threshold)))
		}
		if od.SuccessRate != nil {
			ns.add("outlierDetection.successRate has no Istio field")
		}
		ns.add("outlierDetection.maxEjectionTime: Envoy's default (300s) applies")
		tp.Set("outlierDetection", o)
	}
	return tp
}

// unrepresented notes the policy blocks a target has no resource for.
func unrepresented(pol *scenarios.Policy, target string, ns *notes) {
	if target == "istio" {
		if pol.RateLimit != nil {
			ns.add("rateLimit: Istio has no rate-limit resource (an EnvoyFilter or an external rate-limit service)")
		}
		if pol.HealthCheck != nil {
			ns.add("healthCheck: Istio has no active health checking of endpoints (Kubernetes probes do that)")
		}
		if pol.Cache != nil {
			ns.add("cache: Istio has no response cache")
		}
		if q := pol.Quota; q != nil {
			ns.add("quota (%d per %s): Istio has no request quota (an external rate-limit service or a gateway such as Kong counts them)", q.Limit, q.Period)
		}
	}
	if pol.Discovery != nil {
		ns.add("discovery: the endpoints' discovery is the platform's, not a %s resource", target)
	}
}

func evenWeights(svc *scenarios.Service) bool {
	for i := 1; i < svc.Replicas; i++ {
		if svc.ReplicaWeight(i) != svc.ReplicaWeight(0) {
			return false
		}
	}
	return true
}

package scenarios

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Quota periods.
const (
	PeriodSecond = "second"
	PeriodMinute = "minute"
	PeriodHour   = "hour"
	PeriodDay    = "day"
	PeriodMonth  = "month"
)

// QuotaKeyConsumer counts a quota per verified consumer, whatever the
// route's authentication, and per client address for requests without one
// (Kong's limit_by consumer, which falls back to the address).
const QuotaKeyConsumer = "consumer"

// QuotaEpoch is where the virtual calendar of a run's quotas starts: the
// start of a second, minute, hour, day and month alike (a 31-day January).
// A quota's windows are aligned to its period on this calendar, and the
// run's timeline begins Quota.StartAt into it (Quota.At), on every backend.
var QuotaEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Quota is a number of requests each consumer may make per renewal period
// at the gateway, as Kong's rate-limiting plugin counts its second to month
// limits and Tyk's quotas renew: fixed windows aligned to the period in UTC
// (a day from midnight to midnight, a month by calendar month); a request
// beyond limit in its window is answered 429 with Retry-After (the time
// until the window ends) and the RateLimit header fields, and is not
// counted. One quota is shared by the routes it names (every route when
// routes is empty): a consumer's requests on all of them count together.
// It runs at the gateway's edge, after authentication, the ipRestriction
// and the acl of the route, and before the route's fault filter, cache and
// rate limits.
//
// A month does not fit in a run, so a run counts on a virtual calendar:
// its timeline starts startAt after QuotaEpoch, the start of every kind
// of window (so startAt is where in the first window the run begins: with
// period day and startAt 23h59m30s, windows renew 30s into the run).
type Quota struct {
	// Limit is the number of requests per consumer per window (at least 1).
	Limit int `json:"limit" jsonschema:"minimum=1"`
	// Period is the window: second, minute, hour, day or month (a calendar month in UTC).
	Period string `json:"period" noun:"quota period" jsonschema:"enum=second,enum=minute,enum=hour,enum=day,enum=month"`
	// Key is who is counted: consumer (the verified consumer, else the client address; default), api_key or jwt_sub (the consumer the route's authentication of that kind verified, one shared count for requests without), or client_ip.
	Key string `json:"key" noun:"quota key" jsonschema:"enum=consumer,enum=api_key,enum=jwt_sub,enum=client_ip"`
	// Routes names the gateway routes the quota counts on; empty: every route.
	Routes []string `json:"routes,omitempty"`
	// StartAt is where in the first window the run's timeline starts, on the run's virtual calendar (default 0: at a window's start; less than the period, 31 days for month).
	StartAt time.Duration `json:"startAt,omitempty"`
}

// PeriodLength is the longest window of period: a month of 31 days.
func PeriodLength(period string) time.Duration {
	switch period {
	case PeriodSecond:
		return time.Second
	case PeriodMinute:
		return time.Minute
	case PeriodHour:
		return time.Hour
	case PeriodDay:
		return 24 * time.Hour
	case PeriodMonth:
		return 31 * 24 * time.Hour
	}
	return 0
}

// At is the time on the quota's virtual calendar at sinceStart into the
// run's timeline: QuotaEpoch + StartAt + sinceStart.
func (q *Quota) At(sinceStart time.Duration) time.Time {
	return QuotaEpoch.Add(q.StartAt + sinceStart)
}

// QuotaOf returns the quota that counts on a route, or nil.
func (p *Policy) QuotaOf(route string) *Quota {
	if q := p.Quota; q != nil && (len(q.Routes) == 0 || slices.Contains(q.Routes, route)) {
		return q
	}
	return nil
}

// ConsumerGroup is a named group of consumers, as Kong's consumer groups
// and acl groups: the consumers listed by index (consumer i of a workload
// is the one named "<workload>-<i>", its JWT sub or its API key's name),
// of the workload named, or of every workload with consumers when none is.
type ConsumerGroup struct {
	// Name identifies the group in routes' acl lists.
	Name string `json:"name" jsonschema:"required,pattern=^[a-zA-Z0-9_.-]+$"`
	// Consumers are indexes of the workload's consumers (0 to count-1).
	Consumers []int `json:"consumers" jsonschema:"required"`
	// Workload names the workload whose consumers these are (default: every workload with consumers).
	Workload string `json:"workload,omitempty"`
}

// ACL is a route's access-control list over consumer groups, with Kong's
// acl semantics: a consumer in a denied group is refused even if an
// allowed group holds it too (deny wins); with an allow list, a consumer
// in none of its groups is refused; refusals are 403. The consumer is the
// one the route's authentication verified (the route must authenticate);
// a request it verified for no workload consumer (a fixed API key) is in
// no group. It runs after authentication and the ipRestriction.
type ACL struct {
	// Allow lists the groups admitted; empty: every group not denied.
	Allow []string `json:"allow,omitempty"`
	// Deny lists the groups refused.
	Deny []string `json:"deny,omitempty"`
}

// IPRestriction admits or refuses a route's requests by client address,
// with Kong's ip-restriction semantics: an address in a denied range is
// refused even if an allowed range holds it (deny wins); with an allow
// list, an address outside it is refused; refusals are 403. On the real
// backends each consumer connects from its own address in 127.1.0.0/16
// (consumer n of the plan, counting on over the workloads in order, from
// 127.1.0.1), and a workload without consumers from 127.0.0.1; the
// simulator judges the same addresses. It runs after authentication,
// before the acl.
type IPRestriction struct {
	// Allow lists address ranges admitted, as CIDRs or single addresses; empty: every address not denied.
	Allow []string `json:"allow,omitempty"`
	// Deny lists address ranges refused.
	Deny []string `json:"deny,omitempty"`
}

// Introspection is a route's OAuth 2.0 token introspection (RFC 7662): the
// gateway POSTs the request's bearer token to the authorization server's
// introspection endpoint (with its client credentials) and admits it when
// the answer is active, unexpired and for the route's issuer and audience;
// the consumer is the answer's sub. Answers are cached by token: an active
// one for cacheTtl (never past its exp), an inactive one for a second (at
// most cacheTtl). A request whose token is not cached waits for the call.
//
// The real backends run the endpoint on loopback: it knows the tokens of
// the run's consumers with identity jwt (it verifies them with the run's
// test issuer's key) and answers after a draw of latency; the simulator
// holds a request that misses the cache for a draw of latency, so both
// see the cache's hit ratio and the calls' cost.
type Introspection struct {
	// CacheTTL is how long an active answer is reused (default 30s; 0: every request is introspected).
	CacheTTL time.Duration `json:"cacheTtl"`
	// Latency is how long one introspection call takes (default 1ms).
	Latency DistributionSpec `json:"latency"`
}

// IntrospectionNegativeTTL is how long an inactive answer is reused (at
// most the cacheTtl).
const IntrospectionNegativeTTL = time.Second

// Introspection defaults: answers reused 30s, a call of 1ms.
func (in *Introspection) setDefaults() {
	in.CacheTTL = 30 * time.Second
	in.Latency = Constant(time.Millisecond)
}

// Quota defaults: keyed by consumer.
func (q *Quota) setDefaults() { q.Key = QuotaKeyConsumer }

// GroupsOf returns the consumer groups that consumer i of workload
// belongs to.
func (t *Topology) GroupsOf(workload string, i int) []string {
	var gs []string
	for _, g := range t.Gateway.ConsumerGroups {
		if (g.Workload == "" || g.Workload == workload) && slices.Contains(g.Consumers, i) {
			gs = append(gs, g.Name)
		}
	}
	return gs
}

// Verifies reports whether the route's authentication verifies a
// consumer: jwt, apiKey or introspection.
func (a *Auth) Verifies() bool {
	return a != nil && (a.Type == AuthJWT || a.Type == AuthAPIKey || a.Type == AuthIntrospection)
}

// Bearer reports whether the route's authentication takes a bearer token
// in Authorization: jwt or introspection.
func (a *Auth) Bearer() bool {
	return a != nil && (a.Type == AuthJWT || a.Type == AuthIntrospection)
}

// consumerGroups checks the consumer groups: unique names, workloads with
// consumers, indexes within their counts.
func (v *validator) consumerGroups() {
	seen := map[string]bool{}
	for i, g := range v.s.Gateway.ConsumerGroups {
		path := fmt.Sprintf("topology.gateway.consumerGroups[%d]", i)
		if seen[g.Name] {
			v.errorf(path+".name", "consumer group %q is declared twice", g.Name)
		}
		seen[g.Name] = true
		max := 0
		found := false
		for _, w := range v.s.Load {
			if w.Consumers == nil || g.Workload != "" && w.Name != g.Workload {
				continue
			}
			found = true
			max = maxInt(max, w.Consumers.Count)
		}
		if !found {
			if g.Workload != "" {
				v.errorf(path+".workload", "no workload %q with consumers%s", g.Workload, hintOrList(g.Workload, consumerWorkloads(v.s)))
			} else {
				v.errorf(path, "no workload has consumers to put in group %s", g.Name)
			}
			continue
		}
		for j, c := range g.Consumers {
			if c < 0 || c >= max {
				v.errorf(fmt.Sprintf("%s.consumers[%d]", path, j), "consumer index %d is outside 0..%d", c, max-1)
			}
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func consumerWorkloads(s *Scenario) []string {
	var ws []string
	for _, w := range s.Load {
		if w.Consumers != nil {
			ws = append(ws, w.Name)
		}
	}
	return ws
}

// routeAccess checks a route's acl and ipRestriction.
func (v *validator) routeAccess(path string, r Route) {
	if a := r.ACL; a != nil {
		if len(a.Allow) == 0 && len(a.Deny) == 0 {
			v.errorf(path+".acl", "give allow or deny (or both): the consumer groups admitted or refused")
		}
		if !r.Auth.Verifies() {
			v.errorf(path+".acl", "an acl judges the consumer the route's authentication verifies: give route %s auth type jwt, apiKey or introspection", r.Name)
		}
		var groups []string
		for _, g := range v.s.Gateway.ConsumerGroups {
			if !slices.Contains(groups, g.Name) {
				groups = append(groups, g.Name)
			}
		}
		for key, list := range map[string][]string{"allow": a.Allow, "deny": a.Deny} {
			for j, g := range list {
				if !slices.Contains(groups, g) {
					v.errorf(fmt.Sprintf("%s.acl.%s[%d]", path, key, j), "unknown consumer group %q%s", g, hintOrList(g, groups))
				}
			}
		}
	}
	if ip := r.IPRestriction; ip != nil {
		if len(ip.Allow) == 0 && len(ip.Deny) == 0 {
			v.errorf(path+".ipRestriction", "give allow or deny (or both): CIDRs such as 127.1.0.0/24")
		}
		for key, list := range map[string][]string{"allow": ip.Allow, "deny": ip.Deny} {
			for j, c := range list {
				if _, err := ParseCIDR(c); err != nil {
					v.errorf(fmt.Sprintf("%s.ipRestriction.%s[%d]", path, key, j), "%v", err)
				}
			}
		}
	}
}

// ParseCIDR parses an ipRestriction entry: a CIDR or a single address.
func ParseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR (127.1.0.0/24) nor an address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR (such as 127.1.0.0/24)", s)
	}
	return p, nil
}

// checkQuota checks a policy's quota against the routes it names.
func (v *validator) checkQuota(p *Policy, report reportFunc) {
	q := p.Quota
	if q == nil {
		return
	}
	if q.Limit < 1 && v.ok("policy.quota.limit") {
		report("quota", "a quota needs \"limit\": the requests per consumer per period (at least 1)")
	}
	if q.Period == "" {
		report("quota", "a quota needs \"period\": second, minute, hour, day or month")
	}
	if n := PeriodLength(q.Period); n > 0 && (q.StartAt < 0 || q.StartAt >= n) {
		report("quota.startAt", "must be in [0, %s) for period %s, got %s", n, q.Period, q.StartAt)
	}
	routes := names(v.s.Gateway.Routes, func(r Route) string { return r.Name })
	for i, name := range q.Routes {
		r, ok := v.route(name)
		rel := fmt.Sprintf("quota.routes[%d]", i)
		if !ok {
			report(rel, "unknown route %q%s", name, hintOrList(name, routes))
			continue
		}
		if want := map[string]string{LimitKeyAPIKey: AuthAPIKey}[q.Key]; want != "" && (r.Auth == nil || r.Auth.Type != want) {
			report("quota.key", "key api_key counts the API key route %s verifies, but its auth is not apiKey", name)
		}
		if q.Key == LimitKeyJWTSub && !r.Auth.Bearer() {
			report("quota.key", "key jwt_sub counts the token sub route %s verifies, but its auth is neither jwt nor introspection", name)
		}
	}
}

// introspection checks a route's introspection block.
func (v *validator) introspection(path string, a *Auth) {
	if a.Type != AuthIntrospection {
		if a.Introspection != nil {
			v.errorf(path+".introspection", "introspection applies to auth type introspection, not %s", a.Type)
		}
		return
	}
	if a.Introspection == nil {
		return // finalize gives every introspection route one
	}
	if a.Introspection.CacheTTL < 0 {
		v.errorf(path+".introspection.cacheTtl", "must not be negative")
	}
	if _, err := a.Introspection.Latency.Build(); err != nil && v.ok(path+".introspection.latency") {
		v.errorf(path+".introspection.latency", "%v", err)
	}
}

// Route returns the gateway's route named name, or nil.
func (g *Gateway) Route(name string) *Route {
	for i := range g.Routes {
		if g.Routes[i].Name == name {
			return &g.Routes[i]
		}
	}
	return nil
}

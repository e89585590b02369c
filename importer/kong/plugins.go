package kong

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/importer"
)

// pluginConfig lists, per plugin, the config keys the importer maps.
var pluginConfig = map[string][]string{
	"rate-limiting":       {"second", "minute", "hour", "day", "month", "limit_by", "policy", "error_code"},
	"key-auth":            {"key_names", "key_in_header"},
	"jwt":                 {"claims_to_verify", "key_claim_name", "header_names"},
	"acl":                 {"allow", "deny"},
	"proxy-cache":         {"cache_ttl", "strategy", "request_method", "response_code", "content_type"},
	"request-termination": {"status_code"},
	"ip-restriction":      {"allow", "deny"},
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func strs(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var out []string
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (im *imp) plugin(pl *Plugin, p string, routes []*gwRoute, scope string) {
	label := "plugin " + pl.Name
	keys, known := pluginConfig[pl.Name]
	if !known {
		im.note(p+".name", label, importer.Unsupported, "plugin %q has no meshbench equivalent (the importer maps %s)", pl.Name, strings.Join(pluginNames(), ", "))
		return
	}
	for _, path := range im.doc.Keys() {
		if !strings.HasPrefix(path, p+".config.") {
			continue
		}
		key := strings.TrimPrefix(path, p+".config.")
		if strings.ContainsAny(key, ".[") {
			continue
		}
		if !slices.Contains(keys, key) {
			im.note(path, label, importer.Unsupported, "config.%s has no meshbench equivalent; it is left out", key)
		}
	}
	cfg := pl.Config
	cp := p + ".config"
	bad := func(key, want string) {
		im.note(cp+"."+key, label, importer.Invalid, "wrong type: config.%s must be %s", key, want)
	}
	switch pl.Name {
	case "rate-limiting":
		im.rateLimiting(cfg, cp, label, routes, scope, bad)
	case "key-auth":
		auth := importer.Map().Set("type", importer.Str("apiKey"))
		if v, ok := cfg["key_names"]; ok {
			names, ok := strs(v)
			if !ok || len(names) == 0 {
				bad("key_names", "a list of header names")
				return
			}
			auth.Set("header", importer.Str(names[0]).With(im.doc.Where(cp+".key_names[0]")))
			if len(names) > 1 {
				im.note(cp+".key_names[1]", label, importer.Unsupported, "a meshbench route reads the key from one header: %q", names[0])
			}
		}
		var keys []string
		for _, c := range im.cfg.Consumers {
			for _, k := range c.KeyauthCredentials {
				keys = append(keys, k.Key)
			}
		}
		if len(keys) > 0 {
			auth.Set("keys", importer.Strs(keys...).With("consumers' keyauth_credentials"))
		}
		im.setAuth(routes, auth, "apiKey")
	case "jwt":
		auth := importer.Map().Set("type", importer.Str("jwt"))
		var issuers []string
		for i, c := range im.cfg.Consumers {
			for j, s := range c.JWTSecrets {
				if len(issuers) == 0 {
					auth.Set("issuer", importer.Str(s.Key).With(im.doc.Where(fmt.Sprintf("consumers[%d].jwt_secrets[%d].key", i, j))))
				}
				issuers = append(issuers, s.Key)
			}
		}
		if len(issuers) > 1 {
			im.note(cp, label, importer.Approximated, "a meshbench route accepts one issuer: %q (the consumers' jwt_secrets name %d)", issuers[0], len(issuers))
		}
		im.note(cp, label, importer.Approximated, "the keys: meshbench's runs sign tokens with a test issuer (ES256) whose JWKS the gateway loads; the consumers' secrets are not used")
		im.setAuth(routes, auth, "jwt")
	case "acl":
		acl := importer.Map()
		for _, k := range []string{"allow", "deny"} {
			if v, ok := cfg[k]; ok {
				groups, ok := strs(v)
				if !ok {
					bad(k, "a list of group names")
					return
				}
				if len(groups) > 0 {
					acl.Set(k, importer.Strs(groups...).With(im.doc.Where(cp+"."+k)))
				}
			}
		}
		if acl.Has("allow") && acl.Has("deny") {
			im.note(cp+".deny", label, importer.Invalid, "Kong's acl takes one of allow and deny, not both")
			return
		}
		if acl.Len() == 0 {
			im.note(cp, label, importer.Invalid, "Kong's acl needs allow or deny")
			return
		}
		var unverified []string
		for _, gr := range routes {
			for i, n := range gr.nodes {
				if im.authOf[gr.names[i]] == "" {
					unverified = append(unverified, gr.names[i])
					continue
				}
				n.Set("acl", acl)
			}
		}
		if len(unverified) > 0 {
			im.note(cp, label, importer.Unsupported, "routes %s have no key-auth or jwt plugin: Kong's acl refuses every request it cannot name a consumer for, and meshbench's acl judges the consumer a route's authentication verifies; it is left out there", strings.Join(unverified, ", "))
		}
		im.res.ConsumerCount = len(im.cfg.Consumers)
	case "ip-restriction":
		ipr := importer.Map()
		for _, k := range []string{"allow", "deny"} {
			if v, ok := cfg[k]; ok {
				cidrs, ok := strs(v)
				if !ok {
					bad(k, "a list of addresses or CIDRs")
					return
				}
				for i, c := range cidrs {
					if err := importer.CheckCIDR(c); err != nil {
						im.note(fmt.Sprintf("%s.%s[%d]", cp, k, i), label, importer.Invalid, "%v", err)
						return
					}
					if !strings.Contains(c, "/") {
						if strings.Contains(c, ":") {
							cidrs[i] = c + "/128"
						} else {
							cidrs[i] = c + "/32"
						}
					}
				}
				if len(cidrs) > 0 {
					ipr.Set(k, importer.Strs(cidrs...).With(im.doc.Where(cp+"."+k)))
				}
			}
		}
		if ipr.Len() == 0 {
			im.note(cp, label, importer.Invalid, "Kong's ip-restriction needs allow or deny")
			return
		}
		for _, gr := range routes {
			for _, n := range gr.nodes {
				n.Set("ipRestriction", ipr)
			}
		}
	case "proxy-cache":
		ttl := 300.0 // Kong's default cache_ttl
		if v, ok := cfg["cache_ttl"]; ok {
			f, ok := num(v)
			if !ok {
				bad("cache_ttl", "a number of seconds")
				return
			}
			ttl = f
		}
		if v, ok := cfg["strategy"]; ok && v != "memory" {
			im.note(cp+".strategy", label, importer.Approximated, "strategy %v: meshbench's cache is the gateway's memory", v)
		}
		if _, ok := cfg["response_code"]; ok {
			im.note(cp+".response_code", label, importer.Approximated, "meshbench stores the statuses RFC 9110 makes heuristically cacheable (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501)")
		}
		var names []string
		for _, gr := range routes {
			names = append(names, gr.names...)
		}
		old := im.res.Policy.Get("cache")
		if old != nil {
			for _, it := range old.Get("routes").Items() {
				names = append(names, strings.Trim(it.Text(), `"`))
			}
		}
		slices.Sort(names)
		names = slices.Compact(names)
		im.res.Policy.Child("cache").Set("routes", importer.Strs(names...).With(im.doc.Where(p)))
		im.policy("cache.ttl", importer.Dur(secs(ttl)), cp+".cache_ttl", label)
	case "request-termination":
		status := 503 // Kong's default
		if v, ok := cfg["status_code"]; ok {
			f, ok := num(v)
			if !ok {
				bad("status_code", "an HTTP status")
				return
			}
			status = int(f)
		}
		for _, gr := range routes {
			for _, n := range gr.names {
				f := importer.Map().Set("at", importer.Str("0s")).Set("action", importer.Str("abort")).
					Set("target", importer.Str("route:"+n)).Set("status", importer.Int(int64(status))).Set("percentage", importer.Int(100))
				im.res.Faults = append(im.res.Faults, f.With(im.doc.Where(p)))
			}
		}
	}
}

func pluginNames() []string {
	var out []string
	for k := range pluginConfig {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (im *imp) setAuth(routes []*gwRoute, auth *importer.Node, typ string) {
	for _, gr := range routes {
		for i, n := range gr.nodes {
			if !n.Has("auth") {
				n.Set("auth", auth)
				im.authOf[gr.names[i]] = typ
			}
		}
	}
}

var periods = []struct {
	key string
	d   time.Duration
	per string // rate unit
}{{"second", time.Second, "s"}, {"minute", time.Minute, "m"}, {"hour", time.Hour, "h"}}

func (im *imp) rateLimiting(cfg map[string]any, cp, label string, routes []*gwRoute, scope string, bad func(key, want string)) {
	// The key the limit partitions by.
	limitBy := "consumer"
	if v, ok := cfg["limit_by"].(string); ok {
		limitBy = v
	}
	authTypes := map[string]bool{}
	for _, gr := range routes {
		for _, n := range gr.names {
			if t := im.authOf[n]; t != "" {
				authTypes[t] = true
			}
		}
	}
	rateKey, quotaKey := "", ""
	switch limitBy {
	case "consumer", "credential":
		switch {
		case authTypes["apiKey"] && !authTypes["jwt"]:
			rateKey, quotaKey = "api_key", "api_key"
		case authTypes["jwt"] && !authTypes["apiKey"]:
			rateKey, quotaKey = "jwt_sub", "jwt_sub"
		default:
			// Kong falls back to the client address when no consumer is identified.
			rateKey, quotaKey = "client_ip", "consumer"
			im.note(cp, label, importer.Approximated, "limit_by %s on routes without one authentication plugin: Kong falls back to the client address; the rate limit is keyed by client_ip", limitBy)
		}
	case "ip":
		rateKey, quotaKey = "client_ip", "client_ip"
	case "service":
		rateKey, quotaKey = "global", "consumer"
		if scope == "route" {
			rateKey = "route"
		}
	default:
		im.note(cp+".limit_by", label, importer.Unsupported, "limit_by %q: meshbench keys limits by consumer (api key or JWT subject), client address, route or globally", limitBy)
		return
	}
	if v, ok := cfg["policy"].(string); ok && v != "local" {
		im.note(cp+".policy", label, importer.Approximated, "policy %s: meshbench runs one gateway, whose counters are exact (as local)", v)
	}
	// The shortest of second/minute/hour is the rate limit.
	set := false
	for _, pr := range periods {
		v, ok := cfg[pr.key]
		if !ok || v == nil {
			continue
		}
		f, ok := num(v)
		if !ok {
			bad(pr.key, "a number")
			return
		}
		if set {
			im.note(cp+"."+pr.key, label, importer.Unsupported, "meshbench has one rate limit per route (or one for the gateway): the shorter period's limit is imported, this one is left out")
			continue
		}
		set = true
		rl := importer.Map()
		rl.Set("type", importer.Str("sliding_window").With(im.doc.Where(cp)))
		rl.Set("rate", importer.Str(fmt.Sprintf("%s/%s", trimFloat(f), pr.per)).With(im.doc.Where(cp+"."+pr.key)))
		rl.Set("window", importer.Dur(pr.d))
		rl.Set("key", importer.Str(rateKey).With(im.doc.Where(cp+".limit_by")))
		im.note(cp+"."+pr.key, label, importer.Approximated, "Kong counts in fixed windows aligned on the clock; meshbench's sliding_window weighs the previous window in (at most the same count, without the burst at window edges)")
		if scope == "route" || scope == "service" {
			for _, gr := range routes {
				for _, n := range gr.nodes {
					n.Set("rateLimit", rl)
				}
			}
		} else {
			for _, k := range rl.Keys() {
				im.policy("rateLimit."+k, rl.Get(k), cp+"."+pr.key, label)
			}
		}
	}
	// The longest of day/month is the quota.
	qset := false
	for _, key := range []string{"month", "day"} {
		v, ok := cfg[key]
		if !ok || v == nil {
			continue
		}
		f, ok := num(v)
		if !ok || f != math.Trunc(f) {
			bad(key, "a whole number")
			return
		}
		if qset {
			im.note(cp+"."+key, label, importer.Unsupported, "meshbench has one quota: the month's is imported, the day's is left out")
			continue
		}
		qset = true
		if old := im.res.Policy.Get("quota"); old != nil {
			im.note(cp+"."+key, label, importer.Unsupported, "meshbench has one quota (policy.quota): it keeps %s; this plugin's day and month limits are left out", old.Flat())
			break
		}
		q := importer.Map()
		q.Set("limit", importer.Int(int64(f)).With(im.doc.Where(cp+"."+key)))
		q.Set("period", importer.Str(key))
		q.Set("key", importer.Str(quotaKey).With(im.doc.Where(cp+".limit_by")))
		if scope != "global" {
			var names []string
			for _, gr := range routes {
				names = append(names, gr.names...)
			}
			q.Set("routes", importer.Strs(names...))
		}
		for _, k := range q.Keys() {
			im.policy("quota."+k, q.Get(k), cp+"."+key, label)
		}
	}
	if v, ok := cfg["error_code"]; ok {
		if f, _ := num(v); f != 429 {
			im.note(cp+".error_code", label, importer.Approximated, "meshbench answers 429 when a limit refuses a request")
		}
	}
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.6f", f), "0"), ".")
}

package secure

import (
	"fmt"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/guard"
	"github.com/meshbench/meshbench/proxy/quota"
)

// Names of the access and quota route middlewares (proxy/guard).
const (
	// MiddlewareIPRestriction admits or refuses by client address
	// (params: proxy/access.IPRestrictionConfig).
	MiddlewareIPRestriction = "ipRestriction"
	// MiddlewareACL admits or refuses the authenticated consumer by its
	// groups (params: proxy/access.ACLConfig). Put it after auth.
	MiddlewareACL = "acl"
	// MiddlewareQuota counts each consumer's requests per renewal period
	// (params: QuotaParams). Put it after auth.
	MiddlewareQuota = "quota"
)

// QuotaParams are the params of the quota middleware.
type QuotaParams struct {
	quota.Config `yaml:",inline"`
	// Key is consumer (the authenticated consumer, else the client
	// address, as Kong's limit_by consumer falls back) or ip (default
	// consumer).
	Key string `yaml:"key,omitempty"`
	// Name shares one quota between the routes that name it with the same
	// limit and period (default: the route's own).
	Name string `yaml:"name,omitempty"`
}

// quotaKey names a shared quota.
type quotaKey struct {
	name   string
	config quota.Config
}

func (l *layer) refuse(route string) guard.Refuse {
	return func(w http.ResponseWriter, r *http.Request, status int, reason string, retryAfter time.Duration) {
		if status == http.StatusTooManyRequests {
			l.proxy.RefuseRateLimited(w, r, route, reason, retryAfter)
			return
		}
		l.proxy.RecordRejection(r, route, reason)
		guard.PlainRefuse(proxy.HeaderReason)(w, r, status, reason, retryAfter)
	}
}

func (l *layer) ipRestrictionFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var c access.IPRestrictionConfig
	if err := proxy.DecodeParams(params, &c); err != nil {
		return nil, err
	}
	p, err := access.NewIPRestriction(c)
	if err != nil {
		return nil, err
	}
	return guard.IPRestriction(p, l.refuse(route)), nil
}

func (l *layer) aclFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var c access.ACLConfig
	if err := proxy.DecodeParams(params, &c); err != nil {
		return nil, err
	}
	a, err := access.NewACL(c)
	if err != nil {
		return nil, err
	}
	return guard.ACL(a, auth.ConsumerKey, l.refuse(route)), nil
}

// quotaFactory keeps a quota's counts across reloads while its name, limit
// and period stay the same.
func (l *layer) quotaFactory(route string, params map[string]any) (proxy.Middleware, error) {
	var p QuotaParams
	if err := proxy.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	key := consumerOrIP
	switch p.Key {
	case "", "consumer":
	case "ip":
		key = func(r *http.Request) string { return "ip:" + guard.ClientAddr(r).String() }
	default:
		return nil, fmt.Errorf("quota: key %q: want consumer or ip", p.Key)
	}
	name := p.Name
	if name == "" {
		name = "route:" + route
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := quotaKey{name, p.Config}
	q := l.quotas[k]
	if q == nil {
		var err error
		if q, err = quota.New(p.Config); err != nil {
			return nil, err
		}
		l.quotas[k] = q
	}
	return guard.Quota(q, key, l.clock, l.refuse(route)), nil
}

// consumerOrIP is the authenticated consumer, or the client address of an
// anonymous request.
func consumerOrIP(r *http.Request) string {
	if c := auth.ConsumerKey(r); c != "" {
		return c
	}
	return "ip:" + guard.ClientAddr(r).String()
}

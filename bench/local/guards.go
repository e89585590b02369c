package local

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/access"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/guard"
	"github.com/meshbench/meshbench/proxy/quota"
	"github.com/meshbench/meshbench/scenarios"
)

// Route middlewares of the gateway's access policies and quota
// (proxy/guard), after authentication and before the fault filter.
const (
	mwIPRestriction = "meshbench_ip_restriction"
	mwACL           = "meshbench_acl"
	mwQuota         = "meshbench_quota"
)

// guards are the gateway's quota, shared by the routes it counts on, and
// the clock it counts with: the quota's virtual calendar (scenarios.Quota.At)
// from the start of the run's timeline (StartClock), or from when the
// gateway started until then.
type guards struct {
	quota *quota.Quota // nil: no quota block
	spec  *scenarios.Quota
	epoch atomic.Int64 // the timeline's start, in Unix nanoseconds
}

// clock is the time on the quota's calendar.
func (g *guards) clock() time.Time {
	since := time.Duration(time.Now().UnixNano() - g.epoch.Load())
	return g.spec.At(max(since, 0))
}

// guardMiddlewares adds the routes' ipRestriction, acl and quota
// middlewares to cfg, in Kong's order (ip-restriction, acl,
// rate-limiting, all after authentication), and returns the options that
// register them.
func (e *env) guardMiddlewares(cfg *config.Config) ([]proxy.Option, error) {
	g := &guards{spec: e.pol.Quota}
	g.epoch.Store(time.Now().UnixNano())
	e.guards = g
	if g.spec != nil {
		var err error
		if g.quota, err = quota.New(dataplane.Quota(g.spec)); err != nil {
			return nil, fmt.Errorf("quota: %w", err)
		}
	}
	for i, r := range e.plan.Gateway.Routes {
		mws := &cfg.Routes[i].Middlewares
		if r.IPRestriction != nil {
			*mws = append(*mws, config.MiddlewareConfig{Name: mwIPRestriction})
		}
		if r.ACL != nil {
			*mws = append(*mws, config.MiddlewareConfig{Name: mwACL})
		}
		if e.pol.QuotaOf(r.Name) != nil {
			*mws = append(*mws, config.MiddlewareConfig{Name: mwQuota})
		}
	}
	refuse := guard.PlainRefuse(load.HeaderReason)
	return []proxy.Option{
		proxy.WithMiddleware(mwIPRestriction, func(route string, _ map[string]any) (proxy.Middleware, error) {
			r := e.plan.Gateway.Route(route)
			if r == nil || r.IPRestriction == nil {
				return nil, fmt.Errorf("route %s has no ipRestriction", route)
			}
			p, err := access.NewIPRestriction(dataplane.IPRestriction(r.IPRestriction))
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", route, err)
			}
			return guard.IPRestriction(p, refuse), nil
		}),
		proxy.WithMiddleware(mwACL, func(route string, _ map[string]any) (proxy.Middleware, error) {
			r := e.plan.Gateway.Route(route)
			if r == nil || r.ACL == nil {
				return nil, fmt.Errorf("route %s has no acl", route)
			}
			a, err := access.NewACL(dataplane.ACL(&e.plan.Topology, e.plan.Load, r.ACL))
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", route, err)
			}
			return guard.ACL(a, auth.ConsumerKey, refuse), nil
		}),
		proxy.WithMiddleware(mwQuota, func(route string, _ map[string]any) (proxy.Middleware, error) {
			if g.quota == nil || e.pol.QuotaOf(route) == nil {
				return nil, fmt.Errorf("route %s has no quota", route)
			}
			key := g.spec.Key
			return guard.Quota(g.quota, func(r *http.Request) string {
				c, ok := auth.ConsumerFrom(r.Context())
				return dataplane.QuotaKey(key, c, ok, guard.ClientAddr(r))
			}, g.clock, refuse), nil
		}),
	}, nil
}

// StartClock starts the gateway's quota calendar at epoch, the start of
// the run's timeline, so that the quota's windows turn at the times they
// turn in the simulator.
func (m *Mesh) StartClock(epoch time.Time) {
	if g := m.e.guards; g != nil {
		g.epoch.Store(epoch.UnixNano())
	}
}

package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// builder turns a configuration into a snapshot. What the configuration
// means is proxy/config's: Validate checks it, and the Policies and Compile
// methods build its policy objects, matches and rewrites. The builder adds
// what only a running proxy has — connection pools and the transport and
// TLS hooks, discovery providers and their first lookup, middleware chains
// — and collects every problem instead of stopping at the first.
type builder struct {
	env   *env
	opts  *options
	errs  []error
	reuse map[string]*cluster // clusters of the running snapshot, by name
	fresh []*cluster          // clusters built anew, to start
	seed  uint64
	// edgeTLS, on Reload, is whether the running listener terminates the
	// tls section's TLS; nil on New.
	edgeTLS *bool
}

// resolveTimeout bounds the first discovery lookup of a new cluster.
const resolveTimeout = 5 * time.Second

func (b *builder) build(cfg config.Config) (*snapshot, error) {
	cfg = config.Defaults(cfg)
	if err := config.Validate(cfg); err != nil {
		// Nothing is built from an invalid configuration, but the
		// middlewares' factories are still asked about their params, so
		// that one refusal names every problem.
		b.errs = append(b.errs, err)
		b.checkMiddlewares(cfg)
		return nil, errors.Join(b.errs...)
	}
	s := &snapshot{cfg: cfg, clusters: map[string]*cluster{}, drained: make(chan struct{})}
	s.refs.Store(1)
	for i, cc := range cfg.Clusters {
		if c := b.cluster(cc, fmt.Sprintf("clusters[%d]", i)); c != nil {
			s.clusters[cc.Name] = c
			s.order = append(s.order, c)
		}
	}
	slices.SortFunc(s.order, func(a, c *cluster) int { return strings.Compare(a.name, c.name) })
	shared, err := cfg.SharedPolicies() // every gateway route's, before its own
	b.addUnder("", err)
	for i, rc := range cfg.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		rt := b.newRoute(rc.Name)
		rt.match, err = rc.Match.Compile()
		b.addUnder(p+".match", err)
		rt.rewrite, err = rc.Rewrite.Compile(rc.Match)
		b.addUnder(p+".rewrite", err)
		rt.norm, err = rc.PathNormalization.Compile()
		b.addUnder(p+".pathNormalization", err)
		b.destination(rt, s, rc.Cluster, rc.Split)
		b.policy(rt, rc.Policy, shared, p)
		s.routes = append(s.routes, rt)
	}
	b.sidecar(s, cfg.Sidecar)
	s.admin = b.adminAccess(cfg.AdminAccess)
	b.edge(s, cfg.TLS)
	if !b.opts.noFastPath {
		for _, rt := range s.allRoutes() {
			rt.fast = fastRoute(rt)
		}
	}
	if len(b.errs) > 0 {
		for _, c := range b.fresh {
			c.transport.CloseIdleConnections()
		}
		return nil, errors.Join(b.errs...)
	}
	return s, nil
}

// add records a problem at a key path.
func (b *builder) add(path string, err error) {
	b.errs = append(b.errs, &config.ConfigError{Path: path, Err: err})
}

// addUnder records the problems in err, whose key paths are relative to
// prefix; nothing for nil.
func (b *builder) addUnder(prefix string, err error) {
	if err != nil {
		b.errs = append(b.errs, config.Under(prefix, err))
	}
}

// destination points a route at its cluster or its weighted split.
// Validate has checked the names; a cluster missing here failed to build
// and has been reported.
func (b *builder) destination(rt *route, s *snapshot, name string, split []config.SplitConfig) {
	if name != "" {
		split = []config.SplitConfig{{Cluster: name, Weight: 1}}
	}
	for _, sp := range split {
		if c := s.clusters[sp.Cluster]; c != nil {
			rt.clusters = append(rt.clusters, c)
			rt.lc.Clusters = append(rt.lc.Clusters, &c.lc)
			rt.lc.Weights = append(rt.lc.Weights, sp.Weight)
		}
	}
}

// newRoute makes a route whose lifecycle reports to it.
func (b *builder) newRoute(name string) *route {
	rt := &route{name: name, env: b.env}
	rt.lc.Name, rt.lc.Observe = name, rt.observe
	return rt
}

// policy gives a route the policy objects of pol, under the shared ones,
// and its middlewares.
func (b *builder) policy(rt *route, pol config.Policy, shared config.SharedPolicies, p string) {
	rp, err := pol.Policies()
	b.addUnder(p, err)
	rp = shared.Apply(rp)
	rt.lc.Timeout, rt.lc.Retry, rt.lc.Budget, rt.lc.Hedger, rt.lc.Limits = rp.Timeout, rp.Retry, rp.Budget, rp.Hedger, rp.Limits
	rt.bufferBytes, rt.replays, rt.consumerHdr = rp.BufferBytes, rp.Replays, rp.ConsumerHeader
	rt.hashKey = rp.HashKey
	rt.useHashKey = rt.hashKey != (balancer.HashKey{})
	if len(rt.clusters) > 0 {
		if err := rt.lc.Check(); err != nil {
			b.add(p, err)
		}
	}
	if len(pol.Middlewares) > 0 {
		var h http.Handler = http.HandlerFunc(rt.serveFromContext)
		chain := b.middlewares(rt.name, pol.Middlewares, p)
		checks := make([]HeadChecker, len(chain))
		for i := len(chain) - 1; i >= 0; i-- {
			h = chain[i](h)
			if hc, ok := h.(HeadChecker); ok && checks != nil {
				checks[i] = hc
			} else {
				checks = nil
			}
		}
		rt.handler, rt.checks = h, checks
	}
}

// middlewares asks the registered factories for a route's middlewares,
// outermost first.
func (b *builder) middlewares(route string, mws []config.MiddlewareConfig, p string) []Middleware {
	var chain []Middleware
	for i, mc := range mws {
		mp := fmt.Sprintf("%s.middlewares[%d]", p, i)
		f := b.opts.middlewares[mc.Name]
		if f == nil {
			b.add(mp+".name", fmt.Errorf("unknown middleware %q (registered: %s)", mc.Name, strings.Join(b.middlewareNames(), ", ")))
			continue
		}
		mw, err := f(route, mc.Params)
		if err != nil {
			b.add(mp+".params", err)
			continue
		}
		chain = append(chain, mw)
	}
	return chain
}

// checkMiddlewares asks for the middlewares of every route of an invalid
// configuration, for their errors alone.
func (b *builder) checkMiddlewares(cfg config.Config) {
	for i, rc := range cfg.Routes {
		b.middlewares(rc.Name, rc.Middlewares, fmt.Sprintf("routes[%d]", i))
	}
	for i, o := range cfg.Sidecar.Outbound {
		if o.Service != "" {
			b.middlewares(o.Service, o.Middlewares, fmt.Sprintf("sidecar.outbound[%d]", i))
		}
	}
	if in := cfg.Sidecar.Inbound; in.Cluster != "" {
		b.middlewares("inbound", in.Middlewares, "sidecar.inbound")
	}
}

func (b *builder) middlewareNames() []string {
	var names []string
	for n := range b.opts.middlewares {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// sidecar builds the sidecar's service table and inbound route.
func (b *builder) sidecar(s *snapshot, sc config.SidecarConfig) {
	t := &sidecarTable{domains: sc.Domains, pathPrefix: sc.PathPrefix, services: map[string]*route{}}
	for _, c := range s.order {
		rt := b.newRoute(c.name)
		rt.clusters, rt.lc.Clusters = []*cluster{c}, []*lifecycle.Cluster{&c.lc}
		b.policy(rt, config.Policy{}, config.SharedPolicies{}, "sidecar")
		t.services[strings.ToLower(c.name)] = rt
	}
	for i, o := range sc.Outbound {
		rt := b.newRoute(o.Service)
		b.destination(rt, s, o.Cluster, nil)
		b.policy(rt, o.Policy, config.SharedPolicies{}, fmt.Sprintf("sidecar.outbound[%d]", i))
		t.services[strings.ToLower(o.Service)] = rt
	}
	s.sidecar = t
	if sc.Inbound.Cluster != "" {
		rt := b.newRoute("inbound")
		b.destination(rt, s, sc.Inbound.Cluster, nil)
		b.policy(rt, sc.Inbound.Policy, config.SharedPolicies{}, "sidecar.inbound")
		s.inbound = rt
	}
}

// cluster builds one cluster, or reuses the running one when its
// configuration did not change, so a reload keeps its connections, endpoint
// health, ejections and balancer state.
func (b *builder) cluster(cc config.ClusterConfig, p string) *cluster {
	if old := b.reuse[cc.Name]; old != nil && reflect.DeepEqual(old.cfg, cc) {
		return old
	}
	pol, err := cc.Policies(b.streams(cc.Name))
	if err != nil {
		b.addUnder(p, err)
		return nil
	}
	c := &cluster{name: cc.Name, cfg: cc, env: b.env, eps: map[string]*endpoint{}, wake: make(chan struct{}, 1)}
	c.lc.Name, c.lc.Observe = cc.Name, c.observe
	c.lc.Balancer, c.lc.Admission, c.lc.Breaker = pol.Balancer, pol.Admission, pol.Breaker
	c.lc.Outlier, c.lc.Concurrency = pol.Outlier, pol.Concurrency
	c.health, c.hcOK = pol.Health, pol.HealthyStatuses
	c.rng = rand.New(rand.NewPCG(b.seed, hashString(cc.Name)))
	c.provider = b.provider(cc)
	c.scheme = "http"
	if cc.Protocol == config.ProtocolHTTPS {
		c.scheme = "https"
	}
	c.transport = newTransport(cc, c.lc.Admission, b.clusterTLS(cc, p))
	c.rt = c.transport
	if b.opts.transport != nil {
		rt, err := b.opts.transport(cc.Name, c.transport)
		if err != nil {
			b.add(p, fmt.Errorf("transport hook: %w", err))
			return nil
		}
		if rt != nil {
			c.rt = rt
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	eps, err := c.provider.Resolve(ctx)
	cancel()
	switch {
	case errors.Is(err, discovery.ErrInvalid):
		b.add(p+".discovery", err)
		return nil
	case err != nil:
		b.env.log.Warn("initial discovery failed; the cluster starts empty", "cluster", cc.Name, "err", err)
	default:
		c.update(eps)
	}
	b.fresh = append(b.fresh, c)
	return c
}

// streams derives a cluster's random streams from the proxy's seed and the
// cluster's name, beside the cluster's own (c.rng, for health-check
// jitter): outlier detection's one step on, the concurrency limiter's two.
func (b *builder) streams(cluster string) config.Streams {
	h := hashString(cluster)
	return func(name string) *rand.Rand {
		off := hashString(name)
		switch name {
		case config.StreamOutlier:
			off = 1
		case config.StreamConcurrency:
			off = 2
		}
		return rand.New(rand.NewPCG(b.seed, h+off))
	}
}

// provider makes the cluster's discovery provider; Validate has checked
// its fields.
func (b *builder) provider(cc config.ClusterConfig) discovery.Provider {
	d, log := cc.Discovery, b.env.log
	if d == nil {
		return discovery.Static(cc.Endpoints)
	}
	switch d.Type {
	case "file":
		return &discovery.File{Path: d.Path, Log: log}
	case "dns":
		return &discovery.DNS{Resolver: b.opts.resolver, Host: d.Host, Port: d.Port, SRV: d.SRV, Service: d.Service, Proto: d.Proto, Zone: d.Zone, Interval: d.Interval.D(), Log: log}
	case "registry":
		svc := d.Service
		if svc == "" {
			svc = cc.Name
		}
		return &discovery.Registry{Client: &discovery.Client{BaseURL: d.URL, HTTP: registryHTTPClient}, Service: svc, Interval: d.Interval.D(), Log: log}
	}
	return discovery.Static(cc.Endpoints)
}

// registryHTTPClient polls registries with a bounded timeout.
var registryHTTPClient = &http.Client{Timeout: 5 * time.Second}

func (b *builder) clusterTLS(cc config.ClusterConfig, p string) *tls.Config {
	if cc.Protocol != config.ProtocolHTTPS || b.opts.clusterTLS == nil {
		return nil
	}
	cfg, err := b.opts.clusterTLS(cc.Name)
	if err != nil {
		b.add(p, fmt.Errorf("cluster TLS: %w", err))
	}
	return cfg
}

// hashString is FNV-1a, for deriving per-cluster random streams from the
// proxy's seed.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// edge reads the tls section's files into the snapshot, the listener's
// certificates for the handshakes after it is applied.
func (b *builder) edge(s *snapshot, sec *config.TLSConfig) {
	if b.edgeTLS != nil && *b.edgeTLS != (sec != nil) {
		b.add("tls", errors.New("cannot be added or removed by a reload: the listener is already serving; restart the proxy"))
		return
	}
	if sec == nil {
		return
	}
	if b.opts.serverTLS != nil {
		b.add("tls", errors.New("the listener already terminates mutual TLS (proxy/secure's security.listener, or WithServerTLS): a listener terminates one TLS, so set one of them"))
		return
	}
	set, err := loadEdgeTLS(*sec)
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	s.tls = set
}

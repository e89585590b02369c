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
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/health"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// builder compiles a Config into a snapshot, collecting every problem
// instead of stopping at the first.
type builder struct {
	env   *env
	opts  *options
	errs  fieldErrors
	dry   bool                // validation only: no network lookups
	reuse map[string]*cluster // clusters of the running snapshot, by name
	bad   map[string]bool     // clusters that failed to build: no "unknown cluster" noise
	fresh []*cluster          // clusters built anew, to start
	seed  uint64
}

// resolveTimeout bounds the first discovery lookup of a new cluster.
const resolveTimeout = 5 * time.Second

func (b *builder) build(cfg Config) (*snapshot, error) {
	cfg = withDefaults(cfg)
	s := &snapshot{cfg: cfg, clusters: map[string]*cluster{}, drained: make(chan struct{})}
	s.refs.Store(1)
	switch cfg.Mode {
	case ModeGateway, ModeSidecar:
	default:
		b.errs.add("mode", fmt.Errorf("unknown mode %q: want gateway or sidecar", cfg.Mode))
	}
	if cfg.Server.MaxBodyBytes < -1 {
		b.errs.add("server.maxBodyBytes", fmt.Errorf("must be positive, or -1 for unlimited"))
	}
	if cfg.Server.MaxHeaderBytes < 0 {
		b.errs.add("server.maxHeaderBytes", fmt.Errorf("must be positive"))
	}
	for i, cc := range cfg.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		if cc.Name == "" {
			b.errs.add(p+".name", fmt.Errorf("cluster name is required"))
			continue
		}
		if _, dup := s.clusters[cc.Name]; dup {
			b.errs.add(p+".name", fmt.Errorf("duplicate cluster %q", cc.Name))
			continue
		}
		if c := b.cluster(cc, p); c != nil {
			s.clusters[cc.Name] = c
			s.order = append(s.order, c)
		} else {
			if b.bad == nil {
				b.bad = map[string]bool{}
			}
			b.bad[cc.Name] = true
		}
	}
	slices.SortFunc(s.order, func(a, c *cluster) int { return strings.Compare(a.name, c.name) })

	names := map[string]bool{}
	for i, rc := range cfg.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if names[rc.Name] {
			b.errs.add(p+".name", fmt.Errorf("duplicate route %q", rc.Name))
		}
		names[rc.Name] = true
		rt := b.newRoute(rc.Name)
		rt.match = compileMatch(rc.Match, &b.errs, p+".match")
		rt.rewrite = compileRewrite(rc.Rewrite, rc.Match, &b.errs, p+".rewrite")
		b.destination(rt, s, rc.Cluster, rc.Split, p)
		b.policy(rt, rc.Policy, p)
		s.routes = append(s.routes, rt)
	}
	if cfg.Mode == ModeGateway && len(cfg.Routes) == 0 {
		b.errs.add("routes", fmt.Errorf("gateway mode needs at least one route"))
	}
	b.sidecar(s, cfg.Sidecar)
	if b.opts == nil || !b.opts.noFastPath {
		for _, rt := range s.allRoutes() {
			rt.fast = fastRoute(rt)
		}
	}

	if err := b.errs.err(); err != nil {
		for _, c := range b.fresh {
			c.transport.CloseIdleConnections()
		}
		return nil, err
	}
	return s, nil
}

// destination resolves a route's cluster or weighted split.
func (b *builder) destination(rt *route, s *snapshot, name string, split []SplitConfig, p string) {
	switch {
	case name != "" && len(split) > 0:
		b.errs.add(p, fmt.Errorf("set cluster or split, not both"))
	case name != "":
		c := s.clusters[name]
		if c == nil {
			if !b.bad[name] {
				b.errs.add(p+".cluster", fmt.Errorf("unknown cluster %q", name))
			}
			return
		}
		rt.clusters = []*cluster{c}
		rt.lc.Clusters = []*lifecycle.Cluster{&c.lc}
	case len(split) > 0:
		for i, sp := range split {
			c := s.clusters[sp.Cluster]
			if c == nil && b.bad[sp.Cluster] {
				continue
			}
			if c == nil {
				b.errs.add(fmt.Sprintf("%s.split[%d].cluster", p, i), fmt.Errorf("unknown cluster %q", sp.Cluster))
				continue
			}
			if sp.Weight <= 0 {
				b.errs.add(fmt.Sprintf("%s.split[%d].weight", p, i), fmt.Errorf("weight must be positive"))
				continue
			}
			rt.clusters = append(rt.clusters, c)
			rt.lc.Clusters = append(rt.lc.Clusters, &c.lc)
			rt.lc.Weights = append(rt.lc.Weights, sp.Weight)
		}
	default:
		b.errs.add(p, fmt.Errorf("a route needs a cluster or a split"))
	}
}

// newRoute makes a route whose lifecycle reports to it.
func (b *builder) newRoute(name string) *route {
	rt := &route{name: name, env: b.env}
	rt.lc.Name, rt.lc.Observe = name, rt.observe
	return rt
}

// policy compiles what a route applies to its requests.
func (b *builder) policy(rt *route, pol Policy, p string) {
	defer func() {
		if len(rt.clusters) > 0 {
			if err := rt.lc.Check(); err != nil {
				b.errs.add(p, err)
			}
		}
	}()
	if pol.Timeout > 0 {
		rt.lc.Timeout = pol.Timeout.D()
	}
	r := pol.Retry
	if r.Attempts < 0 {
		b.errs.add(p+".retry.attempts", fmt.Errorf("must not be negative"))
	}
	if r.Attempts > 1 || r.PerTryTimeout > 0 {
		rp := &retry.Policy{
			Attempts:             max(r.Attempts, 1),
			RetryOn:              r.RetryOn,
			RetriableStatusCodes: r.RetriableStatusCodes,
			PerTryTimeout:        r.PerTryTimeout.D(),
			Backoff:              retry.Backoff{Base: r.BackoffBase.D(), Max: r.BackoffMax.D()},
		}
		if err := rp.Validate(); err != nil {
			b.errs.add(p+".retry", err)
		}
		rt.lc.Retry = rp
	}
	rt.bufferBytes = r.BufferBytes
	if pol.Hedge.Delay > 0 {
		h, err := retry.NewHedger(retry.HedgeConfig{Delay: pol.Hedge.Delay.D(), Percentile: pol.Hedge.Percentile, MaxHedges: pol.Hedge.MaxHedges})
		if err != nil {
			b.errs.add(p+".hedge", err)
		}
		rt.lc.Hedger = h
	} else if pol.Hedge.Percentile != 0 || pol.Hedge.MaxHedges != 0 {
		b.errs.add(p+".hedge.delay", fmt.Errorf("hedging needs a positive delay"))
	}
	rt.replays = (rt.lc.Retry != nil && rt.lc.Retry.Attempts > 1) || rt.lc.Hedger != nil
	if r.Budget != nil && rt.replays {
		bg, err := retry.NewBudget(retry.BudgetConfig{Ratio: r.Budget.Ratio, MinPerSecond: r.Budget.MinPerSecond, TTL: r.Budget.TTL.D()})
		if err != nil {
			b.errs.add(p+".retry.budget", err)
		}
		rt.lc.Budget = bg
	}
	if rl := pol.RateLimit; rl != nil {
		l, err := ratelimit.New(rl.limiterConfig())
		if err != nil {
			b.errs.add(p+".rateLimit", err)
		}
		rt.lc.Limits = append(rt.lc.Limits, lifecycle.Limit{Limiter: l, Reason: ReasonRateLimited})
	}
	if crl := pol.ConsumerRateLimit; crl != nil {
		cfg := crl.limiterConfig()
		cfg.MaxKeys, cfg.IdleTTL = crl.MaxKeys, crl.IdleTTL.D()
		k, err := ratelimit.NewKeyed(cfg)
		if err != nil {
			b.errs.add(p+".consumerRateLimit", err)
		}
		rt.lc.Limits = append(rt.lc.Limits, lifecycle.Limit{Keyed: k, Reason: ReasonConsumerLimited})
		switch {
		case crl.Key == "ip":
		case strings.HasPrefix(crl.Key, "header:") && len(crl.Key) > len("header:"):
			rt.consumerHdr = http.CanonicalHeaderKey(strings.TrimPrefix(crl.Key, "header:"))
		default:
			b.errs.add(p+".consumerRateLimit.key", fmt.Errorf("want \"ip\" or \"header:<Name>\", got %q", crl.Key))
		}
	}
	rt.hashKey = balancer.HashKey{Header: pol.HashKey.Header, Cookie: pol.HashKey.Cookie, SourceIP: pol.HashKey.SourceIP}
	rt.useHashKey = rt.hashKey != (balancer.HashKey{})
	if len(pol.Middlewares) > 0 {
		var chain []Middleware
		for i, mc := range pol.Middlewares {
			mp := fmt.Sprintf("%s.middlewares[%d]", p, i)
			if b.opts == nil {
				continue
			}
			f := b.opts.middlewares[mc.Name]
			if f == nil {
				b.errs.add(mp+".name", fmt.Errorf("unknown middleware %q (registered: %s)", mc.Name, strings.Join(b.middlewareNames(), ", ")))
				continue
			}
			mw, err := f(rt.name, mc.Params)
			if err != nil {
				b.errs.add(mp+".params", err)
				continue
			}
			chain = append(chain, mw)
		}
		var h http.Handler = http.HandlerFunc(rt.serveFromContext)
		for i := len(chain) - 1; i >= 0; i-- {
			h = chain[i](h)
		}
		rt.handler = h
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

func (rl RateLimitConfig) limiterConfig() ratelimit.Config {
	return ratelimit.Config{Type: rl.Type, Rate: rl.Rate, Burst: rl.Burst, Window: rl.Window.D(), Limit: rl.Limit}
}

// sidecar builds the sidecar's service table and inbound route.
func (b *builder) sidecar(s *snapshot, sc SidecarConfig) {
	t := &sidecarTable{domains: sc.Domains, pathPrefix: sc.PathPrefix, services: map[string]*route{}}
	for _, c := range s.order {
		rt := b.newRoute(c.name)
		rt.clusters, rt.lc.Clusters = []*cluster{c}, []*lifecycle.Cluster{&c.lc}
		b.policy(rt, policyDefaults(Policy{}), "sidecar")
		t.services[strings.ToLower(c.name)] = rt
	}
	for i, o := range sc.Outbound {
		p := fmt.Sprintf("sidecar.outbound[%d]", i)
		if o.Service == "" {
			b.errs.add(p+".service", fmt.Errorf("service name is required"))
			continue
		}
		rt := b.newRoute(o.Service)
		b.destination(rt, s, o.Cluster, nil, p)
		b.policy(rt, o.Policy, p)
		t.services[strings.ToLower(o.Service)] = rt
	}
	s.sidecar = t
	if sc.Inbound.Cluster != "" {
		rt := b.newRoute("inbound")
		b.destination(rt, s, sc.Inbound.Cluster, nil, "sidecar.inbound")
		b.policy(rt, sc.Inbound.Policy, "sidecar.inbound")
		s.inbound = rt
	} else if sc.Inbound.Listen != "" {
		b.errs.add("sidecar.inbound.cluster", fmt.Errorf("an inbound listener needs the local cluster"))
	}
}

// cluster builds one cluster, or reuses the running one when its
// configuration did not change, so a reload keeps its connections, endpoint
// health, ejections and balancer state.
func (b *builder) cluster(cc ClusterConfig, p string) *cluster {
	if old := b.reuse[cc.Name]; old != nil && reflect.DeepEqual(old.cfg, cc) {
		return old
	}
	c := &cluster{name: cc.Name, cfg: cc, env: b.env, eps: map[string]*endpoint{}, wake: make(chan struct{}, 1)}
	c.lc.Name, c.lc.Observe = cc.Name, c.observe
	c.rng = rand.New(rand.NewPCG(b.seed, hashString(cc.Name)))
	nerr := len(b.errs.list)
	bc := cc.Balancer
	bcfg := balancer.Config{Type: bc.Type, Choices: bc.Choices, ActiveRequestBias: bc.ActiveRequestBias, DecayTime: bc.DecayTime.D(),
		DefaultRTT: bc.DefaultRTT.D(), MinRingSize: bc.MinRingSize, MaxRingSize: bc.MaxRingSize, TableSize: bc.TableSize}
	if bc.SlowStart != nil {
		bcfg.SlowStart = balancer.SlowStart{Window: bc.SlowStart.Window.D(), Aggression: bc.SlowStart.Aggression, MinWeightPercent: bc.SlowStart.MinWeightPercent}
	}
	if bc.Locality != nil {
		bcfg.Locality = balancer.Locality{Enabled: true, LocalZone: bc.Locality.LocalZone, OverprovisioningFactor: bc.Locality.OverprovisioningFactor}
	}
	bal, err := balancer.New(bcfg)
	if err != nil {
		b.errs.add(p+".balancer", err)
	}
	c.lc.Balancer = bal
	t := cc.Thresholds
	c.lc.Admission = breaker.NewAdmission(breaker.Thresholds{MaxConnections: t.MaxConnections, MaxPending: t.MaxPending, MaxRequests: t.MaxRequests, MaxRetries: t.MaxRetries})
	if bk := cc.CircuitBreaker; bk != nil {
		br, err := breaker.New(breaker.Config{FailureRatio: bk.FailureRatio, MinRequests: bk.MinRequests, ConsecutiveFailures: bk.ConsecutiveFailures,
			Window: bk.Window.D(), Buckets: bk.Buckets, SleepWindow: bk.SleepWindow.D(), HalfOpenProbes: bk.HalfOpenProbes})
		if err != nil {
			b.errs.add(p+".circuitBreaker", err)
		}
		c.lc.Breaker = br
	}
	if oc := cc.Outlier; oc != nil {
		d, err := outlier.New(oc.detectorConfig(rand.New(rand.NewPCG(b.seed, hashString(cc.Name)+1))))
		if err != nil {
			b.errs.add(p+".outlier", err)
		}
		c.lc.Outlier = d
	}
	if hc := cc.HealthCheck; hc != nil {
		tr, err := health.New(health.Config{Interval: hc.Interval.D(), Timeout: hc.Timeout.D(), Jitter: hc.Jitter, InitialJitter: hc.InitialJitter.D(),
			HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold, Path: hc.Path, StartHealthy: hc.StartHealthy})
		if err != nil {
			b.errs.add(p+".healthCheck", err)
		}
		c.health = tr
		for i, s := range hc.ExpectedStatuses {
			r, err := parseStatusRange(s)
			if err != nil {
				b.errs.add(fmt.Sprintf("%s.healthCheck.expectedStatuses[%d]", p, i), err)
			}
			c.hcOK = append(c.hcOK, r)
		}
	}
	if kc := cc.Concurrency; kc != nil {
		if !ratelimit.IsConcurrency(kc.Type) {
			b.errs.add(p+".concurrency.type", fmt.Errorf("want concurrency or adaptive_concurrency, got %q", kc.Type))
		} else {
			l, err := ratelimit.NewConcurrencyLimiter(ratelimit.Config{Type: kc.Type, Limit: kc.Limit, MinLimit: kc.MinLimit, MaxLimit: kc.MaxLimit,
				SampleWindow: kc.SampleWindow.D(), Percentile: kc.Percentile, MinRTTInterval: kc.MinRTTInterval.D(), MinRTTSamples: kc.MinRTTSamples,
				MinRTTJitter: kc.MinRTTJitter, Buffer: kc.Buffer, Rand: rand.New(rand.NewPCG(b.seed, hashString(cc.Name)+2))})
			if err != nil {
				b.errs.add(p+".concurrency", err)
			}
			c.lc.Concurrency = l
		}
	}
	c.provider = b.provider(cc, p)

	switch cc.Protocol {
	case ProtocolHTTP1, ProtocolH2C:
		c.scheme = "http"
	case ProtocolHTTPS:
		c.scheme = "https"
	default:
		b.errs.add(p+".protocol", fmt.Errorf("unknown protocol %q: want http1, h2c or https", cc.Protocol))
	}
	if len(b.errs.list) > nerr {
		return nil
	}
	var tlsCfg = b.clusterTLS(cc, p)
	c.transport = newTransport(cc, c.lc.Admission, tlsCfg)
	c.rt = c.transport
	if b.opts != nil && b.opts.transport != nil {
		rt, err := b.opts.transport(cc.Name, c.transport)
		if err != nil {
			b.errs.add(p, fmt.Errorf("transport hook: %w", err))
			return nil
		}
		if rt != nil {
			c.rt = rt
		}
	}
	if !b.dry || isLocalProvider(c.provider) {
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		eps, err := c.provider.Resolve(ctx)
		cancel()
		switch {
		case errors.Is(err, discovery.ErrInvalid):
			b.errs.add(p+".discovery", err)
			return nil
		case err != nil:
			b.env.log.Warn("initial discovery failed; the cluster starts empty", "cluster", cc.Name, "err", err)
		case !b.dry:
			c.update(eps)
		}
	}
	if !b.dry {
		b.fresh = append(b.fresh, c)
	}
	return c
}

// provider builds the cluster's discovery provider.
func (b *builder) provider(cc ClusterConfig, p string) discovery.Provider {
	d := cc.Discovery
	if d == nil || d.Type == "static" {
		if d != nil && len(cc.Endpoints) == 0 {
			b.errs.add(p+".endpoints", fmt.Errorf("static discovery needs endpoints"))
		}
		return discovery.Static(cc.Endpoints)
	}
	if len(cc.Endpoints) > 0 {
		b.errs.add(p+".endpoints", fmt.Errorf("endpoints are only for static discovery, not %q", d.Type))
	}
	log := b.env.log
	switch d.Type {
	case "file":
		if d.Path == "" {
			b.errs.add(p+".discovery.path", fmt.Errorf("file discovery needs a path"))
		}
		return &discovery.File{Path: d.Path, Log: log}
	case "dns":
		if d.Host == "" {
			b.errs.add(p+".discovery.host", fmt.Errorf("dns discovery needs a host"))
		}
		if !d.SRV && (d.Port <= 0 || d.Port > 65535) {
			b.errs.add(p+".discovery.port", fmt.Errorf("dns discovery needs a port in 1..65535"))
		}
		var r discovery.Resolver
		if b.opts != nil {
			r = b.opts.resolver
		}
		return &discovery.DNS{Resolver: r, Host: d.Host, Port: d.Port, SRV: d.SRV, Service: d.Service, Proto: d.Proto, Zone: d.Zone, Interval: d.Interval.D(), Log: log}
	case "registry":
		if d.URL == "" {
			b.errs.add(p+".discovery.url", fmt.Errorf("registry discovery needs a url"))
		}
		svc := d.Service
		if svc == "" {
			svc = cc.Name
		}
		return &discovery.Registry{Client: &discovery.Client{BaseURL: d.URL, HTTP: registryHTTPClient}, Service: svc, Interval: d.Interval.D(), Log: log}
	default:
		b.errs.add(p+".discovery.type", fmt.Errorf("unknown discovery type %q: want static, file, dns or registry", d.Type))
		return discovery.Static(nil)
	}
}

// registryHTTPClient polls registries with a bounded timeout.
var registryHTTPClient = &http.Client{Timeout: 5 * time.Second}

func isLocalProvider(p discovery.Provider) bool {
	switch p.(type) {
	case discovery.Static, *discovery.File:
		return true
	}
	return false
}

func (b *builder) clusterTLS(cc ClusterConfig, p string) *tls.Config {
	if cc.Protocol != ProtocolHTTPS || b.opts == nil || b.opts.clusterTLS == nil {
		return nil
	}
	cfg, err := b.opts.clusterTLS(cc.Name)
	if err != nil {
		b.errs.add(p, fmt.Errorf("cluster TLS: %w", err))
	}
	return cfg
}

func (oc *OutlierConfig) detectorConfig(r *rand.Rand) outlier.Config {
	c := outlier.Config{
		Interval: oc.Interval.D(), BaseEjectionTime: oc.BaseEjectionTime.D(), MaxEjectionTime: oc.MaxEjectionTime.D(),
		MaxEjectionTimeJitter: oc.MaxEjectionTimeJitter.D(), MaxEjectionPercent: oc.MaxEjectionPercent, AlwaysEjectOneHost: oc.AlwaysEjectOneHost,
		Consecutive5xx: oc.Consecutive5xx, ConsecutiveGatewayFailure: oc.ConsecutiveGatewayFailure,
		EnforcingConsecutive5xx: oc.EnforcingConsecutive5xx, EnforcingConsecutiveGatewayFailure: oc.EnforcingConsecutiveGatewayFailure,
		SplitExternalLocalOriginErrors: oc.SplitExternalLocalOriginErrors, ConsecutiveLocalOriginFailure: oc.ConsecutiveLocalOriginFailure,
		EnforcingConsecutiveLocalOriginFailure: oc.EnforcingConsecutiveLocalOriginFailure,
		Rand:                                   r,
	}
	if sr := oc.SuccessRate; sr != nil {
		c.SuccessRate = outlier.SuccessRate{StdevFactor: sr.StdevFactor, MinimumHosts: sr.MinimumHosts, RequestVolume: sr.RequestVolume, Enforcing: sr.Enforcing, EnforcingLocalOrigin: sr.EnforcingLocalOrigin}
	}
	if fp := oc.FailurePercentage; fp != nil {
		c.FailurePercentage = outlier.FailurePercentage{Threshold: fp.Threshold, MinimumHosts: fp.MinimumHosts, RequestVolume: fp.RequestVolume, Enforcing: fp.Enforcing, EnforcingLocalOrigin: fp.EnforcingLocalOrigin}
	}
	return c
}

// parseStatusRange reads "200" or "200-299".
func parseStatusRange(s string) ([2]int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return [2]int{}, fmt.Errorf("bad status %q", s)
	}
	z := a
	if isRange {
		if z, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return [2]int{}, fmt.Errorf("bad status range %q", s)
		}
	}
	if a < 100 || z > 599 || a > z {
		return [2]int{}, fmt.Errorf("status range %q is not within 100-599", s)
	}
	return [2]int{a, z}, nil
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

func itoa(n int) string { return strconv.Itoa(n) }

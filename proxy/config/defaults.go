package config

import (
	"slices"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/proxy/retry"
)

// Defaults, in one place. They follow Envoy where Envoy has one (route
// timeout 15s, round robin, the retry budget of Linkerd and Finagle) and
// pick proxy-friendly values where net/http's would hurt (idle connections
// per host).
const (
	DefaultListen              = "127.0.0.1:10000"
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultIdleTimeout         = 60 * time.Second
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultMaxBodyBytes        = 10 << 20
	DefaultShutdownTimeout     = 30 * time.Second
	DefaultRouteTimeout        = 15 * time.Second
	DefaultBufferBytes         = 64 << 10
	DefaultBalancer            = "round_robin"
	DefaultConnectTimeout      = time.Second
	DefaultMaxIdleConns        = 1024
	DefaultMaxIdleConnsPerHost = 256
	DefaultIdleConnTimeout     = 90 * time.Second
	DefaultKeepAlive           = 30 * time.Second
	DefaultHealthPath          = "/healthz"
	DefaultRegistryTTL         = 30 * time.Second

	// DefaultBodyTimeout and DefaultSendTimeout are nginx's
	// client_body_timeout and send_timeout.
	DefaultBodyTimeout = 60 * time.Second
	DefaultSendTimeout = 60 * time.Second
	// DefaultMaxSlowConnections is half a cluster's default
	// maxConnections (Envoy's 1024): a slow client can hold an upstream
	// connection (a stalled body streams to one, an unread answer comes
	// from one), so slow clients together hold at most half of a
	// cluster's, and the others still serve fast clients. A healthy client
	// is seldom a second late mid-request, so few honest connections count.
	DefaultMaxSlowConnections = 512
)

// Defaults returns a copy of cfg with every zero value that has a default
// filled in; applying it again changes nothing. The caller's slices and
// pointers are not modified.
func Defaults(cfg Config) Config {
	if cfg.Mode == "" {
		cfg.Mode = ModeGateway
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	s := &cfg.Server
	setDur(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&s.IdleTimeout, DefaultIdleTimeout)
	setDur(&s.ShutdownTimeout, DefaultShutdownTimeout)
	if s.BodyTimeout == nil {
		s.BodyTimeout = ptr(Duration(DefaultBodyTimeout))
	}
	if s.SendTimeout == nil {
		s.SendTimeout = ptr(Duration(DefaultSendTimeout))
	}
	if s.MaxSlowConnections == nil {
		s.MaxSlowConnections = ptr(DefaultMaxSlowConnections)
	}
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	cfg.RateLimit = limitDefaults(cfg.RateLimit)
	cfg.ConsumerRateLimit = consumerDefaults(cfg.ConsumerRateLimit, "ip")
	cfg.Routes = slices.Clone(cfg.Routes)
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if r.Name == "" {
			r.Name = "route" + strconv.Itoa(i)
		}
		if shared := cfg.ConsumerRateLimit; shared != nil {
			r.ConsumerRateLimit = consumerDefaults(r.ConsumerRateLimit, shared.Key)
		}
		r.Policy = policyDefaults(r.Policy)
	}
	sc := &cfg.Sidecar
	sc.Outbound = slices.Clone(sc.Outbound)
	for i := range sc.Outbound {
		o := &sc.Outbound[i]
		if o.Cluster == "" {
			o.Cluster = o.Service
		}
		o.Policy = policyDefaults(o.Policy)
	}
	sc.Inbound.Policy = policyDefaults(sc.Inbound.Policy)
	cfg.Clusters = slices.Clone(cfg.Clusters)
	for i := range cfg.Clusters {
		cfg.Clusters[i] = clusterDefaults(cfg.Clusters[i])
	}
	setDur(&cfg.Registry.DefaultTTL, DefaultRegistryTTL)
	return cfg
}

func ptr[T any](v T) *T { return &v }

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func policyDefaults(p Policy) Policy {
	setDur(&p.Timeout, DefaultRouteTimeout)
	r := &p.Retry
	if r.Attempts > 1 && len(r.RetryOn) == 0 {
		r.RetryOn = []string{retry.OnGatewayError}
	}
	if r.BufferBytes == 0 {
		r.BufferBytes = DefaultBufferBytes
	}
	if r.Budget == nil && (r.Attempts > 1 || p.Hedge.Delay > 0) {
		d := retry.DefaultBudgetConfig()
		r.Budget = &BudgetConfig{Ratio: d.Ratio, MinPerSecond: d.MinPerSecond, TTL: Duration(d.TTL)}
	}
	p.RateLimit = limitDefaults(p.RateLimit)
	p.RateLimits = slices.Clone(p.RateLimits)
	for i := range p.RateLimits {
		p.RateLimits[i] = rateLimitDefaults(p.RateLimits[i])
	}
	p.ConsumerRateLimit = consumerDefaults(p.ConsumerRateLimit, "ip")
	return p
}

func rateLimitDefaults(rl RateLimitConfig) RateLimitConfig {
	if rl.Type == "" {
		rl.Type = "token_bucket"
	}
	return rl
}

// limitDefaults returns a copy of rl with defaults, or nil for nil.
func limitDefaults(rl *RateLimitConfig) *RateLimitConfig {
	if rl == nil {
		return nil
	}
	c := rateLimitDefaults(*rl)
	return &c
}

// consumerDefaults returns a copy of c with defaults, key the default key,
// or nil for nil.
func consumerDefaults(c *ConsumerRateLimitConfig, key string) *ConsumerRateLimitConfig {
	if c == nil {
		return nil
	}
	d := *c
	if d.Key == "" {
		d.Key = key
	}
	d.RateLimitConfig = rateLimitDefaults(d.RateLimitConfig)
	return &d
}

func clusterDefaults(c ClusterConfig) ClusterConfig {
	if c.Protocol == "" {
		c.Protocol = ProtocolHTTP1
	}
	if c.Balancer.Type == "" {
		c.Balancer.Type = DefaultBalancer
	}
	cc := &c.Connection
	setDur(&cc.ConnectTimeout, DefaultConnectTimeout)
	setDur(&cc.IdleConnTimeout, DefaultIdleConnTimeout)
	setDur(&cc.KeepAlive, DefaultKeepAlive)
	if cc.MaxIdleConns == 0 {
		cc.MaxIdleConns = DefaultMaxIdleConns
	}
	if cc.MaxIdleConnsPerHost == 0 {
		cc.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if c.HealthCheck != nil {
		hc := *c.HealthCheck
		if hc.Type == "" {
			hc.Type = HealthCheckHTTP
		}
		if hc.Path == "" && hc.Type == HealthCheckHTTP {
			hc.Path = DefaultHealthPath
		}
		if len(hc.ExpectedStatuses) == 0 && hc.Type == HealthCheckHTTP {
			hc.ExpectedStatuses = []string{"200-399"}
		}
		c.HealthCheck = &hc
	}
	return c
}

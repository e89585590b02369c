package proxy

import "github.com/meshbench/meshbench/proxy/discovery"

// Modes of the proxy.
const (
	// ModeGateway routes by host, path, method and headers through an
	// ordered route table, as an API gateway (Envoy's route configuration).
	ModeGateway = "gateway"
	// ModeSidecar forwards a local application's outbound calls by the
	// service name they address, and inbound calls to the local service.
	ModeSidecar = "sidecar"
)

// Config is the whole proxy configuration, as written in YAML (see
// README.md for every key). Zero values mean the defaults documented per
// field; Defaults in defaults.go applies them in one place.
type Config struct {
	// Mode is "gateway" (the default) or "sidecar".
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Listen is the primary listener's address used by Run: the gateway,
	// or the sidecar's outbound side. Default 127.0.0.1:10000.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// Admin is the admin listener's address used by Run (/metrics,
	// /config, /clusters, /ready); empty disables it.
	Admin string `yaml:"admin,omitempty" json:"admin,omitempty"`
	// Server holds the downstream connection limits and timeouts.
	Server ServerConfig `yaml:"server,omitempty" json:"server"`
	// Routes is the gateway's route table, matched in order.
	Routes []RouteConfig `yaml:"routes,omitempty" json:"routes,omitempty"`
	// Sidecar configures sidecar mode.
	Sidecar SidecarConfig `yaml:"sidecar,omitempty" json:"sidecar"`
	// Clusters are the upstream services.
	Clusters []ClusterConfig `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	// AccessLog turns on JSON access logs.
	AccessLog AccessLogConfig `yaml:"accessLog,omitempty" json:"accessLog"`
	// Registry serves a discovery registry on the admin listener.
	Registry RegistryConfig `yaml:"registry,omitempty" json:"registry"`
}

// ServerConfig bounds what a downstream client may send and how long it may
// take, as nginx's client_* directives and Envoy's HTTP connection manager
// limits.
type ServerConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers (slowloris);
	// default 10s.
	ReadHeaderTimeout Duration `yaml:"readHeaderTimeout,omitempty" json:"readHeaderTimeout,omitempty"`
	// ReadTimeout bounds reading a whole request including its body; zero
	// means none (a slow body is bounded by the route timeout instead).
	ReadTimeout Duration `yaml:"readTimeout,omitempty" json:"readTimeout,omitempty"`
	// WriteTimeout bounds writing a response; zero means none.
	WriteTimeout Duration `yaml:"writeTimeout,omitempty" json:"writeTimeout,omitempty"`
	// IdleTimeout closes keep-alive connections idle this long; default 60s.
	IdleTimeout Duration `yaml:"idleTimeout,omitempty" json:"idleTimeout,omitempty"`
	// MaxHeaderBytes bounds the request line and headers; a larger request
	// gets 431. Default 64 KiB.
	MaxHeaderBytes int `yaml:"maxHeaderBytes,omitempty" json:"maxHeaderBytes,omitempty"`
	// MaxBodyBytes bounds a request body; a larger one gets 413. Default
	// 10 MiB; -1 means unlimited.
	MaxBodyBytes int64 `yaml:"maxBodyBytes,omitempty" json:"maxBodyBytes,omitempty"`
	// DisableH2C turns off cleartext HTTP/2 (prior knowledge) on the
	// listeners; HTTP/1.1 is always served.
	DisableH2C bool `yaml:"disableH2C,omitempty" json:"disableH2C,omitempty"`
	// ShutdownTimeout bounds Run's graceful drain; default 30s.
	ShutdownTimeout Duration `yaml:"shutdownTimeout,omitempty" json:"shutdownTimeout,omitempty"`
}

// RouteConfig is one gateway route: a match, a destination and a policy.
type RouteConfig struct {
	// Name identifies the route in metrics and logs; default "route<i>".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Match selects the requests the route takes.
	Match MatchConfig `yaml:"match,omitempty" json:"match"`
	// Cluster is the destination, unless Split is set.
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	// Split spreads requests over clusters by weight (canaries), as
	// Envoy's weighted_clusters.
	Split []SplitConfig `yaml:"split,omitempty" json:"split,omitempty"`
	// Rewrite changes the path and Host before forwarding.
	Rewrite RewriteConfig `yaml:"rewrite,omitempty" json:"rewrite"`
	// Policy is inlined: timeout, retry, hedge, limits, middlewares.
	Policy `yaml:",inline" json:",inline"`
}

// MatchConfig is a route's match. All given conditions must hold. At most
// one of Path, Prefix and Regex may be set; none means every path.
type MatchConfig struct {
	// Host matches the Host header without its port, case-insensitively:
	// "api.example.com", "*.example.com" (any subdomain) or empty/"*"
	// (any host).
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// Path matches the whole path exactly.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Prefix matches a path prefix (a plain string prefix, as Envoy's
	// prefix match).
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Regex must match the whole path (RE2 syntax, as Envoy's safe_regex).
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Methods lists the accepted methods; empty means any.
	Methods []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Headers must all match.
	Headers []HeaderMatchConfig `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// HeaderMatchConfig matches one request header, as Envoy's HeaderMatcher.
// With none of Exact, Prefix and Regex set it matches when the header is
// present.
type HeaderMatchConfig struct {
	Name   string `yaml:"name" json:"name"`
	Exact  string `yaml:"exact,omitempty" json:"exact,omitempty"`
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	Regex  string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Invert negates the match (absent header, or a value that differs).
	Invert bool `yaml:"invert,omitempty" json:"invert,omitempty"`
}

// SplitConfig is one weighted destination of a route.
type SplitConfig struct {
	Cluster string `yaml:"cluster" json:"cluster"`
	Weight  int    `yaml:"weight" json:"weight"`
}

// RewriteConfig changes the forwarded request. At most one of Path, Prefix,
// StripPrefix and Regex may be set; Host and HostFromEndpoint exclude each
// other. By default the path and the Host header are forwarded unchanged
// (Envoy's default of preserving Host).
type RewriteConfig struct {
	// Path replaces the whole path.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Prefix replaces the part of the path matched by match.prefix, as
	// Envoy's prefix_rewrite.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// StripPrefix removes the part matched by match.prefix, keeping the
	// path rooted ("/api/users" with prefix "/api" becomes "/users").
	StripPrefix bool `yaml:"stripPrefix,omitempty" json:"stripPrefix,omitempty"`
	// Regex rewrites the path with a pattern and a substitution ($1 etc.),
	// as Envoy's regex_rewrite.
	Regex *RegexRewriteConfig `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Host replaces the Host header.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// HostFromEndpoint sets Host to the chosen endpoint's address, as
	// Envoy's auto_host_rewrite.
	HostFromEndpoint bool `yaml:"hostFromEndpoint,omitempty" json:"hostFromEndpoint,omitempty"`
}

// RegexRewriteConfig is a regex path rewrite.
type RegexRewriteConfig struct {
	Pattern      string `yaml:"pattern" json:"pattern"`
	Substitution string `yaml:"substitution" json:"substitution"`
}

// Policy is what a route (or a sidecar service) applies to its requests.
type Policy struct {
	// Timeout bounds the whole request, retries and response body
	// included, as Envoy's route timeout; default 15s, negative means none.
	// An incoming deadline header can only shorten it.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retry enables retries.
	Retry RetryConfig `yaml:"retry,omitempty" json:"retry"`
	// Hedge enables hedged requests.
	Hedge HedgeConfig `yaml:"hedge,omitempty" json:"hedge"`
	// RateLimit limits the route's requests as a whole.
	RateLimit *RateLimitConfig `yaml:"rateLimit,omitempty" json:"rateLimit,omitempty"`
	// ConsumerRateLimit limits each consumer separately.
	ConsumerRateLimit *ConsumerRateLimitConfig `yaml:"consumerRateLimit,omitempty" json:"consumerRateLimit,omitempty"`
	// HashKey keys the hash balancers (ring_hash, maglev, ip_hash).
	HashKey HashKeyConfig `yaml:"hashKey,omitempty" json:"hashKey"`
	// Middlewares wrap the route's handling, outermost first; each names a
	// middleware registered with WithMiddleware.
	Middlewares []MiddlewareConfig `yaml:"middlewares,omitempty" json:"middlewares,omitempty"`
}

// RetryConfig is a route's retry policy with Envoy's semantics
// (proxy/retry.Policy) and a Finagle/Linkerd retry budget.
type RetryConfig struct {
	// Attempts is the total number of tries including the first; 0 or 1
	// means no retries.
	Attempts int `yaml:"attempts,omitempty" json:"attempts,omitempty"`
	// RetryOn lists Envoy retry_on conditions: 5xx, gateway-error, reset,
	// connect-failure, retriable-4xx, retriable-status-codes. Default
	// ["gateway-error"] when Attempts > 1.
	RetryOn []string `yaml:"retryOn,omitempty" json:"retryOn,omitempty"`
	// RetriableStatusCodes are retried under retriable-status-codes.
	RetriableStatusCodes []int `yaml:"retriableStatusCodes,omitempty" json:"retriableStatusCodes,omitempty"`
	// PerTryTimeout bounds each try until its response headers arrive;
	// zero means only the route timeout applies.
	PerTryTimeout Duration `yaml:"perTryTimeout,omitempty" json:"perTryTimeout,omitempty"`
	// BackoffBase and BackoffMax shape the fully jittered exponential
	// back-off; defaults 25ms and 10 × base, as Envoy.
	BackoffBase Duration `yaml:"backoffBase,omitempty" json:"backoffBase,omitempty"`
	BackoffMax  Duration `yaml:"backoffMax,omitempty" json:"backoffMax,omitempty"`
	// Budget bounds retries to a share of requests; default Linkerd's
	// (ratio 0.2, 10/s, 10s) when retries or hedges are on.
	Budget *BudgetConfig `yaml:"budget,omitempty" json:"budget,omitempty"`
	// BufferBytes is the largest request body kept in memory so it can be
	// replayed by retries and hedges; a longer body is streamed once and
	// its request is neither retried nor hedged. Default 64 KiB.
	BufferBytes int64 `yaml:"bufferBytes,omitempty" json:"bufferBytes,omitempty"`
}

// BudgetConfig is a retry budget (proxy/retry.BudgetConfig).
type BudgetConfig struct {
	Ratio        float64  `yaml:"ratio,omitempty" json:"ratio,omitempty"`
	MinPerSecond int      `yaml:"minPerSecond,omitempty" json:"minPerSecond,omitempty"`
	TTL          Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
}

// HedgeConfig turns on hedged requests (proxy/retry.HedgeConfig): when the
// request has not answered after Delay (or the Percentile of recent
// latencies) another copy is sent to another pick; the first answer wins and
// the others are cancelled. Zero Delay disables hedging.
type HedgeConfig struct {
	Delay      Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	Percentile float64  `yaml:"percentile,omitempty" json:"percentile,omitempty"`
	MaxHedges  int      `yaml:"maxHedges,omitempty" json:"maxHedges,omitempty"`
}

// RateLimitConfig is a request-rate limiter (proxy/ratelimit): token_bucket
// (the default) or sliding_window.
type RateLimitConfig struct {
	Type   string   `yaml:"type,omitempty" json:"type,omitempty"`
	Rate   float64  `yaml:"rate,omitempty" json:"rate,omitempty"`
	Burst  int      `yaml:"burst,omitempty" json:"burst,omitempty"`
	Window Duration `yaml:"window,omitempty" json:"window,omitempty"`
	Limit  int      `yaml:"limit,omitempty" json:"limit,omitempty"`
}

// ConsumerRateLimitConfig limits each consumer with its own limiter, as
// nginx's limit_req_zone keyed by $binary_remote_addr or an API key.
type ConsumerRateLimitConfig struct {
	// Key names the consumer: "ip" (the client address, the default) or
	// "header:<Name>" (e.g. "header:X-Api-Key"; requests without it share
	// one anonymous limiter).
	Key             string `yaml:"key,omitempty" json:"key,omitempty"`
	RateLimitConfig `yaml:",inline" json:",inline"`
	// MaxKeys and IdleTTL bound the memory (proxy/ratelimit.Keyed).
	MaxKeys int      `yaml:"maxKeys,omitempty" json:"maxKeys,omitempty"`
	IdleTTL Duration `yaml:"idleTtl,omitempty" json:"idleTtl,omitempty"`
}

// HashKeyConfig is proxy/balancer.HashKey: which part of the request keys
// the hash balancers; the first present source wins.
type HashKeyConfig struct {
	Header   string `yaml:"header,omitempty" json:"header,omitempty"`
	Cookie   string `yaml:"cookie,omitempty" json:"cookie,omitempty"`
	SourceIP bool   `yaml:"sourceIp,omitempty" json:"sourceIp,omitempty"`
}

// MiddlewareConfig names a registered middleware and its parameters, which
// are handed to its factory as decoded YAML.
type MiddlewareConfig struct {
	Name   string         `yaml:"name" json:"name"`
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`
}

// SidecarConfig configures sidecar mode. Outbound, a request names its
// service by its Host header (or absolute-form authority), without port and
// without a trailing ".svc..." suffix configured in Domains; with PathPrefix
// the first path segment may name it instead ("/risk/score" → service risk,
// path "/score"). Every cluster is reachable by its own name; Outbound lists
// per-service policy and aliases.
type SidecarConfig struct {
	// Service is the local service's name (informational; logged).
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Domains are suffixes stripped from the Host before the lookup, e.g.
	// ".mesh" so that "risk.mesh" names the service risk.
	Domains []string `yaml:"domains,omitempty" json:"domains,omitempty"`
	// PathPrefix lets the first path segment name the service when the
	// Host does not.
	PathPrefix bool `yaml:"pathPrefix,omitempty" json:"pathPrefix,omitempty"`
	// Outbound holds per-service policy.
	Outbound []OutboundConfig `yaml:"outbound,omitempty" json:"outbound,omitempty"`
	// Inbound forwards to the local service.
	Inbound InboundConfig `yaml:"inbound,omitempty" json:"inbound"`
}

// OutboundConfig is the policy for calls to one service.
type OutboundConfig struct {
	Service string `yaml:"service" json:"service"`
	// Cluster is the destination; default the cluster named Service.
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Policy  `yaml:",inline" json:",inline"`
}

// InboundConfig is the sidecar's inbound side: everything that arrives on
// the inbound listener goes to Cluster (the local service) under Policy.
type InboundConfig struct {
	// Listen is the inbound listener's address used by Run; empty
	// disables it.
	Listen  string `yaml:"listen,omitempty" json:"listen,omitempty"`
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	Policy  `yaml:",inline" json:",inline"`
}

// ClusterConfig is one upstream service: its endpoints and how the proxy
// talks to them.
type ClusterConfig struct {
	// Name identifies the cluster; routes refer to it.
	Name string `yaml:"name" json:"name"`
	// Protocol is "http1" (the default), "h2c" (cleartext HTTP/2 with
	// prior knowledge) or "https" (TLS with ALPN h2/http1.1; the TLS
	// configuration comes from WithClusterTLS).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Endpoints is a static endpoint list (used when Discovery is unset).
	Endpoints []discovery.Endpoint `yaml:"endpoints,omitempty" json:"endpoints,omitempty"`
	// Discovery selects a dynamic endpoint source.
	Discovery *DiscoveryConfig `yaml:"discovery,omitempty" json:"discovery,omitempty"`
	// Balancer chooses an endpoint per try.
	Balancer BalancerConfig `yaml:"balancer,omitempty" json:"balancer"`
	// Connection tunes the upstream connection pool.
	Connection ConnectionConfig `yaml:"connection,omitempty" json:"connection"`
	// Thresholds are Envoy's circuit-breaking admission limits.
	Thresholds ThresholdsConfig `yaml:"thresholds,omitempty" json:"thresholds"`
	// CircuitBreaker is the outcome breaker; unset means none.
	CircuitBreaker *BreakerConfig `yaml:"circuitBreaker,omitempty" json:"circuitBreaker,omitempty"`
	// Outlier is outlier detection; unset means none.
	Outlier *OutlierConfig `yaml:"outlier,omitempty" json:"outlier,omitempty"`
	// HealthCheck is active health checking; unset means none.
	HealthCheck *HealthCheckConfig `yaml:"healthCheck,omitempty" json:"healthCheck,omitempty"`
	// Concurrency limits requests in flight to the cluster; unset means
	// only the thresholds apply.
	Concurrency *ConcurrencyConfig `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
}

// DiscoveryConfig selects a proxy/discovery provider.
type DiscoveryConfig struct {
	// Type is "static", "file", "dns" or "registry".
	Type string `yaml:"type" json:"type"`
	// Path is the file provider's endpoints file.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Host, Port, SRV, Service, Proto and Zone configure the dns provider.
	Host    string `yaml:"host,omitempty" json:"host,omitempty"`
	Port    int    `yaml:"port,omitempty" json:"port,omitempty"`
	SRV     bool   `yaml:"srv,omitempty" json:"srv,omitempty"`
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	Proto   string `yaml:"proto,omitempty" json:"proto,omitempty"`
	Zone    string `yaml:"zone,omitempty" json:"zone,omitempty"`
	// URL is the registry provider's API base; Service names the service.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Interval is the polling period of dns and registry.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
}

// BalancerConfig is proxy/balancer.Config.
type BalancerConfig struct {
	// Type is a proxy/balancer name; default "round_robin".
	Type              string           `yaml:"type,omitempty" json:"type,omitempty"`
	Choices           int              `yaml:"choices,omitempty" json:"choices,omitempty"`
	ActiveRequestBias float64          `yaml:"activeRequestBias,omitempty" json:"activeRequestBias,omitempty"`
	DecayTime         Duration         `yaml:"decayTime,omitempty" json:"decayTime,omitempty"`
	DefaultRTT        Duration         `yaml:"defaultRtt,omitempty" json:"defaultRtt,omitempty"`
	MinRingSize       int              `yaml:"minRingSize,omitempty" json:"minRingSize,omitempty"`
	MaxRingSize       int              `yaml:"maxRingSize,omitempty" json:"maxRingSize,omitempty"`
	TableSize         int              `yaml:"tableSize,omitempty" json:"tableSize,omitempty"`
	SlowStart         *SlowStartConfig `yaml:"slowStart,omitempty" json:"slowStart,omitempty"`
	Locality          *LocalityConfig  `yaml:"locality,omitempty" json:"locality,omitempty"`
}

// SlowStartConfig is proxy/balancer.SlowStart.
type SlowStartConfig struct {
	Window           Duration `yaml:"window" json:"window"`
	Aggression       float64  `yaml:"aggression,omitempty" json:"aggression,omitempty"`
	MinWeightPercent float64  `yaml:"minWeightPercent,omitempty" json:"minWeightPercent,omitempty"`
}

// LocalityConfig is proxy/balancer.Locality (enabled when present).
type LocalityConfig struct {
	LocalZone              string  `yaml:"localZone" json:"localZone"`
	OverprovisioningFactor float64 `yaml:"overprovisioningFactor,omitempty" json:"overprovisioningFactor,omitempty"`
}

// ConnectionConfig tunes a cluster's http.Transport.
type ConnectionConfig struct {
	// ConnectTimeout bounds a TCP connect; default 1s.
	ConnectTimeout Duration `yaml:"connectTimeout,omitempty" json:"connectTimeout,omitempty"`
	// MaxIdleConns bounds idle connections over all endpoints; default 1024.
	MaxIdleConns int `yaml:"maxIdleConns,omitempty" json:"maxIdleConns,omitempty"`
	// MaxIdleConnsPerHost bounds idle connections per endpoint; default
	// 256 (net/http's default of 2 would reconnect under load).
	MaxIdleConnsPerHost int `yaml:"maxIdleConnsPerHost,omitempty" json:"maxIdleConnsPerHost,omitempty"`
	// MaxConnsPerHost bounds all connections per endpoint; requests beyond
	// it wait for one. Zero means unlimited.
	MaxConnsPerHost int `yaml:"maxConnsPerHost,omitempty" json:"maxConnsPerHost,omitempty"`
	// IdleConnTimeout closes idle connections; default 90s.
	IdleConnTimeout Duration `yaml:"idleConnTimeout,omitempty" json:"idleConnTimeout,omitempty"`
	// KeepAlive is the TCP keep-alive period; default 30s.
	KeepAlive Duration `yaml:"keepAlive,omitempty" json:"keepAlive,omitempty"`
}

// ThresholdsConfig is proxy/breaker.Thresholds: 0 means Envoy's defaults
// (1024 connections, 1024 pending, 1024 requests, 3 retries), -1 admits
// nothing. At maxConnections a request waits for a connection to come free
// as a pending request, and beyond maxPending waiting ones it is refused
// (overflow). Pending is enforced on http1 clusters, whose pool is the
// proxy's own (h1.Client); h2c, https and clusters with maxConnsPerHost use
// net/http's Transport, whose queue is hidden, so there a request at
// maxConnections is refused at once.
type ThresholdsConfig struct {
	MaxConnections int `yaml:"maxConnections,omitempty" json:"maxConnections,omitempty"`
	MaxPending     int `yaml:"maxPending,omitempty" json:"maxPending,omitempty"`
	MaxRequests    int `yaml:"maxRequests,omitempty" json:"maxRequests,omitempty"`
	MaxRetries     int `yaml:"maxRetries,omitempty" json:"maxRetries,omitempty"`
}

// BreakerConfig is proxy/breaker.Config.
type BreakerConfig struct {
	FailureRatio        float64  `yaml:"failureRatio,omitempty" json:"failureRatio,omitempty"`
	MinRequests         int      `yaml:"minRequests,omitempty" json:"minRequests,omitempty"`
	ConsecutiveFailures int      `yaml:"consecutiveFailures,omitempty" json:"consecutiveFailures,omitempty"`
	Window              Duration `yaml:"window,omitempty" json:"window,omitempty"`
	Buckets             int      `yaml:"buckets,omitempty" json:"buckets,omitempty"`
	SleepWindow         Duration `yaml:"sleepWindow,omitempty" json:"sleepWindow,omitempty"`
	HalfOpenProbes      int      `yaml:"halfOpenProbes,omitempty" json:"halfOpenProbes,omitempty"`
}

// HealthCheckConfig is active health checking (proxy/health.Config): the
// proxy GETs Path on every endpoint and counts ExpectedStatuses (default
// 200-399) as healthy.
type HealthCheckConfig struct {
	Path               string   `yaml:"path,omitempty" json:"path,omitempty"`
	Interval           Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout            Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Jitter             float64  `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	InitialJitter      Duration `yaml:"initialJitter,omitempty" json:"initialJitter,omitempty"`
	HealthyThreshold   int      `yaml:"healthyThreshold,omitempty" json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int      `yaml:"unhealthyThreshold,omitempty" json:"unhealthyThreshold,omitempty"`
	// StartHealthy puts new endpoints in rotation before their first
	// probe; otherwise they wait for it, as Envoy.
	StartHealthy bool `yaml:"startHealthy,omitempty" json:"startHealthy,omitempty"`
	// ExpectedStatuses is a list of "200" or "200-299" ranges.
	ExpectedStatuses []string `yaml:"expectedStatuses,omitempty" json:"expectedStatuses,omitempty"`
}

// ConcurrencyConfig is a proxy/ratelimit concurrency limiter on a cluster:
// "concurrency" (fixed Limit) or "adaptive_concurrency" (gradient).
type ConcurrencyConfig struct {
	Type           string   `yaml:"type" json:"type"`
	Limit          int      `yaml:"limit,omitempty" json:"limit,omitempty"`
	MinLimit       int      `yaml:"minLimit,omitempty" json:"minLimit,omitempty"`
	MaxLimit       int      `yaml:"maxLimit,omitempty" json:"maxLimit,omitempty"`
	SampleWindow   Duration `yaml:"sampleWindow,omitempty" json:"sampleWindow,omitempty"`
	Percentile     float64  `yaml:"percentile,omitempty" json:"percentile,omitempty"`
	MinRTTInterval Duration `yaml:"minRttInterval,omitempty" json:"minRttInterval,omitempty"`
	MinRTTSamples  int      `yaml:"minRttSamples,omitempty" json:"minRttSamples,omitempty"`
	MinRTTJitter   float64  `yaml:"minRttJitter,omitempty" json:"minRttJitter,omitempty"`
	Buffer         float64  `yaml:"buffer,omitempty" json:"buffer,omitempty"`
}

// AccessLogConfig turns on JSON access logs (log/slog), one line per
// request, to the writer given with WithAccessLog or to standard output.
type AccessLogConfig struct {
	Enabled bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
}

// RegistryConfig serves a proxy/discovery registry under /registry/ on the
// admin listener, for fleets that register themselves.
type RegistryConfig struct {
	Enabled bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// DefaultTTL applies to registrations without a TTL; default 30s.
	DefaultTTL Duration `yaml:"defaultTtl,omitempty" json:"defaultTtl,omitempty"`
}

// OutlierConfig is proxy/outlier.Config (Envoy's OutlierDetection): zero
// values mean Envoy's defaults, -1 means Envoy's explicit 0. The proxy sweeps
// every Interval on a ticker and records every try's outcome.
type OutlierConfig struct {
	Interval                               Duration                        `yaml:"interval,omitempty" json:"interval,omitempty"`
	BaseEjectionTime                       Duration                        `yaml:"baseEjectionTime,omitempty" json:"baseEjectionTime,omitempty"`
	MaxEjectionTime                        Duration                        `yaml:"maxEjectionTime,omitempty" json:"maxEjectionTime,omitempty"`
	MaxEjectionTimeJitter                  Duration                        `yaml:"maxEjectionTimeJitter,omitempty" json:"maxEjectionTimeJitter,omitempty"`
	MaxEjectionPercent                     int                             `yaml:"maxEjectionPercent,omitempty" json:"maxEjectionPercent,omitempty"`
	AlwaysEjectOneHost                     bool                            `yaml:"alwaysEjectOneHost,omitempty" json:"alwaysEjectOneHost,omitempty"`
	Consecutive5xx                         int                             `yaml:"consecutive5xx,omitempty" json:"consecutive5xx,omitempty"`
	ConsecutiveGatewayFailure              int                             `yaml:"consecutiveGatewayFailure,omitempty" json:"consecutiveGatewayFailure,omitempty"`
	EnforcingConsecutive5xx                int                             `yaml:"enforcingConsecutive5xx,omitempty" json:"enforcingConsecutive5xx,omitempty"`
	EnforcingConsecutiveGatewayFailure     int                             `yaml:"enforcingConsecutiveGatewayFailure,omitempty" json:"enforcingConsecutiveGatewayFailure,omitempty"`
	SplitExternalLocalOriginErrors         bool                            `yaml:"splitExternalLocalOriginErrors,omitempty" json:"splitExternalLocalOriginErrors,omitempty"`
	ConsecutiveLocalOriginFailure          int                             `yaml:"consecutiveLocalOriginFailure,omitempty" json:"consecutiveLocalOriginFailure,omitempty"`
	EnforcingConsecutiveLocalOriginFailure int                             `yaml:"enforcingConsecutiveLocalOriginFailure,omitempty" json:"enforcingConsecutiveLocalOriginFailure,omitempty"`
	SuccessRate                            *OutlierSuccessRateConfig       `yaml:"successRate,omitempty" json:"successRate,omitempty"`
	FailurePercentage                      *OutlierFailurePercentageConfig `yaml:"failurePercentage,omitempty" json:"failurePercentage,omitempty"`
}

// OutlierSuccessRateConfig is proxy/outlier.SuccessRate.
type OutlierSuccessRateConfig struct {
	StdevFactor          float64 `yaml:"stdevFactor,omitempty" json:"stdevFactor,omitempty"`
	MinimumHosts         int     `yaml:"minimumHosts,omitempty" json:"minimumHosts,omitempty"`
	RequestVolume        int     `yaml:"requestVolume,omitempty" json:"requestVolume,omitempty"`
	Enforcing            int     `yaml:"enforcing,omitempty" json:"enforcing,omitempty"`
	EnforcingLocalOrigin int     `yaml:"enforcingLocalOrigin,omitempty" json:"enforcingLocalOrigin,omitempty"`
}

// OutlierFailurePercentageConfig is proxy/outlier.FailurePercentage.
type OutlierFailurePercentageConfig struct {
	Threshold            int `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	MinimumHosts         int `yaml:"minimumHosts,omitempty" json:"minimumHosts,omitempty"`
	RequestVolume        int `yaml:"requestVolume,omitempty" json:"requestVolume,omitempty"`
	Enforcing            int `yaml:"enforcing,omitempty" json:"enforcing,omitempty"`
	EnforcingLocalOrigin int `yaml:"enforcingLocalOrigin,omitempty" json:"enforcingLocalOrigin,omitempty"`
}

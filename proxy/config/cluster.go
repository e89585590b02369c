package config

import "github.com/meshbench/meshbench/proxy/upstream"

// Cluster protocols.
const (
	// ProtocolHTTP1 is plain-text HTTP/1.1, the default.
	ProtocolHTTP1 = "http1"
	// ProtocolH2C is cleartext HTTP/2 with prior knowledge.
	ProtocolH2C = "h2c"
	// ProtocolHTTPS is TLS with ALPN h2 or http/1.1.
	ProtocolHTTPS = "https"

	// HealthCheckHTTP and HealthCheckGRPC are the health check types.
	HealthCheckHTTP = "http"
	HealthCheckGRPC = "grpc"
)

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
	Endpoints []upstream.Endpoint `yaml:"endpoints,omitempty" json:"endpoints,omitempty"`
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

// HealthCheckConfig is active health checking (proxy/health.Config): with
// type http the proxy GETs Path on every endpoint and counts
// ExpectedStatuses (default 200-399) as healthy; with type grpc it calls
// the gRPC health protocol's grpc.health.v1.Health/Check for Service and
// counts a SERVING answer as healthy, as Envoy's grpc_health_check.
type HealthCheckConfig struct {
	// Type is "http" (the default) or "grpc"; grpc needs a cluster of
	// protocol h2c or https.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Service is the service name a grpc check asks about; empty asks
	// about the server as a whole. Only for type grpc.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Path is what an http check GETs; default /healthz. Only for type
	// http.
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
	// ExpectedStatuses is a list of "200" or "200-299" ranges; only for
	// type http.
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

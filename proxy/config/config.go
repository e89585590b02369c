package config

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
	// /config, /clusters, /ready); empty disables it. Without AdminAccess
	// it must be a loopback address.
	Admin string `yaml:"admin,omitempty" json:"admin,omitempty"`
	// AdminAccess is who may write through the admin listener (the
	// registry); unset, the listener is open and must be on loopback.
	AdminAccess AdminAccessConfig `yaml:"adminAccess,omitempty" json:"adminAccess"`
	// TLS, when set, terminates TLS on the listen listener with the
	// gateway's own certificates (see TLSConfig); unset means plaintext
	// (HTTP/1.1 and h2c).
	TLS *TLSConfig `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Server holds the downstream connection limits and timeouts.
	Server ServerConfig `yaml:"server,omitempty" json:"server"`
	// Routes is the gateway's route table, matched in order.
	Routes []RouteConfig `yaml:"routes,omitempty" json:"routes,omitempty"`
	// RateLimit limits the requests of every gateway route together: one
	// limiter, asked before each route's own limits (gateway mode only).
	RateLimit *RateLimitConfig `yaml:"rateLimit,omitempty" json:"rateLimit,omitempty"`
	// ConsumerRateLimit limits each consumer over every gateway route
	// together, asked after RateLimit and before each route's own limits
	// (gateway mode only). A route's own consumerRateLimit must key by the
	// same key, which it takes by default: a request has one consumer.
	ConsumerRateLimit *ConsumerRateLimitConfig `yaml:"consumerRateLimit,omitempty" json:"consumerRateLimit,omitempty"`
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
	// BodyTimeout bounds each wait for request body bytes: the time
	// between two successive reads of the body, as nginx's
	// client_body_timeout. A client that stalls longer has its upstream try
	// cancelled and gets 408 if nothing was answered yet. Default 60s; 0,
	// written explicitly, means none (absent means the default, hence the
	// pointer).
	BodyTimeout *Duration `yaml:"bodyTimeout,omitempty" json:"bodyTimeout,omitempty"`
	// SendTimeout bounds each wait to write to a client: the time between
	// two successive writes that make progress, as nginx's send_timeout. A
	// client that reads nothing of its answer for longer is disconnected
	// and its upstream connection closed. Default 60s; 0, written
	// explicitly, means none.
	SendTimeout *Duration `yaml:"sendTimeout,omitempty" json:"sendTimeout,omitempty"`
	// MaxSlowConnections bounds the downstream connections of a listener
	// that may be slow at once: waiting over a second for head or body
	// bytes, or to write to a client that does not read. A connection that
	// turns slow beyond it is cut. Default 512 (DefaultMaxSlowConnections
	// says why); 0, written explicitly, means no limit.
	MaxSlowConnections *int `yaml:"maxSlowConnections,omitempty" json:"maxSlowConnections,omitempty"`
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

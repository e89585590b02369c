package config

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
	// RateLimits are further limiters of the route's requests as a whole,
	// asked in order after RateLimit, as nginx applies several limit_req
	// directives (a burst limit and a sustained one, say).
	RateLimits []RateLimitConfig `yaml:"rateLimits,omitempty" json:"rateLimits,omitempty"`
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
	// connect-failure, retriable-4xx, retriable-status-codes, and the gRPC
	// ones of Envoy's retry-grpc-on (cancelled, deadline-exceeded,
	// internal, resource-exhausted, unavailable), which retry a gRPC
	// answer by the grpc-status of its head (a trailers-only answer).
	// Default ["gateway-error"] when Attempts > 1.
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
	// its request is neither retried nor hedged. A gRPC stream (client or
	// bidirectional) streams through a replay buffer of this size: it is
	// retried or hedged while its answer has not started and the buffer
	// holds all it sent, and committed to one try past that (Envoy's
	// per_request_buffer_limit_bytes). Default 64 KiB; negative is an
	// error.
	BufferBytes int64 `yaml:"bufferBytes,omitempty" json:"bufferBytes,omitempty"`
}

// BudgetConfig is a retry budget (proxy/retry.BudgetConfig), or with
// Disabled none at all.
type BudgetConfig struct {
	Ratio        float64  `yaml:"ratio,omitempty" json:"ratio,omitempty"`
	MinPerSecond int      `yaml:"minPerSecond,omitempty" json:"minPerSecond,omitempty"`
	TTL          Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Disabled means no budget: retries and hedges are bounded only by
	// attempts and the cluster's max_retries. It excludes the other
	// fields.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
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

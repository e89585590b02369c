package scenarios

import "time"

// Policy is the gateway/mesh policy under test: how the gateway and the
// sidecars pick endpoints, time out, retry, break circuits, eject outliers,
// limit rates and check health. Balancer and Timeouts always apply; every
// other block is a feature that is off when absent (nil) and on, with the
// defaults of defaults.go for what it leaves out, when present. Names and
// semantics follow Envoy unless a field's comment says otherwise.
//
// The policy types write every key to JSON, absent blocks as null: a
// variant's policy in plan.json is then complete, and loads back as itself
// even though variants are merged over the scenario's policy. (The one
// exception, rateLimit.type, is empty only in a partial base policy.)
type Policy struct {
	// Balancer picks the endpoint of each request.
	Balancer Balancer `json:"balancer"`
	// Timeouts bound connects, tries and whole requests.
	Timeouts Timeouts `json:"timeouts"`
	// Retries, when present, retries failed tries (and may hedge).
	Retries *Retries `json:"retries" jsonschema:"nullable"`
	// CircuitBreaker, when present, rejects requests to an upstream that fails too often.
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker" jsonschema:"nullable"`
	// OutlierDetection, when present, ejects misbehaving endpoints from balancing.
	OutlierDetection *OutlierDetection `json:"outlierDetection" jsonschema:"nullable"`
	// RateLimit, when present, limits requests at the gateway.
	RateLimit *RateLimit `json:"rateLimit" jsonschema:"nullable"`
	// HealthCheck, when present, probes endpoints actively.
	HealthCheck *HealthCheck `json:"healthCheck" jsonschema:"nullable"`
	// Cache, when present, answers the GET requests of the routes it names from the gateway's response cache while a stored answer is fresh (see RouteCache).
	Cache *RouteCache `json:"cache" jsonschema:"nullable"`
	// Discovery, when present, says how the gateway learns its endpoints: static, or a registry with heartbeats (see Discovery).
	Discovery *Discovery `json:"discovery" jsonschema:"nullable"`
	// Security, when present, secures the connections between workloads (mutual TLS).
	Security *Security `json:"security" jsonschema:"nullable"`
	// Quota, when present, gives every consumer a number of requests per renewal period at the gateway, 429 once spent (Kong's rate-limiting with day/month limits; see Quota).
	Quota *Quota `json:"quota" jsonschema:"nullable"`
}

// Balancer types.
const (
	BalancerRoundRobin         = "round_robin"
	BalancerWeightedRoundRobin = "weighted_round_robin"
	BalancerRandom             = "random"
	BalancerLeastRequest       = "least_request"
	BalancerPeakEWMA           = "peak_ewma"
	BalancerRingHash           = "ring_hash"
	BalancerMaglev             = "maglev"
	BalancerIPHash             = "ip_hash"
)

// Balancer configures endpoint selection, as Envoy's load balancers
// (round robin, least request with power-of-two choices, ring hash, maglev)
// and Finagle's peak EWMA.
type Balancer struct {
	// Type is round_robin, weighted_round_robin, random, least_request, peak_ewma, ring_hash, maglev or ip_hash (default round_robin).
	Type string `json:"type" noun:"balancer" jsonschema:"enum=round_robin,enum=weighted_round_robin,enum=random,enum=least_request,enum=peak_ewma,enum=ring_hash,enum=maglev,enum=ip_hash"`
	// Choices is the number of random candidates compared by least_request and peak_ewma (default 2).
	Choices int `json:"choices" jsonschema:"minimum=2"`
	// DecayTime is peak_ewma's decay window (default 10s).
	DecayTime time.Duration `json:"decayTime"`
	// HashKey is what hash balancers hash (ring_hash, maglev).
	HashKey HashKey `json:"hashKey"`
	// MinRingSize is ring_hash's minimum number of ring entries (default 1024).
	MinRingSize int `json:"minRingSize" jsonschema:"minimum=1"`
	// MaxRingSize is ring_hash's maximum number of ring entries (default 8388608).
	MaxRingSize int `json:"maxRingSize" jsonschema:"minimum=1"`
	// TableSize is maglev's lookup table size, a prime (default 65537).
	TableSize int `json:"tableSize" jsonschema:"minimum=2"`
	// SlowStart ramps new endpoints up gradually (off unless window is set).
	SlowStart SlowStart `json:"slowStart"`
	// Locality prefers endpoints in the gateway's zone.
	Locality Locality `json:"locality"`
}

// HashKey says what a hash balancer hashes: one header, one cookie, or the
// client's address. With none set, the workload's key is used.
type HashKey struct {
	// Header names the header whose value is hashed.
	Header string `json:"header"`
	// Cookie names the cookie whose value is hashed.
	Cookie string `json:"cookie"`
	// SourceIP hashes the client's address.
	SourceIP bool `json:"sourceIP"`
}

// SlowStart is Envoy's slow-start mode: an endpoint's weight grows from
// minWeightPercent to full over window after it joins, as
// (time since join / window)^(1/aggression).
type SlowStart struct {
	// Window is the ramp-up time; 0 turns slow start off (default 0).
	Window time.Duration `json:"window"`
	// Aggression shapes the ramp; 1 is linear (default 1).
	Aggression float64 `json:"aggression" jsonschema:"exclusiveMinimum=0"`
	// MinWeightPercent is the weight a new endpoint starts at, in percent (default 10).
	MinWeightPercent float64 `json:"minWeightPercent" jsonschema:"minimum=0,maximum=100"`
}

// Locality is Envoy's zone-aware routing with priority failover: traffic
// stays in the local zone while it has enough healthy endpoints (healthy
// fraction × overprovisioningFactor ≥ 1) and spills over to other zones in
// proportion as it loses them.
type Locality struct {
	// Enabled turns locality-aware routing on (default false).
	Enabled bool `json:"enabled"`
	// OverprovisioningFactor is Envoy's overprovisioning factor (default 1.4).
	OverprovisioningFactor float64 `json:"overprovisioningFactor" jsonschema:"minimum=1"`
}

// Timeouts bound the phases of a request. 0 means no limit.
type Timeouts struct {
	// Connect bounds establishing a connection (default 5s).
	Connect time.Duration `json:"connect"`
	// PerTry bounds each try, first and retries (default 0: only the request timeout applies).
	PerTry time.Duration `json:"perTry"`
	// Request bounds the whole request, retries included (default 15s, Envoy's route timeout).
	Request time.Duration `json:"request"`
}

// Retry conditions (Envoy's x-envoy-retry-on values).
const (
	RetryOn5xx                  = "5xx"
	RetryOnGatewayError         = "gateway-error"
	RetryOnReset                = "reset"
	RetryOnConnectFailure       = "connect-failure"
	RetryOnRetriableStatusCodes = "retriable-status-codes"
)

// Retries is Envoy's retry policy, with Finagle/Linkerd's retry budget and
// hedged requests (as gRPC's hedging policy).
type Retries struct {
	// Attempts is the total number of tries, the first included (default 2).
	Attempts int `json:"attempts" jsonschema:"minimum=1"`
	// RetryOn lists the failures retried: 5xx, gateway-error, reset, connect-failure, retriable-status-codes (default [5xx, reset, connect-failure]).
	RetryOn []string `json:"retryOn" noun:"retry condition" jsonschema:"enum=5xx,enum=gateway-error,enum=reset,enum=connect-failure,enum=retriable-status-codes"`
	// RetriableStatusCodes are retried when retryOn has retriable-status-codes.
	RetriableStatusCodes []int `json:"retriableStatusCodes" jsonschema:"minimum=100,maximum=599"`
	// PerTryTimeout bounds each try; it overrides timeouts.perTry when set.
	PerTryTimeout time.Duration `json:"perTryTimeout"`
	// Backoff spaces retries: exponential with full jitter.
	Backoff Backoff `json:"backoff"`
	// Budget, when present, caps retries to a fraction of requests.
	Budget *RetryBudget `json:"budget" jsonschema:"nullable"`
	// Hedging, when present, sends extra tries before the first one fails.
	Hedging *Hedging `json:"hedging" jsonschema:"nullable"`
}

// Backoff is Envoy's retry back-off: before retry n the caller waits a
// uniformly random time in [0, min(max, base·2^(n-1))).
type Backoff struct {
	// Base is the first interval (default 25ms).
	Base time.Duration `json:"base"`
	// Max caps the interval (default 10 × base = 250ms).
	Max time.Duration `json:"max"`
}

// RetryBudget is Finagle's and Linkerd's retry budget: retries may add at
// most ratio × requests (over the last ttl) plus minPerSecond per second.
type RetryBudget struct {
	// Ratio is the share of requests that may be retried (default 0.2).
	Ratio Fraction `json:"ratio"`
	// MinPerSecond is a floor of retries per second, so low traffic can still retry (default 10).
	MinPerSecond int `json:"minPerSecond" jsonschema:"minimum=0"`
	// TTL is how long a request counts towards the budget (default 10s).
	TTL time.Duration `json:"ttl"`
}

// Hedging sends up to maxHedges extra tries of a request that has not
// answered after a delay, fixed or a percentile of recent latencies; the
// first answer wins (gRPC hedging; "The Tail at Scale").
type Hedging struct {
	// Delay is a fixed hedging delay. Exclusive with percentile.
	Delay time.Duration `json:"delay"`
	// Percentile sets the delay to this latency percentile, e.g. p95 or 0.95. Exclusive with delay.
	Percentile Percentile `json:"percentile"`
	// MaxHedges is the number of extra tries (default 1).
	MaxHedges int `json:"maxHedges" jsonschema:"minimum=1"`
}

// CircuitBreaker combines a failure-ratio breaker over a rolling window
// (Hystrix, resilience4j: closed → open after failureRatio of at least
// minRequests fail, or after consecutiveFailures; open → half-open after
// sleepWindow; half-open admits halfOpenProbes) with Envoy's cluster
// thresholds on concurrent connections, pending requests, requests and retries.
type CircuitBreaker struct {
	// FailureRatio opens the breaker when this fraction of the window's requests failed (default 0.5).
	FailureRatio Fraction `json:"failureRatio"`
	// MinRequests is the number of requests in the window before the ratio counts (default 20).
	MinRequests int `json:"minRequests" jsonschema:"minimum=1"`
	// ConsecutiveFailures opens the breaker after this many failures in a row; 0 turns it off (default 0).
	ConsecutiveFailures int `json:"consecutiveFailures" jsonschema:"minimum=0"`
	// Window is the rolling window (default 10s).
	Window time.Duration `json:"window"`
	// Buckets divides the window (default 10).
	Buckets int `json:"buckets" jsonschema:"minimum=1"`
	// SleepWindow is how long the breaker stays open before probing (default 5s).
	SleepWindow time.Duration `json:"sleepWindow"`
	// HalfOpenProbes is the number of trial requests admitted half-open (default 1).
	HalfOpenProbes int `json:"halfOpenProbes" jsonschema:"minimum=1"`
	// MaxConnections is Envoy's max_connections (default 1024).
	MaxConnections int `json:"maxConnections" jsonschema:"minimum=1"`
	// MaxPending is Envoy's max_pending_requests (default 1024).
	MaxPending int `json:"maxPending" jsonschema:"minimum=1"`
	// MaxRequests is Envoy's max_requests (default 1024).
	MaxRequests int `json:"maxRequests" jsonschema:"minimum=1"`
	// MaxRetries is Envoy's max_retries, concurrent retries (default 3).
	MaxRetries int `json:"maxRetries" jsonschema:"minimum=1"`
}

// OutlierDetection is Envoy's outlier detection: consecutive-failure
// ejection on every response, success-rate and failure-percentage ejection
// at every interval, ejection time base × number of ejections up to max.
type OutlierDetection struct {
	// Interval is the time between sweeps (default 10s).
	Interval time.Duration `json:"interval"`
	// BaseEjectionTime is the first ejection's length (default 30s).
	BaseEjectionTime time.Duration `json:"baseEjectionTime"`
	// MaxEjectionTime caps an ejection's length (default 300s).
	MaxEjectionTime time.Duration `json:"maxEjectionTime"`
	// MaxEjectionPercent caps the share of endpoints ejected at once, in percent (default 10).
	MaxEjectionPercent int `json:"maxEjectionPercent" jsonschema:"minimum=0,maximum=100"`
	// Consecutive5xx ejects after this many 5xx in a row; 0 turns it off (default 5).
	Consecutive5xx int `json:"consecutive5xx" jsonschema:"minimum=0"`
	// ConsecutiveGatewayFailure ejects after this many 502/503/504 or connection failures in a row; 0 turns it off (default 0, as Envoy does not enforce it by default).
	ConsecutiveGatewayFailure int `json:"consecutiveGatewayFailure" jsonschema:"minimum=0"`
	// SuccessRate, when present, ejects endpoints whose success rate is below mean − stdevFactor × stdev.
	SuccessRate *SuccessRate `json:"successRate" jsonschema:"nullable"`
	// FailurePercentage, when present, ejects endpoints whose failure percentage exceeds threshold.
	FailurePercentage *FailurePercentage `json:"failurePercentage" jsonschema:"nullable"`
}

// SuccessRate is Envoy's success-rate outlier ejection.
type SuccessRate struct {
	// StdevFactor multiplies the standard deviation (default 1.9, Envoy's 1900/1000).
	StdevFactor float64 `json:"stdevFactor" jsonschema:"exclusiveMinimum=0"`
	// MinimumHosts is the number of endpoints with enough volume needed to judge (default 5).
	MinimumHosts int `json:"minimumHosts" jsonschema:"minimum=1"`
	// RequestVolume is the number of requests an endpoint needs in the interval (default 100).
	RequestVolume int `json:"requestVolume" jsonschema:"minimum=1"`
}

// FailurePercentage is Envoy's failure-percentage outlier ejection.
type FailurePercentage struct {
	// Threshold is the failure percentage that ejects (default 85).
	Threshold int `json:"threshold" jsonschema:"minimum=0,maximum=100"`
	// MinimumHosts is the number of endpoints with enough volume needed to judge (default 5).
	MinimumHosts int `json:"minimumHosts" jsonschema:"minimum=1"`
	// RequestVolume is the number of requests an endpoint needs in the interval (default 50).
	RequestVolume int `json:"requestVolume" jsonschema:"minimum=1"`
}

// Rate limiter types.
const (
	LimiterTokenBucket         = "token_bucket"
	LimiterSlidingWindow       = "sliding_window"
	LimiterConcurrency         = "concurrency"
	LimiterAdaptiveConcurrency = "adaptive_concurrency"
)

// Rate limit keys.
const (
	LimitKeyGlobal   = "global"
	LimitKeyRoute    = "route"
	LimitKeyClientIP = "client_ip"
	LimitKeyAPIKey   = "api_key"
	LimitKeyJWTSub   = "jwt_sub"
)

// RateLimit is an admission limit at the gateway: a token bucket (as
// golang.org/x/time/rate and Envoy's local rate limit), a sliding-window
// counter (as nginx's and Cloudflare's), a fixed concurrency limit, or an
// adaptive concurrency limit (the gradient algorithm of Netflix's
// concurrency-limits and Envoy's adaptive concurrency filter).
type RateLimit struct {
	// Type is token_bucket, sliding_window, concurrency or adaptive_concurrency.
	Type string `json:"type,omitempty" noun:"rate limiter" jsonschema:"enum=token_bucket,enum=sliding_window,enum=concurrency,enum=adaptive_concurrency"`
	// Rate is the sustained rate admitted (token_bucket, sliding_window).
	Rate Rate `json:"rate"`
	// Burst is the bucket size (token_bucket; default: one second of rate, at least 1).
	Burst int `json:"burst" jsonschema:"minimum=0"`
	// Window is the sliding window's length (sliding_window; default 1s).
	Window time.Duration `json:"window"`
	// Limit is the concurrency limit (concurrency), or the initial limit (adaptive_concurrency; default 20).
	Limit int `json:"limit" jsonschema:"minimum=0"`
	// MinLimit is the adaptive limit's floor (adaptive_concurrency; default 1).
	MinLimit int `json:"minLimit" jsonschema:"minimum=0"`
	// MaxLimit is the adaptive limit's ceiling (adaptive_concurrency; default 1000).
	MaxLimit int `json:"maxLimit" jsonschema:"minimum=0"`
	// Key partitions the limit: global, route, client_ip, api_key or jwt_sub (default global).
	Key string `json:"key" noun:"rate-limit key" jsonschema:"enum=global,enum=route,enum=client_ip,enum=api_key,enum=jwt_sub"`
}

// HealthCheck is Envoy's active health checking: an HTTP GET of path every
// interval (± jitter), healthy after healthyThreshold successes in a row and
// unhealthy after unhealthyThreshold failures in a row.
type HealthCheck struct {
	// Interval between checks of one endpoint (default 5s).
	Interval time.Duration `json:"interval"`
	// Timeout of one check (default 1s).
	Timeout time.Duration `json:"timeout"`
	// Jitter spreads checks by up to this fraction of interval (default 0).
	Jitter Fraction `json:"jitter"`
	// HealthyThreshold is the number of successes in a row that make an endpoint healthy (default 2).
	HealthyThreshold int `json:"healthyThreshold" jsonschema:"minimum=1"`
	// UnhealthyThreshold is the number of failures in a row that make it unhealthy (default 3).
	UnhealthyThreshold int `json:"unhealthyThreshold" jsonschema:"minimum=1"`
	// Path is the path checked (default "/healthz").
	Path string `json:"path" jsonschema:"pattern=^/"`
}

// PerTryTimeout is the effective per-try timeout: retries.perTryTimeout when
// set, else timeouts.perTry (0: none).
func (p Policy) PerTryTimeout() time.Duration {
	if p.Retries != nil && p.Retries.PerTryTimeout > 0 {
		return p.Retries.PerTryTimeout
	}
	return p.Timeouts.PerTry
}

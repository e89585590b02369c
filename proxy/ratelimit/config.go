package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Type names, as written in a scenario's rateLimit.type.
const (
	TypeTokenBucket         = "token_bucket"
	TypeSlidingWindow       = "sliding_window"
	TypeConcurrency         = "concurrency"
	TypeAdaptiveConcurrency = "adaptive_concurrency"
)

// Defaults applied to zero Config fields, in one place. The adaptive ones are
// the defaults of Envoy's adaptive concurrency filter (min_concurrency,
// max_concurrency_limit, min_rtt_calc_params, sample_aggregate_percentile)
// except DefaultSampleWindow, for which Envoy has no default.
const (
	DefaultWindow         = time.Second
	DefaultMinLimit       = 3
	DefaultMaxLimit       = 1000
	DefaultSampleWindow   = 100 * time.Millisecond
	DefaultPercentile     = 0.5
	DefaultMinRTTInterval = time.Minute
	DefaultMinRTTSamples  = 50
	DefaultMinRTTJitter   = 0.1
	DefaultBuffer         = 0.25
	DefaultMaxKeys        = 10000
	// DefaultMinIdleTTL is the floor of the derived IdleTTL (see Config).
	DefaultMinIdleTTL = time.Minute
)

// maxMinRTTSamples bounds the minRTT sample buffer, which is allocated up
// front.
const maxMinRTTSamples = 1 << 16

// Config selects and parameterises a limiter. Zero values mean the
// documented default; fields that do not apply to Type are ignored.
type Config struct {
	// Type is one of Names().
	Type string `json:"type" yaml:"type"`

	// Rate is token_bucket's refill rate in requests per second (required,
	// > 0). For sliding_window it is an alternative to Limit: when Limit is
	// 0, Limit is ⌈Rate × Window⌉.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	// Burst is token_bucket's bucket size; 0 means ⌈Rate⌉ (one second's
	// worth, at least 1), as an Envoy local rate limit whose max_tokens
	// equals tokens_per_fill with a 1s fill_interval.
	Burst int `json:"burst,omitempty" yaml:"burst,omitempty"`
	// Window is sliding_window's window length; 0 means 1s.
	Window time.Duration `json:"window,omitempty" yaml:"window,omitempty"`
	// Limit is sliding_window's requests per Window, concurrency's maximum
	// in flight (required, > 0), and adaptive_concurrency's initial limit
	// (0 means MinLimit).
	Limit int `json:"limit,omitempty" yaml:"limit,omitempty"`

	// MinLimit is adaptive_concurrency's lower bound, also the limit pinned
	// while minRTT is measured (Envoy min_concurrency); 0 means 3.
	MinLimit int `json:"minLimit,omitempty" yaml:"minLimit,omitempty"`
	// MaxLimit is adaptive_concurrency's upper bound (Envoy
	// max_concurrency_limit); 0 means 1000.
	MaxLimit int `json:"maxLimit,omitempty" yaml:"maxLimit,omitempty"`
	// SampleWindow is how often adaptive_concurrency recomputes its limit
	// from the latencies sampled since the last time (Envoy
	// concurrency_update_interval); 0 means 100ms.
	SampleWindow time.Duration `json:"sampleWindow,omitempty" yaml:"sampleWindow,omitempty"`
	// Percentile summarises a window's latencies (and the minRTT samples),
	// in (0, 1] (Envoy sample_aggregate_percentile / 100); 0 means 0.5.
	Percentile float64 `json:"percentile,omitempty" yaml:"percentile,omitempty"`
	// MinRTTInterval is how often minRTT is re-measured (Envoy
	// min_rtt_calc_params.interval); 0 means 60s.
	MinRTTInterval time.Duration `json:"minRttInterval,omitempty" yaml:"minRttInterval,omitempty"`
	// MinRTTSamples is how many latencies make one minRTT measurement (Envoy
	// request_count); 0 means 50.
	MinRTTSamples int `json:"minRttSamples,omitempty" yaml:"minRttSamples,omitempty"`
	// MinRTTJitter delays each minRTT measurement by a random fraction, in
	// [0, MinRTTJitter), of MinRTTInterval, so that a fleet does not pin its
	// limits all at once (Envoy jitter / 100). It needs Rand. 0 means 0.1; a
	// negative value means no jitter.
	MinRTTJitter float64 `json:"minRttJitter,omitempty" yaml:"minRttJitter,omitempty"`
	// Buffer is the fraction of minRTT that sample latencies may exceed it by
	// before the limit shrinks (Envoy min_rtt_calc_params.buffer); 0 means
	// 0.25; a negative value means no buffer.
	Buffer float64 `json:"buffer,omitempty" yaml:"buffer,omitempty"`
	// Rand draws adaptive_concurrency's jitter. The limiter owns it after
	// construction and uses it under its lock: do not share it with other
	// goroutines. nil means no jitter.
	Rand *rand.Rand `json:"-" yaml:"-"`

	// MaxKeys bounds how many keys a Keyed limiter tracks; past it the least
	// recently used key is forgotten. 0 means 10000.
	MaxKeys int `json:"maxKeys,omitempty" yaml:"maxKeys,omitempty"`
	// IdleTTL forgets a key that Keyed has not seen for this long. 0 means
	// the time after which an idle key's limiter is back to its initial
	// state anyway (Burst/Rate for token_bucket, 2×Window for
	// sliding_window), but at least one minute; forgetting then changes no
	// decision.
	IdleTTL time.Duration `json:"idleTtl,omitempty" yaml:"idleTtl,omitempty"`
}

var (
	rateTypes        = []string{TypeSlidingWindow, TypeTokenBucket}
	concurrencyTypes = []string{TypeAdaptiveConcurrency, TypeConcurrency}
)

// Names lists every valid Type, sorted.
func Names() []string {
	names := slices.Concat(rateTypes, concurrencyTypes)
	slices.Sort(names)
	return names
}

// IsConcurrency reports whether typ names a concurrency limiter (built with
// NewConcurrencyLimiter) rather than a rate limiter (built with New).
func IsConcurrency(typ string) bool {
	return slices.Contains(concurrencyTypes, typ)
}

// ErrUnknownType is wrapped by the error for a Type that is not one of Names.
var ErrUnknownType = errors.New("unknown limiter type")

// New builds the rate limiter cfg describes: a *TokenBucket or a
// *SlidingWindow.
func New(cfg Config) (Limiter, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	switch cfg.Type {
	case TypeTokenBucket:
		return NewTokenBucket(cfg.Rate, cfg.Burst), nil
	case TypeSlidingWindow:
		return NewSlidingWindow(cfg.Limit, cfg.Window), nil
	}
	return nil, fmt.Errorf("ratelimit: type %q is a concurrency limiter: build it with NewConcurrencyLimiter", cfg.Type)
}

// NewConcurrencyLimiter builds the concurrency limiter cfg describes: a
// *Concurrency or an *AdaptiveConcurrency.
func NewConcurrencyLimiter(cfg Config) (ConcurrencyLimiter, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	switch cfg.Type {
	case TypeConcurrency:
		return NewConcurrency(cfg.Limit), nil
	case TypeAdaptiveConcurrency:
		return newAdaptiveConcurrency(cfg), nil
	}
	return nil, fmt.Errorf("ratelimit: type %q is a rate limiter: build it with New", cfg.Type)
}

// resolve applies defaults and validates, returning the first problem.
func (c Config) resolve() (Config, error) {
	if !slices.Contains(Names(), c.Type) {
		return c, fmt.Errorf("ratelimit: %w %q (valid: %s)", ErrUnknownType, c.Type, strings.Join(Names(), ", "))
	}
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("ratelimit: %s: "+format, append([]any{c.Type}, args...)...)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return bad("rate %v: must be a finite number >= 0", c.Rate)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"burst", c.Burst}, {"limit", c.Limit}, {"minLimit", c.MinLimit}, {"maxLimit", c.MaxLimit},
		{"minRttSamples", c.MinRTTSamples}, {"maxKeys", c.MaxKeys}} {
		if f.v < 0 {
			return bad("%s %d: must be >= 0", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"window", c.Window}, {"sampleWindow", c.SampleWindow}, {"minRttInterval", c.MinRTTInterval}, {"idleTtl", c.IdleTTL}} {
		if f.v < 0 {
			return bad("%s %v: must be >= 0", f.name, f.v)
		}
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}

	switch c.Type {
	case TypeTokenBucket:
		if c.Rate == 0 {
			return bad("rate must be > 0")
		}
		if c.Burst == 0 {
			c.Burst = max(1, int(math.Min(math.Ceil(c.Rate), math.MaxInt32)))
		}
		if c.IdleTTL == 0 {
			c.IdleTTL = max(DefaultMinIdleTTL, time.Duration(float64(c.Burst)/c.Rate*float64(time.Second)))
		}
	case TypeSlidingWindow:
		if c.Window == 0 {
			c.Window = DefaultWindow
		}
		if c.Limit == 0 {
			c.Limit = int(math.Min(math.Ceil(c.Rate*c.Window.Seconds()), math.MaxInt32))
		}
		if c.Limit == 0 {
			return bad("limit (or rate) must be > 0")
		}
		if c.IdleTTL == 0 {
			c.IdleTTL = max(DefaultMinIdleTTL, 2*c.Window)
		}
	case TypeConcurrency:
		if c.Limit == 0 {
			return bad("limit must be > 0")
		}
	case TypeAdaptiveConcurrency:
		return c.resolveAdaptive()
	}
	return c, nil
}

func (c Config) resolveAdaptive() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("ratelimit: %s: "+format, append([]any{c.Type}, args...)...)
	}
	if c.MinLimit == 0 {
		c.MinLimit = DefaultMinLimit
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = max(DefaultMaxLimit, c.MinLimit)
	}
	if c.Limit == 0 {
		c.Limit = c.MinLimit
	}
	if c.MinLimit > c.MaxLimit {
		return bad("minLimit %d > maxLimit %d", c.MinLimit, c.MaxLimit)
	}
	if c.Limit < c.MinLimit || c.Limit > c.MaxLimit {
		return bad("limit %d outside [minLimit %d, maxLimit %d]", c.Limit, c.MinLimit, c.MaxLimit)
	}
	if c.SampleWindow == 0 {
		c.SampleWindow = DefaultSampleWindow
	}
	if c.MinRTTInterval == 0 {
		c.MinRTTInterval = DefaultMinRTTInterval
	}
	if c.MinRTTSamples == 0 {
		c.MinRTTSamples = DefaultMinRTTSamples
	}
	if c.MinRTTSamples > maxMinRTTSamples {
		return bad("minRttSamples %d: must be <= %d", c.MinRTTSamples, maxMinRTTSamples)
	}
	switch {
	case c.Percentile == 0:
		c.Percentile = DefaultPercentile
	case !(c.Percentile > 0 && c.Percentile <= 1):
		return bad("percentile %v: must be in (0, 1]", c.Percentile)
	}
	switch {
	case c.MinRTTJitter == 0:
		c.MinRTTJitter = DefaultMinRTTJitter
	case c.MinRTTJitter < 0:
		c.MinRTTJitter = 0
	case !(c.MinRTTJitter <= 1):
		return bad("minRttJitter %v: must be <= 1", c.MinRTTJitter)
	}
	switch {
	case c.Buffer == 0:
		c.Buffer = DefaultBuffer
	case c.Buffer < 0:
		c.Buffer = 0
	case math.IsNaN(c.Buffer) || math.IsInf(c.Buffer, 0):
		return bad("buffer %v: must be finite", c.Buffer)
	}
	return c, nil
}

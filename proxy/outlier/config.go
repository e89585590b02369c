package outlier

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Envoy's defaults (config.cluster.v3.OutlierDetection), applied by New to zero
// Config fields. The default MaxEjectionTime is DefaultMaxEjectionTime or
// BaseEjectionTime, whichever is larger, as in Envoy.
const (
	DefaultInterval                               = 10 * time.Second
	DefaultBaseEjectionTime                       = 30 * time.Second
	DefaultMaxEjectionTime                        = 300 * time.Second
	DefaultMaxEjectionPercent                     = 10
	DefaultConsecutive5xx                         = 5
	DefaultConsecutiveGatewayFailure              = 5
	DefaultConsecutiveLocalOriginFailure          = 5
	DefaultEnforcingConsecutive5xx                = 100
	DefaultEnforcingConsecutiveGatewayFailure     = 0
	DefaultEnforcingConsecutiveLocalOriginFailure = 100
	DefaultSuccessRateStdevFactor                 = 1.9
	DefaultSuccessRateMinimumHosts                = 5
	DefaultSuccessRateRequestVolume               = 100
	DefaultEnforcingSuccessRate                   = 100
	DefaultEnforcingLocalOriginSuccessRate        = 100
	DefaultFailurePercentageThreshold             = 85
	DefaultFailurePercentageMinimumHosts          = 5
	DefaultFailurePercentageRequestVolume         = 50
	DefaultEnforcingFailurePercentage             = 0
	DefaultEnforcingFailurePercentageLocalOrigin  = 0
)

// None is Envoy's explicit 0 for an integer field. Envoy tells "not specified" (use
// the default) from an explicit 0; a Go int has one zero, so 0 keeps Envoy's "not
// specified" and None, or any negative value, stands for Envoy's 0. Examples:
// Consecutive5xx: None turns that detector off, EnforcingConsecutive5xx: None detects
// but never ejects, MaxEjectionPercent: None ejects nothing (unless
// AlwaysEjectOneHost).
const None = -1

// maxDuration bounds the configured durations so that ejection arithmetic cannot
// overflow.
const maxDuration = 10 * 365 * 24 * time.Hour

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid outlier detection config")

// Config configures a Detector with Envoy's outlier-detection settings, named as in
// Envoy's API. Zero values mean Envoy's defaults (the Default* constants); for
// integers, None means Envoy's explicit 0. Percentages are whole percent, 0..100.
type Config struct {
	// Interval is how often the caller sweeps (Envoy's interval). The Detector
	// uses it to decide when a returned host has been well long enough to shrink
	// its ejection multiplier; the caller's Sweep calls define the intervals.
	Interval time.Duration
	// BaseEjectionTime is the ejection time at multiplier 1.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps the ejection time; it must not be below
	// BaseEjectionTime.
	MaxEjectionTime time.Duration
	// MaxEjectionTimeJitter adds a random 0..jitter to each ejection time so that
	// hosts ejected together do not return together (Envoy's
	// max_ejection_time_jitter; default 0).
	MaxEjectionTimeJitter time.Duration
	// MaxEjectionPercent is the largest share of the cluster's hosts that may be
	// ejected at once; an ejection that would exceed it is refused (Envoy's
	// ejections_overflow).
	MaxEjectionPercent int
	// AlwaysEjectOneHost allows one ejection even when MaxEjectionPercent would
	// not (Envoy's always_eject_one_host, default false).
	AlwaysEjectOneHost bool

	// Consecutive5xx ejects a host after this many 5xx in a row (and local-origin
	// failures, unless SplitExternalLocalOriginErrors).
	Consecutive5xx int
	// ConsecutiveGatewayFailure ejects after this many 502/503/504 in a row (and
	// local-origin failures, unless split).
	ConsecutiveGatewayFailure int
	// EnforcingConsecutive5xx is the chance, in percent, that a consecutive-5xx
	// detection ejects (default 100).
	EnforcingConsecutive5xx int
	// EnforcingConsecutiveGatewayFailure is the same for gateway failures. Envoy's
	// default is 0: detected and counted, never enforced.
	EnforcingConsecutiveGatewayFailure int

	// SplitExternalLocalOriginErrors counts locally originated failures (connect
	// failure, reset, timeout) apart from the responses the host sent, with their
	// own consecutive counter and their own success rate (Envoy's
	// split_external_local_origin_errors, default false).
	SplitExternalLocalOriginErrors bool
	// ConsecutiveLocalOriginFailure ejects after this many local-origin failures
	// in a row; used only when split.
	ConsecutiveLocalOriginFailure int
	// EnforcingConsecutiveLocalOriginFailure is its enforcement percentage
	// (default 100).
	EnforcingConsecutiveLocalOriginFailure int

	SuccessRate       SuccessRate
	FailurePercentage FailurePercentage

	// Rand is drawn from when an enforcement percentage lies strictly between 0
	// and 100, and for jitter. The Detector draws under its own lock, so give it a
	// stream of its own. nil means a fixed-seed PCG, so runs stay reproducible.
	Rand *rand.Rand `json:"-" yaml:"-"`
}

// SuccessRate configures success-rate outlier detection: at each sweep, among the
// hosts with at least RequestVolume requests in the interval (there must be at
// least MinimumHosts of them), a host whose success rate is below
// mean − StdevFactor × stdev is an outlier.
type SuccessRate struct {
	// StdevFactor is the factor itself, e.g. 1.9 (the default). Envoy's
	// success_rate_stdev_factor is an integer holding the factor × 1000; values of
	// 100 or more are read that way (1900 means 1.9), so a number copied from an
	// Envoy config means the same here. No sensible factor is that large: mean −
	// 100 × stdev is below zero whenever the rates differ at all.
	StdevFactor   float64
	MinimumHosts  int
	RequestVolume int
	// Enforcing is the enforcement percentage for success-rate ejections
	// (default 100).
	Enforcing int
	// EnforcingLocalOrigin is the same for the local-origin success rate, used
	// only when split (default 100).
	EnforcingLocalOrigin int
}

// FailurePercentage configures failure-percentage outlier detection: at each
// sweep, among the hosts with at least RequestVolume requests in the interval
// (there must be at least MinimumHosts of them), a host whose failure percentage
// is Threshold or more is an outlier. Envoy's enforcement defaults to 0, so the
// detector is off until Enforcing is set.
type FailurePercentage struct {
	Threshold            int
	MinimumHosts         int
	RequestVolume        int
	Enforcing            int
	EnforcingLocalOrigin int
}

// Validate reports the first out-of-range field, wrapping ErrInvalidConfig. Zero
// values and None are valid.
func (c Config) Validate() error {
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"Interval", c.Interval}, {"BaseEjectionTime", c.BaseEjectionTime},
		{"MaxEjectionTime", c.MaxEjectionTime}, {"MaxEjectionTimeJitter", c.MaxEjectionTimeJitter},
	}
	for _, d := range durations {
		if d.v < 0 || d.v > maxDuration {
			return fmt.Errorf("%w: %s %v is not within [0, %v]", ErrInvalidConfig, d.name, d.v, maxDuration)
		}
	}
	percents := []struct {
		name string
		v    int
	}{
		{"MaxEjectionPercent", c.MaxEjectionPercent},
		{"EnforcingConsecutive5xx", c.EnforcingConsecutive5xx},
		{"EnforcingConsecutiveGatewayFailure", c.EnforcingConsecutiveGatewayFailure},
		{"EnforcingConsecutiveLocalOriginFailure", c.EnforcingConsecutiveLocalOriginFailure},
		{"SuccessRate.Enforcing", c.SuccessRate.Enforcing},
		{"SuccessRate.EnforcingLocalOrigin", c.SuccessRate.EnforcingLocalOrigin},
		{"FailurePercentage.Threshold", c.FailurePercentage.Threshold},
		{"FailurePercentage.Enforcing", c.FailurePercentage.Enforcing},
		{"FailurePercentage.EnforcingLocalOrigin", c.FailurePercentage.EnforcingLocalOrigin},
	}
	for _, p := range percents {
		if p.v > 100 {
			return fmt.Errorf("%w: %s %d is above 100 percent", ErrInvalidConfig, p.name, p.v)
		}
	}
	if f := c.SuccessRate.StdevFactor; math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return fmt.Errorf("%w: SuccessRate.StdevFactor %v is not a non-negative number", ErrInvalidConfig, f)
	}
	if s := c.resolve(); s.maxEjection < s.base {
		return fmt.Errorf("%w: MaxEjectionTime %v is below BaseEjectionTime %v", ErrInvalidConfig, s.maxEjection, s.base)
	}
	return nil
}

// settings is a Config with every default applied and every None resolved to 0.
type settings struct {
	interval, base, maxEjection, jitter time.Duration
	maxPercent                          int
	alwaysOne, split                    bool

	consec5xx, consecGateway, consecLocal   int
	enf5xx, enfGateway, enfLocal            int
	srFactor                                float64
	srMinHosts, srVolume, enfSR, enfSRLocal int
	fpThreshold, fpMinHosts, fpVolume       int
	enfFP, enfFPLocal                       int
}

func (c Config) resolve() settings {
	dur := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	s := settings{
		interval:    dur(c.Interval, DefaultInterval),
		base:        dur(c.BaseEjectionTime, DefaultBaseEjectionTime),
		jitter:      c.MaxEjectionTimeJitter,
		maxPercent:  num(c.MaxEjectionPercent, DefaultMaxEjectionPercent),
		alwaysOne:   c.AlwaysEjectOneHost,
		split:       c.SplitExternalLocalOriginErrors,
		consec5xx:   num(c.Consecutive5xx, DefaultConsecutive5xx),
		consecLocal: num(c.ConsecutiveLocalOriginFailure, DefaultConsecutiveLocalOriginFailure),
		enf5xx:      num(c.EnforcingConsecutive5xx, DefaultEnforcingConsecutive5xx),
		enfLocal:    num(c.EnforcingConsecutiveLocalOriginFailure, DefaultEnforcingConsecutiveLocalOriginFailure),
		srMinHosts:  num(c.SuccessRate.MinimumHosts, DefaultSuccessRateMinimumHosts),
		srVolume:    num(c.SuccessRate.RequestVolume, DefaultSuccessRateRequestVolume),
		enfSR:       num(c.SuccessRate.Enforcing, DefaultEnforcingSuccessRate),
		enfSRLocal:  num(c.SuccessRate.EnforcingLocalOrigin, DefaultEnforcingLocalOriginSuccessRate),
		fpThreshold: num(c.FailurePercentage.Threshold, DefaultFailurePercentageThreshold),
		fpMinHosts:  num(c.FailurePercentage.MinimumHosts, DefaultFailurePercentageMinimumHosts),
		fpVolume:    num(c.FailurePercentage.RequestVolume, DefaultFailurePercentageRequestVolume),
		enfFP:       num(c.FailurePercentage.Enforcing, DefaultEnforcingFailurePercentage),
		enfFPLocal:  num(c.FailurePercentage.EnforcingLocalOrigin, DefaultEnforcingFailurePercentageLocalOrigin),
	}
	s.consecGateway = num(c.ConsecutiveGatewayFailure, DefaultConsecutiveGatewayFailure)
	s.enfGateway = num(c.EnforcingConsecutiveGatewayFailure, DefaultEnforcingConsecutiveGatewayFailure)
	s.maxEjection = dur(c.MaxEjectionTime, max(DefaultMaxEjectionTime, s.base))
	switch f := c.SuccessRate.StdevFactor; {
	case f == 0:
		s.srFactor = DefaultSuccessRateStdevFactor
	case f >= 100:
		s.srFactor = f / 1000
	default:
		s.srFactor = f
	}
	return s
}

// num resolves an integer field: 0 is the default, negative is Envoy's explicit 0.
func num(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

package health

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults applied to zero Config fields. Envoy requires these values to be
// configured; these are meshbench's choices.
const (
	DefaultInterval           = 5 * time.Second
	DefaultTimeout            = time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3
)

// Config configures a Tracker. The names follow Envoy's HealthCheck message.
type Config struct {
	// Interval is the wait between the end of one probe of an endpoint and
	// the start of the next. Zero means DefaultInterval.
	Interval time.Duration
	// Timeout is how long the prober waits for an answer before reporting
	// a failure. The Tracker only carries it. Zero means DefaultTimeout.
	Timeout time.Duration
	// Jitter adds a random wait in [0, Jitter × Interval) to every
	// interval, as Envoy's interval_jitter_percent (expressed as a
	// fraction: 0.1 is 10%). Zero adds none.
	Jitter float64
	// InitialJitter delays an endpoint's first probe by a random wait in
	// [0, InitialJitter) after it is added, as Envoy's initial_jitter.
	// Zero probes it at once.
	InitialJitter time.Duration
	// HealthyThreshold is how many consecutive successes make an unhealthy
	// endpoint healthy. Zero means DefaultHealthyThreshold.
	HealthyThreshold int
	// UnhealthyThreshold is how many consecutive failures make a healthy
	// endpoint unhealthy. Zero means DefaultUnhealthyThreshold.
	UnhealthyThreshold int
	// Path is the HTTP path the prober requests. The Tracker only carries
	// it; empty means the prober's own default.
	Path string
	// StartHealthy makes new endpoints healthy before their first probe.
	// When false (the zero value) they start unhealthy, as in Envoy, and
	// the first successful probe makes them healthy at once, whatever
	// HealthyThreshold says. DefaultConfig sets it to true, which suits the
	// simulator: a fleet is usable from its first request.
	StartHealthy bool
}

// DefaultConfig returns the defaults above with StartHealthy set.
func DefaultConfig() Config {
	return Config{
		Interval:           DefaultInterval,
		Timeout:            DefaultTimeout,
		HealthyThreshold:   DefaultHealthyThreshold,
		UnhealthyThreshold: DefaultUnhealthyThreshold,
		StartHealthy:       true,
	}
}

// withDefaults validates cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v: must be >= 0 (0 means %v)", cfg.Interval, DefaultInterval))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: must be >= 0 (0 means %v)", cfg.Timeout, DefaultTimeout))
	}
	if math.IsNaN(cfg.Jitter) || math.IsInf(cfg.Jitter, 0) || cfg.Jitter < 0 {
		errs = append(errs, fmt.Errorf("jitter %v: must be a fraction >= 0", cfg.Jitter))
	}
	if cfg.InitialJitter < 0 {
		errs = append(errs, fmt.Errorf("initial jitter %v: must be >= 0", cfg.InitialJitter))
	}
	if cfg.HealthyThreshold < 0 {
		errs = append(errs, fmt.Errorf("healthy threshold %d: must be >= 0 (0 means %d)", cfg.HealthyThreshold, DefaultHealthyThreshold))
	}
	if cfg.UnhealthyThreshold < 0 {
		errs = append(errs, fmt.Errorf("unhealthy threshold %d: must be >= 0 (0 means %d)", cfg.UnhealthyThreshold, DefaultUnhealthyThreshold))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("health check: %w", err)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HealthyThreshold == 0 {
		cfg.HealthyThreshold = DefaultHealthyThreshold
	}
	if cfg.UnhealthyThreshold == 0 {
		cfg.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if cfg.Jitter*float64(cfg.Interval) >= math.MaxInt64/2 {
		return cfg, fmt.Errorf("health check: jitter %v of interval %v: too large", cfg.Jitter, cfg.Interval)
	}
	return cfg, nil
}

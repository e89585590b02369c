package breaker

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults that New applies to zero-valued Config fields. The trip and timing
// defaults are Hystrix's: circuitBreaker.errorThresholdPercentage 50,
// requestVolumeThreshold 20, sleepWindowInMilliseconds 5000, and a 10 s rolling
// window of 10 buckets. Hystrix lets a single trial request through when the sleep
// window ends, hence one half-open probe.
const (
	DefaultFailureRatio   = 0.5
	DefaultMinRequests    = 20
	DefaultWindow         = 10 * time.Second
	DefaultBuckets        = 10
	DefaultSleepWindow    = 5 * time.Second
	DefaultHalfOpenProbes = 1
)

// maxBuckets bounds the memory one Breaker's window may take.
const maxBuckets = 1 << 16

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid circuit breaker config")

// Config configures a Breaker. Every zero value means "use the default" as listed per
// field; New applies them in one place (see DefaultFailureRatio and the constants
// beside it).
type Config struct {
	// FailureRatio trips the circuit when failures / outcomes over the window reach
	// it, provided the window holds at least MinRequests outcomes. 0 turns the ratio
	// condition off, unless ConsecutiveFailures is 0 too: a Config with neither
	// condition gets DefaultFailureRatio, so the zero Config is a Hystrix breaker.
	FailureRatio float64
	// MinRequests is the volume the window must hold before FailureRatio is
	// considered. 0 means DefaultMinRequests; set 1 to judge from the first outcome.
	MinRequests int
	// ConsecutiveFailures trips the circuit after that many failures in a row while
	// closed. 0 turns the condition off.
	ConsecutiveFailures int
	// Window is the span of the rolling window of outcomes (0: DefaultWindow).
	Window time.Duration
	// Buckets is how many buckets Window is cut into (0: DefaultBuckets). The window
	// slides one bucket at a time, so it covers between Window-Window/Buckets and
	// Window of history.
	Buckets int
	// SleepWindow is how long the circuit stays open before admitting probes
	// (0: DefaultSleepWindow). It is also how long a half-open circuit waits for
	// its probes: once every probe has been admitted and a SleepWindow has passed,
	// the probes that have not reported are taken as lost and replaced, so a probe
	// whose outcome never comes cannot hold the circuit half-open for ever.
	SleepWindow time.Duration
	// HalfOpenProbes is how many trial requests a half-open circuit admits
	// (0: DefaultHalfOpenProbes). All of them must succeed for it to close; the
	// first failure reopens it.
	HalfOpenProbes int
}

// Validate reports the first field that is out of range, wrapping ErrInvalidConfig.
// Zero values are valid: they mean the defaults.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.FailureRatio) || c.FailureRatio < 0 || c.FailureRatio > 1:
		return fmt.Errorf("%w: FailureRatio %v is not within [0, 1]", ErrInvalidConfig, c.FailureRatio)
	case c.MinRequests < 0:
		return fmt.Errorf("%w: MinRequests %d is negative", ErrInvalidConfig, c.MinRequests)
	case c.ConsecutiveFailures < 0:
		return fmt.Errorf("%w: ConsecutiveFailures %d is negative", ErrInvalidConfig, c.ConsecutiveFailures)
	case c.Window < 0:
		return fmt.Errorf("%w: Window %v is negative", ErrInvalidConfig, c.Window)
	case c.Buckets < 0 || c.Buckets > maxBuckets:
		return fmt.Errorf("%w: Buckets %d is not within [0, %d]", ErrInvalidConfig, c.Buckets, maxBuckets)
	case c.SleepWindow < 0:
		return fmt.Errorf("%w: SleepWindow %v is negative", ErrInvalidConfig, c.SleepWindow)
	case c.HalfOpenProbes < 0:
		return fmt.Errorf("%w: HalfOpenProbes %d is negative", ErrInvalidConfig, c.HalfOpenProbes)
	}
	d := c.withDefaults()
	if d.Window < time.Duration(d.Buckets) {
		return fmt.Errorf("%w: Window %v is shorter than %d buckets of 1ns", ErrInvalidConfig, d.Window, d.Buckets)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.FailureRatio == 0 && c.ConsecutiveFailures == 0 {
		c.FailureRatio = DefaultFailureRatio
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultMinRequests
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Buckets == 0 {
		c.Buckets = DefaultBuckets
	}
	if c.SleepWindow == 0 {
		c.SleepWindow = DefaultSleepWindow
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return c
}

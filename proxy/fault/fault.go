package fault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Distribution is a delay distribution: a draw from a caller-supplied
// stream. scenarios.Distribution satisfies it.
type Distribution interface {
	Sample(r *rand.Rand) time.Duration
}

// DefaultHeader is the header of HeaderMatch when Name is empty.
const DefaultHeader = "X-Meshbench-Fault"

// Delay delays a percentage of requests, as Envoy's fault delay.
type Delay struct {
	// Fixed is the delay when Distribution is nil.
	Fixed time.Duration `yaml:"fixed,omitempty" json:"fixed,omitempty"`
	// Distribution, when set, draws each delay (negative draws count as 0).
	// It is code, not configuration: set it from a scenarios.Distribution.
	Distribution Distribution `yaml:"-" json:"-"`
	// Percentage of requests delayed, 0 to 100.
	Percentage float64 `yaml:"percentage" json:"percentage"`
}

// Abort answers a percentage of requests with Status, as Envoy's fault
// abort, without forwarding them.
type Abort struct {
	// Status is the HTTP status, 200 to 599 (Envoy's range).
	Status int `yaml:"status" json:"status"`
	// Percentage of requests aborted, 0 to 100.
	Percentage float64 `yaml:"percentage" json:"percentage"`
}

// HeaderMatch restricts the faults to requests that carry a header, as the
// headers matcher of Envoy's fault filter: a test client opts its own
// requests in while the rest of the traffic flows untouched.
type HeaderMatch struct {
	// Name is the header (default X-Meshbench-Fault).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Value, when set, must equal the header's value; empty accepts any.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
}

// Config is one route's fault injection. A nil Delay or Abort injects none
// of that kind.
type Config struct {
	Delay *Delay `yaml:"delay,omitempty" json:"delay,omitempty"`
	Abort *Abort `yaml:"abort,omitempty" json:"abort,omitempty"`
	// Match, when set, limits the faults to requests carrying its header.
	Match *HeaderMatch `yaml:"match,omitempty" json:"match,omitempty"`
	// MaxActive bounds the requests that are being faulted at once (0:
	// unbounded); beyond it requests pass untouched, as Envoy's
	// max_active_faults.
	MaxActive int `yaml:"maxActive,omitempty" json:"maxActive,omitempty"`
}

func (c *Config) validate() error {
	var errs []error
	if d := c.Delay; d != nil {
		if d.Fixed < 0 {
			errs = append(errs, fmt.Errorf("delay: negative fixed delay %v", d.Fixed))
		}
		if d.Fixed == 0 && d.Distribution == nil {
			errs = append(errs, errors.New("delay: neither a fixed delay nor a distribution"))
		}
		if err := checkPercentage(d.Percentage); err != nil {
			errs = append(errs, fmt.Errorf("delay: %w", err))
		}
	}
	if a := c.Abort; a != nil {
		if a.Status < 200 || a.Status > 599 {
			errs = append(errs, fmt.Errorf("abort: status %d is not in 200..599", a.Status))
		}
		if err := checkPercentage(a.Percentage); err != nil {
			errs = append(errs, fmt.Errorf("abort: %w", err))
		}
	}
	if c.MaxActive < 0 {
		errs = append(errs, fmt.Errorf("negative maxActive %d", c.MaxActive))
	}
	if len(errs) > 0 {
		return fmt.Errorf("fault: %w", errors.Join(errs...))
	}
	return nil
}

func checkPercentage(p float64) error {
	if !(p >= 0 && p <= 100) { // also refuses NaN
		return fmt.Errorf("percentage %v is not in 0..100", p)
	}
	return nil
}

// Decision is what the filter does to one request.
type Decision struct {
	// Delay is how long to hold the request first (0: no delay).
	Delay time.Duration
	// Abort is the status to answer with instead of forwarding (0: forward).
	Abort int
}

// IsZero reports whether d leaves the request alone.
func (d Decision) IsZero() bool { return d.Delay == 0 && d.Abort == 0 }

// decide draws the delay, then the abort, from r: a pure function of the
// config and r.
func (c *Config) decide(r *rand.Rand) Decision {
	var d Decision
	if c.Delay != nil && hit(r, c.Delay.Percentage) {
		d.Delay = c.Delay.Fixed
		if c.Delay.Distribution != nil {
			d.Delay = max(0, c.Delay.Distribution.Sample(r))
		}
	}
	if c.Abort != nil && hit(r, c.Abort.Percentage) {
		d.Abort = c.Abort.Status
	}
	return d
}

// hit draws one Bernoulli trial with probability pct/100. A draw is taken
// even at 0% and 100% so that the stream's position does not depend on the
// configured percentages.
func hit(r *rand.Rand, pct float64) bool { return r.Float64()*100 < pct }

package quota

import (
	"fmt"
	"sync"
	"time"
)

// Periods a quota renews over.
const (
	Second = "second"
	Minute = "minute"
	Hour   = "hour"
	Day    = "day"
	Month  = "month"
)

// Periods lists the periods in increasing length.
var Periods = []string{Second, Minute, Hour, Day, Month}

// Config is one quota: Limit requests per Period for each key.
type Config struct {
	// Limit is the number of requests a key may make per window (at least 1).
	Limit int64 `yaml:"limit" json:"limit"`
	// Period is second, minute, hour, day or month.
	Period string `yaml:"period" json:"period"`
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	if c.Limit < 1 {
		return fmt.Errorf("quota: limit must be at least 1, got %d", c.Limit)
	}
	if !validPeriod(c.Period) {
		return fmt.Errorf("quota: period %q: want second, minute, hour, day or month", c.Period)
	}
	return nil
}

func validPeriod(p string) bool {
	for _, q := range Periods {
		if p == q {
			return true
		}
	}
	return false
}

// WindowStart is the start of the window of period that holds t: t
// truncated to the period in UTC (the first of t's month at midnight for
// month). It panics on an unknown period (Config.Validate refuses it).
func WindowStart(period string, t time.Time) time.Time {
	t = t.UTC()
	switch period {
	case Second:
		return t.Truncate(time.Second)
	case Minute:
		return t.Truncate(time.Minute)
	case Hour:
		return t.Truncate(time.Hour)
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	panic("quota: unknown period " + period)
}

// WindowEnd is the end of the window of period that starts at start (a
// WindowStart): the next window's start.
func WindowEnd(period string, start time.Time) time.Time {
	switch period {
	case Second:
		return start.Add(time.Second)
	case Minute:
		return start.Add(time.Minute)
	case Hour:
		return start.Add(time.Hour)
	case Day:
		return start.AddDate(0, 0, 1)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	panic("quota: unknown period " + period)
}

// Decision is a quota's answer for one request, with what the RateLimit
// header fields (IETF draft-ietf-httpapi-ratelimit-headers) and Kong's
// X-RateLimit-* fields report.
type Decision struct {
	// Allowed reports whether the request is within the key's quota; it
	// was counted if so.
	Allowed bool
	// Limit is the quota per window.
	Limit int64
	// Remaining is how many more requests the key may make in this window.
	Remaining int64
	// Reset is the time until the window ends and the quota renews: the
	// Retry-After of a refused request.
	Reset time.Duration
}

// Quota counts each key's requests in the current window of its period.
// Every key shares the window boundaries, so when a request arrives in a
// new window every count starts again from zero and the old counts are
// dropped: memory holds the keys seen in one window. A request whose time
// lies before the current window (a caller's clock read just before
// another's) is counted in the current window.
//
// A refused request is not counted, as Kong counts only the requests it
// lets through. Quota is safe for concurrent use.
type Quota struct {
	cfg Config

	mu    sync.Mutex
	start time.Time // the current window
	end   time.Time
	used  map[string]int64
}

// New returns the quota c describes.
func New(c Config) (*Quota, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Quota{cfg: c, used: map[string]int64{}}, nil
}

// Config is the quota's configuration.
func (q *Quota) Config() Config { return q.cfg }

// Allow counts a request of key at now if key has quota left in now's
// window.
func (q *Quota) Allow(now time.Time, key string) Decision {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end.IsZero() || !now.Before(q.end) {
		q.start = WindowStart(q.cfg.Period, now)
		q.end = WindowEnd(q.cfg.Period, q.start)
		clear(q.used)
	}
	d := Decision{Limit: q.cfg.Limit, Reset: q.end.Sub(now)}
	if d.Reset > q.end.Sub(q.start) {
		d.Reset = q.end.Sub(q.start) // a time before the window
	}
	n := q.used[key]
	if n >= q.cfg.Limit {
		return d
	}
	n++
	q.used[key] = n
	d.Allowed, d.Remaining = true, q.cfg.Limit-n
	return d
}

// Keys is the number of keys counted in the current window.
func (q *Quota) Keys() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.used)
}

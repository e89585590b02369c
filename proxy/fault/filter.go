package fault

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Filter applies a Config to HTTP requests. It is safe for concurrent use.
type Filter struct {
	cfg    Config
	header string // canonical Match header, "" when unmatched

	mu  sync.Mutex // guards rng: a *rand.Rand is not safe for concurrent use
	rng *rand.Rand

	active atomic.Int64

	// wait holds a request for d; tests replace it to observe delays
	// without sleeping.
	wait func(ctx context.Context, d time.Duration) error
}

// New checks cfg and returns a filter drawing from rng (seed it for
// reproducible runs; required).
func New(cfg Config, rng *rand.Rand) (*Filter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("fault: a *rand.Rand is required")
	}
	f := &Filter{cfg: cfg, rng: rng, wait: sleepCtx}
	if cfg.Match != nil {
		f.header = http.CanonicalHeaderKey(cfg.Match.Name)
		if f.header == "" {
			f.header = DefaultHeader
		}
	}
	return f, nil
}

// Decide draws the decision for one request from r, without looking at the
// request or at MaxActive: the pure core that the middleware and the
// simulator share.
func (f *Filter) Decide(r *rand.Rand) Decision { return f.cfg.decide(r) }

// Applies reports whether the request is eligible under Match.
func (f *Filter) Applies(h http.Header) bool {
	if f.cfg.Match == nil {
		return true
	}
	vs, ok := h[f.header]
	if !ok {
		return false
	}
	if f.cfg.Match.Value == "" {
		return true
	}
	for _, v := range vs {
		if v == f.cfg.Match.Value {
			return true
		}
	}
	return false
}

// Middleware returns next behind the filter: an eligible request is delayed
// and/or aborted as drawn; others reach next untouched.
func (f *Filter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.Applies(r.Header) {
			next.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		d := f.cfg.decide(f.rng)
		f.mu.Unlock()
		if d.IsZero() || !f.acquire() {
			next.ServeHTTP(w, r)
			return
		}
		defer f.active.Add(-1)
		if d.Delay > 0 {
			if err := f.wait(r.Context(), d.Delay); err != nil {
				http.Error(w, "fault delay interrupted: "+err.Error(), http.StatusGatewayTimeout)
				return
			}
		}
		if d.Abort != 0 {
			http.Error(w, "fault filter abort", d.Abort)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// acquire counts one more active fault unless MaxActive are active.
func (f *Filter) acquire() bool {
	if f.cfg.MaxActive == 0 {
		f.active.Add(1)
		return true
	}
	for {
		n := f.active.Load()
		if n >= int64(f.cfg.MaxActive) {
			return false
		}
		if f.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Active is the number of requests being faulted now.
func (f *Filter) Active() int { return int(f.active.Load()) }

// sleepCtx waits d or until ctx ends, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

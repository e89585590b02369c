package retry

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Defaults applied to zero HedgeConfig fields.
const (
	// DefaultMaxHedges is the number of extra copies when MaxHedges is zero.
	DefaultMaxHedges = 1
	// DefaultHedgeMinSamples is how many observations percentile mode needs
	// before it trusts its estimate over the configured Delay.
	DefaultHedgeMinSamples = 100
	// DefaultHedgeWindow is the age at which observations start to be
	// forgotten.
	DefaultHedgeWindow = 10 * time.Second
)

// HedgeConfig configures a Hedger.
type HedgeConfig struct {
	// Delay is how long to wait for an answer before sending a hedge. In
	// percentile mode it is the fallback until MinSamples latencies have
	// been observed. Must be positive.
	Delay time.Duration
	// Percentile, when non-zero, switches to percentile mode: hedge once
	// the request has been outstanding longer than this percentile (in
	// (0, 100), e.g. 95) of recently observed latencies, as "The Tail at
	// Scale" suggests. Zero keeps the fixed Delay.
	Percentile float64
	// MaxHedges is the most extra copies one request may have in flight
	// beside the original. Zero means DefaultMaxHedges.
	MaxHedges int
	// MinSamples is how many observations in the window percentile mode
	// needs before it replaces Delay. Zero means DefaultHedgeMinSamples.
	MinSamples int
	// Window sets how fast old latencies are forgotten: the estimate covers
	// between one and two windows of observations. Zero means
	// DefaultHedgeWindow.
	Window time.Duration
}

// Hedger says when to send a hedged (backup) copy of a request that has not
// answered yet, as the hedged requests of Dean and Barroso, "The Tail at
// Scale" (CACM 2013), and Finagle's backup requests: sending the copy after
// the p-th percentile of latency bounds the extra load to roughly (100−p)%
// while cutting the tail.
//
// In percentile mode, Observe feeds each completed attempt's latency into a
// log-bucketed histogram (at most 1/16 relative error, O(1), no allocation).
// Observations age out in two generations: once Window has passed since the
// current generation began, it becomes the previous one and the one before is
// dropped, so the estimate always covers the last one to two windows. Delay
// returns the nearest-rank percentile of those observations, rounded up to
// its bucket's upper edge: never below the true percentile of the recorded
// latencies and less than 1/16 above it.
//
// The Hedger only supplies the timing. The caller sends hedge k (1-based, at
// most MaxHedges) when the request has been outstanding k × Delay() with no
// answer, takes the first answer that arrives as the request's answer, and
// cancels the others; a caller that also uses a Budget should withdraw from it
// for every hedge. Observe original attempts that complete, not only winners:
// hedging trims the tail of the winners, and an estimate fed only by them
// would keep shrinking. A Hedger is safe for concurrent use.
type Hedger struct {
	cfg HedgeConfig

	mu       sync.Mutex
	started  bool
	genStart time.Time // when the current generation began
	genEnd   time.Time // genStart + Window
	dirty    bool      // delay is stale
	delay    time.Duration
	cur      latencyCounts // the current generation
	all      latencyCounts // the current and the previous generation
}

// NewHedger returns a Hedger for cfg, or an error naming each invalid field.
func NewHedger(cfg HedgeConfig) (*Hedger, error) {
	var errs []error
	if cfg.Delay <= 0 {
		errs = append(errs, fmt.Errorf("delay %v: must be positive", cfg.Delay))
	}
	if math.IsNaN(cfg.Percentile) || cfg.Percentile < 0 || cfg.Percentile >= 100 {
		errs = append(errs, fmt.Errorf("percentile %v: must be 0 (fixed delay) or in (0, 100)", cfg.Percentile))
	}
	if cfg.MaxHedges < 0 {
		errs = append(errs, fmt.Errorf("max hedges %d: must be >= 0", cfg.MaxHedges))
	}
	if cfg.MinSamples < 0 {
		errs = append(errs, fmt.Errorf("min samples %d: must be >= 0", cfg.MinSamples))
	}
	if cfg.Window < 0 {
		errs = append(errs, fmt.Errorf("window %v: must be >= 0", cfg.Window))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("hedging: %w", err)
	}
	if cfg.MaxHedges == 0 {
		cfg.MaxHedges = DefaultMaxHedges
	}
	if cfg.MinSamples == 0 {
		cfg.MinSamples = DefaultHedgeMinSamples
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultHedgeWindow
	}
	return &Hedger{cfg: cfg, delay: cfg.Delay}, nil
}

// MaxHedges returns the most extra copies a request may have, with the
// default applied.
func (h *Hedger) MaxHedges() int { return h.cfg.MaxHedges }

// Observe records the latency of an attempt that completed at now. In fixed
// mode it does nothing. Negative latencies count as zero; latencies above
// about 18 minutes count as 18 minutes.
func (h *Hedger) Observe(now time.Time, latency time.Duration) {
	if h.cfg.Percentile == 0 {
		return
	}
	b := bucketOf(uint64(max(latency, 0)))
	h.mu.Lock()
	h.rotate(now)
	h.cur.add(b)
	h.all.add(b)
	h.dirty = true
	h.mu.Unlock()
}

// Delay returns how long to wait for an answer before sending the next hedge:
// the fixed Delay, or in percentile mode the configured percentile of recent
// latencies once at least MinSamples are in the window (Delay before that).
func (h *Hedger) Delay() time.Duration {
	if h.cfg.Percentile == 0 {
		return h.cfg.Delay
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dirty {
		h.dirty = false
		h.delay = h.cfg.Delay
		if n := h.all.total; n > 0 && n >= uint64(h.cfg.MinSamples) {
			h.delay = time.Duration(h.all.atRank(nearestRank(h.cfg.Percentile, n)))
		}
	}
	return h.delay
}

// rotate ages the generations to now. Times before the current generation
// began count in it. The caller holds h.mu.
func (h *Hedger) rotate(now time.Time) {
	if !h.started {
		h.started, h.genStart, h.genEnd = true, now, now.Add(h.cfg.Window)
		return
	}
	if now.Before(h.genEnd) {
		return
	}
	elapsed := now.Sub(h.genStart)
	if elapsed-h.cfg.Window < h.cfg.Window {
		h.all = h.cur
	} else {
		h.all = latencyCounts{}
	}
	h.cur = latencyCounts{}
	h.genStart = h.genStart.Add(elapsed / h.cfg.Window * h.cfg.Window)
	h.genEnd = h.genStart.Add(h.cfg.Window)
	h.dirty = true
}

package ratelimit

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Gradient bounds: one window can at most halve or double the limit, as in
// Envoy's gradient controller.
const (
	minGradient = 0.5
	maxGradient = 2.0
)

// maxWindowSamples bounds the latencies kept per sample window; past it the
// oldest are overwritten, so a busy window is summarised by its latest
// samples.
const maxWindowSamples = 1024

// minLimitWindowsForRemeasure is how many consecutive windows at MinLimit
// trigger an early minRTT measurement, as Envoy does (5): a limit stuck at
// the floor suggests the ideal latency itself has moved.
const minLimitWindowsForRemeasure = 5

// AdaptiveConcurrency limits requests in flight to a limit it learns from
// latency, following Envoy's adaptive concurrency filter (gradient
// controller) and Netflix's concurrency-limits (Gradient2).
//
// It alternates between two phases. While minRTT is measured, the limit is
// pinned to MinLimit and the latencies of MinRTTSamples successful requests
// admitted during the phase are summarised (at Percentile) as minRTT, the
// latency of an unloaded upstream. The first measurement starts at the first
// call; later ones every MinRTTInterval plus a random delay of up to
// MinRTTJitter of it, and early when the limit has ended 5 windows in a row
// at MinLimit (the ideal latency itself has probably moved).
//
// Otherwise latencies are summarised per SampleWindow as sampleRTT, and when
// a window closes (checked on Release) the limit becomes
//
//	gradient = clamp(minRTT·(1+Buffer) / sampleRTT, 0.5, 2)
//	limit    = clamp(limit·gradient + √limit, MinLimit, MaxLimit)
//
// so the limit shrinks as queueing raises latency above the ideal, and grows
// while latency stays within Buffer of it: the square-root headroom keeps it
// growing even at a gradient of 1. As in Gradient2, the limit is not raised
// in a window whose peak concurrency stayed under half the limit: an idle
// service has not shown that it copes with more.
//
// Requests released with ok=false give no latency sample: a failure's
// latency says little about queueing (fast errors would fake an unloaded
// upstream). All methods take the time as an argument; the lock is held for
// a few field updates, plus one sort of at most 1024 samples per window.
type AdaptiveConcurrency struct {
	mu  sync.Mutex
	cfg Config // resolved
	rng *rand.Rand

	started  bool
	limit    int // the learned limit; Limit() reports MinLimit while measuring
	inFlight int

	measuring    bool
	measureStart time.Time
	nextMeasure  time.Time
	rttSamples   []time.Duration // cap MinRTTSamples
	minRTT       time.Duration

	windowStart time.Time
	samples     []time.Duration // ring, cap maxWindowSamples
	nSamples    int             // samples seen this window, may exceed the ring
	peak        int             // peak in-flight this window
	atMin       int             // consecutive windows that ended at MinLimit

	sampleRTT time.Duration
	gradient  float64
}

// NewAdaptiveConcurrency builds an adaptive concurrency limiter from cfg;
// cfg.Type is ignored. Zero fields take the defaults documented on Config.
func NewAdaptiveConcurrency(cfg Config) (*AdaptiveConcurrency, error) {
	cfg.Type = TypeAdaptiveConcurrency
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return newAdaptiveConcurrency(cfg), nil
}

func newAdaptiveConcurrency(cfg Config) *AdaptiveConcurrency {
	return &AdaptiveConcurrency{
		cfg:        cfg,
		rng:        cfg.Rand,
		limit:      cfg.Limit,
		rttSamples: make([]time.Duration, 0, cfg.MinRTTSamples),
		samples:    make([]time.Duration, maxWindowSamples),
		gradient:   1,
	}
}

// Acquire takes a slot if fewer requests than the current limit are in
// flight. It may start a minRTT measurement that is due at now.
func (a *AdaptiveConcurrency) Acquire(now time.Time) bool {
	a.mu.Lock()
	a.tick(now)
	if a.inFlight >= a.effectiveLimit() {
		a.mu.Unlock()
		return false
	}
	a.inFlight++
	a.peak = max(a.peak, a.inFlight)
	a.mu.Unlock()
	return true
}

// Release returns a slot, records latency when ok, and recomputes the limit
// if the sample window has closed. It panics when no slot is held, which
// means a Release without its Acquire.
func (a *AdaptiveConcurrency) Release(now time.Time, latency time.Duration, ok bool) {
	a.mu.Lock()
	if a.inFlight == 0 {
		a.mu.Unlock()
		panic("ratelimit: AdaptiveConcurrency.Release without a matching Acquire")
	}
	a.inFlight--
	a.tick(now)
	if a.measuring {
		if ok && latency >= 0 {
			a.recordMinRTT(now, latency)
		}
		a.mu.Unlock()
		return
	}
	if elapsed := now.Sub(a.windowStart); elapsed >= a.cfg.SampleWindow {
		a.closeWindow(now, elapsed)
	}
	if ok && latency >= 0 && !a.measuring {
		a.samples[a.nSamples%maxWindowSamples] = latency
		a.nSamples++
	}
	a.mu.Unlock()
}

// Limit is the current limit: MinLimit while minRTT is being measured (and
// before the first call), the learned limit otherwise.
func (a *AdaptiveConcurrency) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.effectiveLimit()
}

// InFlight is the number of slots currently held.
func (a *AdaptiveConcurrency) InFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inFlight
}

// AdaptiveStats is a snapshot of the controller, for reports and tests.
type AdaptiveStats struct {
	Limit      int           // current limit, as Limit()
	InFlight   int           // slots held
	Measuring  bool          // a minRTT measurement is under way
	MinRTT     time.Duration // last measured minRTT; 0 before the first
	SampleRTT  time.Duration // sampleRTT of the last closed window
	Gradient   float64       // gradient of the last closed window (1 before any)
	NextMinRTT time.Time     // when the next minRTT measurement is due
}

// Stats returns a snapshot of the controller's state.
func (a *AdaptiveConcurrency) Stats() AdaptiveStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return AdaptiveStats{
		Limit:      a.effectiveLimit(),
		InFlight:   a.inFlight,
		Measuring:  a.measuring || !a.started,
		MinRTT:     a.minRTT,
		SampleRTT:  a.sampleRTT,
		Gradient:   a.gradient,
		NextMinRTT: a.nextMeasure,
	}
}

func (a *AdaptiveConcurrency) effectiveLimit() int {
	if a.measuring || !a.started {
		return a.cfg.MinLimit
	}
	return a.limit
}

// tick starts a minRTT measurement when one is due.
func (a *AdaptiveConcurrency) tick(now time.Time) {
	if !a.started {
		a.started = true
		a.startMeasure(now)
		return
	}
	if !a.measuring && !now.Before(a.nextMeasure) {
		a.startMeasure(now)
	}
}

func (a *AdaptiveConcurrency) startMeasure(now time.Time) {
	a.measuring = true
	a.measureStart = now
	a.rttSamples = a.rttSamples[:0]
}

// recordMinRTT adds a sample to the minRTT measurement and ends it when
// enough have arrived. Requests admitted before the measurement started ran
// at the old, higher concurrency and are not ideal-condition samples.
func (a *AdaptiveConcurrency) recordMinRTT(now time.Time, latency time.Duration) {
	if now.Add(-latency).Before(a.measureStart) {
		return
	}
	a.rttSamples = append(a.rttSamples, latency)
	if len(a.rttSamples) < a.cfg.MinRTTSamples {
		return
	}
	a.minRTT = percentile(a.rttSamples, a.cfg.Percentile)
	a.measuring = false
	a.nextMeasure = now.Add(a.cfg.MinRTTInterval + a.jitter())
	a.atMin = 0
	a.resetWindow(now)
}

// jitter is the random delay added to the next minRTT measurement.
func (a *AdaptiveConcurrency) jitter() time.Duration {
	span := int64(a.cfg.MinRTTJitter * float64(a.cfg.MinRTTInterval))
	if a.rng == nil || span <= 0 {
		return 0
	}
	return time.Duration(a.rng.Int64N(span))
}

// closeWindow recomputes the limit from the window's samples and opens the
// window holding now. Windows keep to a fixed grid, as Envoy's periodic
// timer does, so their edges do not drift with release times.
func (a *AdaptiveConcurrency) closeWindow(now time.Time, elapsed time.Duration) {
	n := min(a.nSamples, maxWindowSamples)
	if n > 0 {
		a.sampleRTT = percentile(a.samples[:n], a.cfg.Percentile)
		a.update()
	}
	a.resetWindow(a.windowStart.Add(elapsed / a.cfg.SampleWindow * a.cfg.SampleWindow))
	switch {
	case n == 0:
		// No evidence either way.
	case a.limit > a.cfg.MinLimit:
		a.atMin = 0
	default:
		a.atMin++
		if a.atMin >= minLimitWindowsForRemeasure {
			a.atMin = 0
			a.startMeasure(now)
		}
	}
}

func (a *AdaptiveConcurrency) update() {
	g := maxGradient
	if a.sampleRTT > 0 {
		g = float64(a.minRTT) * (1 + a.cfg.Buffer) / float64(a.sampleRTT)
	}
	g = min(max(g, minGradient), maxGradient)
	a.gradient = g

	old := float64(a.limit)
	next := old*g + math.Sqrt(old)
	if 2*a.peak < a.limit {
		next = min(next, old)
	}
	next = min(max(next, float64(a.cfg.MinLimit)), float64(a.cfg.MaxLimit))
	a.limit = int(next)
}

func (a *AdaptiveConcurrency) resetWindow(start time.Time) {
	a.windowStart = start
	a.nSamples = 0
	a.peak = a.inFlight
}

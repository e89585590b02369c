package retry

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// BudgetConfig sizes a Budget with the parameters of Finagle's RetryBudget and
// Linkerd's retryBudget.
type BudgetConfig struct {
	// Ratio is how many retries each request earns (Finagle's
	// percentCanRetry, Linkerd's retryRatio): 0.2 lets retries add at most
	// 20% to the request load. Zero earns nothing, leaving only
	// MinPerSecond. Must be in [0, 1000].
	Ratio float64
	// MinPerSecond is a reserve of retries per second granted regardless of
	// traffic, so that a client that has just started, or sends little,
	// can still retry. Zero grants none.
	MinPerSecond int
	// TTL is how long a request's credit (and a retry's debit) counts.
	// Zero means DefaultBudgetTTL.
	TTL time.Duration
}

// DefaultBudgetTTL is the credit lifetime used when BudgetConfig.TTL is zero,
// Finagle's and Linkerd's default.
const DefaultBudgetTTL = 10 * time.Second

// DefaultBudgetConfig returns Linkerd's and Finagle's defaults: a retry ratio
// of 0.2, 10 retries per second in reserve, and a 10s TTL.
func DefaultBudgetConfig() BudgetConfig {
	return BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: DefaultBudgetTTL}
}

const (
	// budgetSlices is how many time slices the TTL window is cut into, as
	// Finagle's windowed adder does; credit expires with slice granularity.
	budgetSlices = 10
	// unitsPerRetry is the fixed-point scale of the balance: a retry costs
	// this many units and a request earns Ratio × unitsPerRetry, so the
	// ratio is honoured to 1e-6 without floating point on the hot path.
	unitsPerRetry = 1_000_000
)

// Budget is a retry budget as Finagle's RetryBudget and Linkerd's
// retryBudget: over any TTL window, retries may not exceed Ratio × requests
// plus MinPerSecond × TTL. Every original request calls Deposit; every retry
// first calls TryWithdraw and is dropped when it returns false.
//
// The balance is a sum over a ring of budgetSlices slices of TTL/budgetSlices
// each, indexed by the time passed in and measured from the first call. A
// deposit or withdrawal lands in the slice of its time and leaves the window
// when the ring has advanced budgetSlices slices past it, so credit lives
// between 0.9 × TTL and TTL. Finagle's TokenRetryBudget is built on a
// LeakyBucket whose windowed adder advances by reading the wall clock
// (Stopwatch.systemMillis) itself; a policy here must be told the time so the
// simulator can drive it with virtual time, so the window is written here
// against the time argument instead. Times earlier than the latest one seen
// count in the current slice: the window never moves backwards.
//
// Exactly: when TryWithdraw succeeds, the withdrawals in the window,
// including this one, cost no more than Ratio × the deposits in the window
// plus the reserve MinPerSecond × TTL (in seconds). A Budget is safe for
// concurrent use.
type Budget struct {
	credit  int64 // units a deposit adds
	reserve int64 // units always available
	width   time.Duration

	mu      sync.Mutex
	started bool
	origin  time.Time
	next    time.Time // start of the slice after the current one
	cur     int64     // index of the current slice, counted from origin
	idx     int       // cur % budgetSlices, its place in slices
	sum     int64     // sum of slices
	slices  [budgetSlices]int64
}

// NewBudget returns an empty budget for cfg, or an error naming each invalid
// field.
func NewBudget(cfg BudgetConfig) (*Budget, error) {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultBudgetTTL
	}
	var errs []error
	if math.IsNaN(cfg.Ratio) || cfg.Ratio < 0 || cfg.Ratio > 1000 {
		errs = append(errs, fmt.Errorf("ratio %v: must be in [0, 1000]", cfg.Ratio))
	}
	if cfg.MinPerSecond < 0 {
		errs = append(errs, fmt.Errorf("min retries per second %d: must be >= 0", cfg.MinPerSecond))
	}
	if cfg.TTL < budgetSlices {
		errs = append(errs, fmt.Errorf("ttl %v: must be at least %v", cfg.TTL, time.Duration(budgetSlices)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("retry budget: %w", err)
	}
	// reserve = MinPerSecond × TTL in seconds × unitsPerRetry, in integers so
	// that it is exact; unitsPerRetry is 1e6 and a second is 1e9 ns.
	if cfg.MinPerSecond > 0 && int64(cfg.TTL) > math.MaxInt64/4/int64(cfg.MinPerSecond) {
		return nil, fmt.Errorf("retry budget: min retries per second %d over ttl %v: reserve too large", cfg.MinPerSecond, cfg.TTL)
	}
	reserve := int64(cfg.MinPerSecond) * int64(cfg.TTL) / (int64(time.Second) / unitsPerRetry)
	return &Budget{
		credit:  int64(math.Round(cfg.Ratio * unitsPerRetry)),
		reserve: reserve,
		width:   cfg.TTL / budgetSlices,
	}, nil
}

// Deposit credits the budget with one original request made at now.
func (b *Budget) Deposit(now time.Time) {
	b.mu.Lock()
	i := b.advance(now)
	b.slices[i] += b.credit
	b.sum += b.credit
	b.mu.Unlock()
}

// TryWithdraw takes one retry from the budget at now and reports whether
// there was enough credit; on false the retry must not be sent.
func (b *Budget) TryWithdraw(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.advance(now)
	if b.sum+b.reserve < unitsPerRetry {
		return false
	}
	b.slices[i] -= unitsPerRetry
	b.sum -= unitsPerRetry
	return true
}

// Balance returns how many retries TryWithdraw would grant at now if no
// request arrived in between.
func (b *Budget) Balance(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return int(max(0, (b.sum+b.reserve)/unitsPerRetry))
}

// advance moves the ring to the slice holding now, clearing the slices that
// fall out of the window, and returns the ring index of the current slice.
// The caller holds b.mu.
func (b *Budget) advance(now time.Time) int {
	if !b.started {
		b.started, b.origin, b.next = true, now, now.Add(b.width)
		return 0
	}
	if now.Before(b.next) { // the common case: still in the current slice
		return b.idx
	}
	k := int64(now.Sub(b.origin) / b.width)
	if k > b.cur {
		if k-b.cur >= budgetSlices {
			b.slices = [budgetSlices]int64{}
			b.sum = 0
		} else {
			for s := b.cur + 1; s <= k; s++ {
				i := s % budgetSlices
				b.sum -= b.slices[i]
				b.slices[i] = 0
			}
		}
		b.cur, b.idx = k, int(k%budgetSlices)
		b.next = b.origin.Add(time.Duration(k+1) * b.width)
	}
	return b.idx
}

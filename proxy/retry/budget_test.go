package retry

import (
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func mustBudget(t interface{ Fatal(...any) }, cfg BudgetConfig) *Budget {
	b, err := NewBudget(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBudgetHoldsRatioUnderTotalFailure scripts ten minutes of 100 requests
// per second against an upstream that fails every attempt. Each request is
// allowed two retries by its policy; the budget alone decides how many go
// out. The bound, stated exactly: the TTL windows that start at the first
// call partition the timeline, and in each window the granted retries are at
// most Ratio × requests in it + MinPerSecond × TTL, so over the run
//
//	retries <= 0.2 × 60000 + 10 × 10 × 60 = 18000.
func TestBudgetHoldsRatioUnderTotalFailure(t *testing.T) {
	cfg := BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}
	const (
		rps      = 100
		duration = 10 * time.Minute
		windows  = int(duration / (10 * time.Second)) // 60
	)
	b := mustBudget(t, cfg)
	policy := &Policy{Attempts: 3, RetryOn: []string{On5xx}}
	failed := Outcome{Status: 503}

	requests := 0
	retries := 0
	perWindowRequests := make([]int, windows)
	perWindowRetries := make([]int, windows)
	for now := t0; now.Before(t0.Add(duration)); now = now.Add(time.Second / rps) {
		w := int(now.Sub(t0) / cfg.TTL)
		b.Deposit(now)
		requests++
		perWindowRequests[w]++
		for tries := 1; policy.ShouldRetry(tries, failed) && b.TryWithdraw(now); tries++ {
			retries++
			perWindowRetries[w]++
		}
	}

	if requests != 60000 {
		t.Fatalf("scripted %d requests, want 60000", requests)
	}
	for w := range windows {
		limit := 0.2*float64(perWindowRequests[w]) + 10*10
		if float64(perWindowRetries[w]) > limit {
			t.Errorf("window %d: %d retries for %d requests, limit %v", w, perWindowRetries[w], perWindowRequests[w], limit)
		}
	}
	limit := 0.2*float64(requests) + float64(10*10*windows)
	if float64(retries) > limit {
		t.Errorf("%d retries for %d requests, limit %v", retries, requests, limit)
	}
	// The budget is a ceiling, not a throttle below the ratio: the steady
	// state grants about Ratio × rps + MinPerSecond = 30 retries a second.
	if floor := 0.2 * float64(requests); float64(retries) < floor {
		t.Errorf("%d retries for %d requests, want at least the ratio's %v", retries, requests, floor)
	}
	t.Logf("%d requests, %d retries (%.3f per request), limit %v", requests, retries, float64(retries)/float64(requests), limit)
}

func TestBudgetWindowExpiresDeposits(t *testing.T) {
	cfg := BudgetConfig{Ratio: 0.5, TTL: 10 * time.Second} // no reserve
	tests := []struct {
		name  string
		after time.Duration // time from the deposits to the withdrawals
		want  int
	}{
		{name: "same instant", after: 0, want: 50},
		{name: "within the first 9 slices", after: 8999 * time.Millisecond, want: 50},
		{name: "last slice still counts", after: 9999 * time.Millisecond, want: 50},
		{name: "gone after ttl", after: 10 * time.Second, want: 0},
		{name: "long gone", after: time.Hour, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBudget(t, cfg)
			for range 100 {
				b.Deposit(t0)
			}
			at := t0.Add(tc.after)
			if got := b.Balance(at); got != tc.want {
				t.Errorf("Balance = %d, want %d", got, tc.want)
			}
			got := 0
			for b.TryWithdraw(at) {
				got++
			}
			if got != tc.want {
				t.Errorf("withdrew %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBudgetWithdrawalsExpireToo(t *testing.T) {
	b := mustBudget(t, BudgetConfig{MinPerSecond: 2, TTL: time.Second}) // reserve: 2 per TTL window
	for s := range 5 {
		now := t0.Add(time.Duration(s) * time.Second)
		got := 0
		for b.TryWithdraw(now) {
			got++
		}
		if got != 2 {
			t.Errorf("second %d: withdrew %d from the reserve, want 2", s, got)
		}
	}
}

func TestBudgetTimeNeverRunsBackwards(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Ratio: 1, TTL: 10 * time.Second})
	b.Deposit(t0)
	b.Deposit(t0.Add(20 * time.Second)) // first deposit expired
	// An earlier time (a late caller in the proxy) counts in the current
	// slice; it does not resurrect the expired deposit.
	b.Deposit(t0.Add(time.Second))
	if got := b.Balance(t0.Add(time.Second)); got != 2 {
		t.Errorf("Balance = %d, want 2", got)
	}
}

func TestNewBudgetValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     BudgetConfig
		wantErr []string
	}{
		{name: "defaults", cfg: DefaultBudgetConfig()},
		{name: "zero value (zero ttl means default)", cfg: BudgetConfig{}},
		{name: "ratio above 1000", cfg: BudgetConfig{Ratio: 1001}, wantErr: []string{"ratio 1001"}},
		{name: "all wrong", cfg: BudgetConfig{Ratio: -0.1, MinPerSecond: -1, TTL: -time.Second}, wantErr: []string{"ratio -0.1", "min retries per second -1", "ttl -1s"}},
		{name: "reserve overflow", cfg: BudgetConfig{MinPerSecond: 1 << 40, TTL: time.Hour}, wantErr: []string{"reserve too large"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBudget(tc.cfg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("NewBudget: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewBudget: nil error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "retry budget: ") {
					t.Errorf("NewBudget error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestBudgetMatchesModel runs random timelines against a direct model of the
// documented rule: TryWithdraw at a time in slice k succeeds exactly when
// (withdrawals in slices k-9..k + 1) × 1e6 <= deposits in those slices ×
// Ratio × 1e6 + MinPerSecond × TTL × 1e6, with slices of TTL/10 counted from
// the first call.
func TestBudgetMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ratioMilli := rapid.IntRange(0, 3000).Draw(t, "ratioMilli")
		minPerSec := rapid.IntRange(0, 20).Draw(t, "minPerSecond")
		ttl := time.Duration(rapid.IntRange(1, 2000).Draw(t, "ttlCentis")) * 10 * time.Millisecond
		b := mustBudget(t, BudgetConfig{Ratio: float64(ratioMilli) / 1000, MinPerSecond: minPerSec, TTL: ttl})

		width := ttl / 10
		credit := int64(ratioMilli) * 1000
		reserve := int64(minPerSec) * ttl.Milliseconds() * 1000
		type event struct {
			slice   int64
			deposit bool
		}
		var events []event
		now := t0
		steps := rapid.IntRange(1, 300).Draw(t, "steps")
		for i := range steps {
			if i > 0 {
				now = now.Add(time.Duration(rapid.Int64Range(0, int64(ttl/3)).Draw(t, "gap")))
			}
			k := int64(now.Sub(t0) / width)
			var sum int64
			for _, e := range events {
				if e.slice > k-10 {
					if e.deposit {
						sum += credit
					} else {
						sum -= unitsPerRetry
					}
				}
			}
			if rapid.Bool().Draw(t, "deposit") {
				b.Deposit(now)
				events = append(events, event{k, true})
				continue
			}
			want := sum+reserve >= unitsPerRetry
			if got := b.TryWithdraw(now); got != want {
				t.Fatalf("step %d at %v: TryWithdraw = %v, model says %v (balance %d units, reserve %d)", i, now.Sub(t0), got, want, sum, reserve)
			}
			if want {
				events = append(events, event{k, false})
			}
		}
	})
}

func TestBudgetConcurrentUse(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Ratio: 0.25, TTL: time.Minute})
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				now := t0.Add(time.Duration(g*1000+i) * time.Microsecond)
				b.Deposit(now)
				if b.TryWithdraw(now) {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if granted > 2000 {
		t.Errorf("granted %d retries for 8000 requests at ratio 0.25, want <= 2000", granted)
	}
}

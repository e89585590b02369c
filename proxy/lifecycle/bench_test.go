package lifecycle

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/retry"
)

// BenchmarkRequest is the lifecycle's own cost for the common request: one
// try, answered, forwarded, on a route with a retry policy, a per-try
// timeout and a budget (the simulator's reference scenario).
func BenchmarkRequest(b *testing.B) {
	h := newHarness(b, setup{balancer: "least_request", endpoints: 100, timeout: 2 * time.Second,
		retry:  &retry.Policy{Attempts: 2, RetryOn: []string{retry.On5xx}, PerTryTimeout: 250 * time.Millisecond},
		budget: &retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10}})
	h.rt.Observe, h.cl.Observe = nil, nil
	var r Request
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		r.Begin(h.rt, now, Arrival{Key: 7, Replayable: true}, h.rng)
		try := r.Actions()[0].Try
		r.Answered(now, try, 200)
		_ = r.Actions()
		r.Ended(now, try, false)
	}
}

// BenchmarkPoliciesAlone is the floor under BenchmarkRequest: the same
// pick, feedback and budget deposit called directly.
func BenchmarkPoliciesAlone(b *testing.B) {
	h := newHarness(b, setup{balancer: "least_request", endpoints: 100, timeout: 2 * time.Second,
		retry:  &retry.Policy{Attempts: 2, RetryOn: []string{retry.On5xx}, PerTryTimeout: 250 * time.Millisecond},
		budget: &retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10}})
	now := t0
	for b.Loop() {
		now = now.Add(10 * time.Microsecond)
		h.rt.Budget.Deposit(now)
		p, _ := h.cl.Balancer.Pick(now, 7, h.rng)
		p.Done(now, 0, nil)
	}
}

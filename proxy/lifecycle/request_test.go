package lifecycle

import (
	"regexp"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// noWait retries at once: a back-off of at most 1ns draws 0.
var noWait = retry.Backoff{Base: 1, Max: 1}

func retries(attempts int, on ...string) *retry.Policy {
	return &retry.Policy{Attempts: attempts, RetryOn: on, Backoff: noWait}
}

func TestOneTry(t *testing.T) {
	h := newHarness(t, setup{timeout: time.Second})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{}), "send 1 a by 1s")
	h.at(5 * time.Millisecond)
	r.Answered(h.now, 1, 200)
	want(t, "answered", h.actions(&r), "forward 1")
	if r.Over() {
		t.Fatal("over before the body ended")
	}
	r.Ended(h.at(6*time.Millisecond), 1, false)
	want(t, "ended", h.actions(&r), "")
	if !r.Over() || r.Tries() != 1 || r.Retries() != 0 {
		t.Fatalf("over %v tries %d retries %d", r.Over(), r.Tries(), r.Retries())
	}
	want(t, "events", h.events(), "sent try=1 ep=a; answered try=1 ep=a status=200; forwarded try=1 ep=a status=200")
}

func TestCompletedIsAnsweredAndEnded(t *testing.T) {
	h := newHarness(t, setup{retry: retries(2, retry.On5xx), thresholds: &breaker.Thresholds{MaxRequests: 10, MaxRetries: 10}})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
	r.Completed(h.at(2*time.Millisecond), 1, 503)
	// A retried answer is not forwarded, so nothing ends with it.
	want(t, "503", h.actions(&r), "cancel 1; send 2 b retry")
	if r.Over() {
		t.Fatal("over after a retried answer")
	}
	r.Completed(h.at(5*time.Millisecond), 2, 200)
	want(t, "200", h.actions(&r), "forward 2")
	if !r.Over() {
		t.Fatal("not over after the forwarded answer completed")
	}
	if n := h.cl.Admission.InUse(breaker.Requests); n != 0 {
		t.Fatalf("%d requests in use after the answer", n)
	}
	want(t, "events", h.events(), "sent try=1 ep=a; answered try=1 ep=a status=503; cancelled try=1 ep=a; sent try=2 ep=b retry; answered try=2 ep=b status=200; forwarded try=2 ep=b status=200")
}

func TestRetryOnAnswer(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.On5xx)})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
	r.Answered(h.now, 1, 503)
	want(t, "503", h.actions(&r), "cancel 1; send 2 b retry")
	r.Answered(h.now, 2, 500)
	want(t, "500", h.actions(&r), "cancel 2; send 3 c retry")
	r.Answered(h.now, 3, 502)
	// Attempts are spent: the last answer goes to the client as it is.
	want(t, "502", h.actions(&r), "forward 3")
	r.Ended(h.now, 3, false)
	if r.Retries() != 2 || !r.Over() {
		t.Fatalf("retries %d over %v", r.Retries(), r.Over())
	}
}

func TestNoRetryWithoutReplay(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.On5xx)})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{}), "send 1 a")
	r.Failed(h.now, 1, Reset)
	want(t, "reset", h.actions(&r), "respond 502 upstream_reset")
}

func TestRetryBackoffAndFailures(t *testing.T) {
	h := newHarness(t, setup{timeout: time.Second,
		retry: &retry.Policy{Attempts: 3, RetryOn: []string{retry.OnReset, retry.OnConnectFailure}, Backoff: retry.Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond}}})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a by 1s")
	h.at(3 * time.Millisecond)
	r.Failed(h.now, 1, Refused)
	got := h.actions(&r)
	m := regexp.MustCompile(`^wait (.+)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("after a refused connect: %q, want a wait", got)
	}
	wait, _ := time.ParseDuration(m[1])
	if wait <= 0 || wait >= 10*time.Millisecond {
		t.Fatalf("first back-off %v, want in (0, 10ms)", wait)
	}
	r.Wake(h.now.Add(wait - 1))
	want(t, "early wake", h.actions(&r), "")
	h.at(3*time.Millisecond + wait)
	r.Wake(h.now)
	want(t, "wake", h.actions(&r), "send 2 b retry by "+(time.Second-3*time.Millisecond-wait).String())
	r.Failed(h.now, 2, Reset)
	if got := h.actions(&r); !regexp.MustCompile(`^wait \d`).MatchString(got) {
		t.Fatalf("after a reset: %q", got)
	}
	// A report about a try the request is done with changes nothing.
	r.Failed(h.now, 1, Reset)
	want(t, "stale", h.actions(&r), "")
}

func TestAttemptsAndConditions(t *testing.T) {
	h := newHarness(t, setup{retry: retries(2, retry.OnConnectFailure)})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Failed(h.now, 1, Timeout)
	// Timeouts are not covered by connect-failure.
	want(t, "timeout", h.actions(&r), "respond 504 upstream_timeout")
	if r.Retries() != 0 {
		t.Fatal("retried an outcome retry_on does not name")
	}
}

func TestPerTryTimeoutAndDeadline(t *testing.T) {
	pol := retries(5, retry.OnGatewayError)
	pol.PerTryTimeout = 400 * time.Millisecond
	h := newHarness(t, setup{timeout: time.Second, retry: pol})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a by 400ms per-try")
	r.Failed(h.at(400*time.Millisecond), 1, Timeout)
	want(t, "per-try", h.actions(&r), "send 2 b retry by 400ms per-try")
	r.Failed(h.at(800*time.Millisecond), 2, Timeout)
	// The third try's per-try timeout would pass the deadline: the
	// deadline bounds it.
	want(t, "near the deadline", h.actions(&r), "send 3 c retry by 200ms")
	r.Failed(h.at(time.Second), 3, Timeout)
	want(t, "deadline", h.actions(&r), "respond 504 request_timeout")
	want(t, "events", h.events(), "sent try=1 ep=a; failed try=1 ep=a failure=timeout; sent try=2 ep=b retry; failed try=2 ep=b failure=timeout; "+
		"sent try=3 ep=c retry; failed try=3 ep=c failure=timeout; responded status=504 failure=timeout reason=request_timeout")
}

func TestCallerBudget(t *testing.T) {
	h := newHarness(t, setup{timeout: time.Second})
	var r Request
	want(t, "shorter", h.begin(&r, Arrival{Budget: 300 * time.Millisecond, HasBudget: true}), "send 1 a by 300ms")
	want(t, "expired", h.begin(&r, Arrival{Budget: 0, HasBudget: true}), "respond 504 request_timeout")
	want(t, "longer", h.begin(&r, Arrival{Budget: time.Hour, HasBudget: true}), "send 1 b by 1s")
}

func TestExpireDuringBackoff(t *testing.T) {
	h := newHarness(t, setup{timeout: 100 * time.Millisecond,
		retry:      &retry.Policy{Attempts: 2, RetryOn: []string{retry.On5xx}, Backoff: retry.Backoff{Base: 50 * time.Millisecond}},
		thresholds: &breaker.Thresholds{}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Answered(h.at(10*time.Millisecond), 1, 500)
	got := h.actions(&r)
	if !regexp.MustCompile(`^cancel 1; wait `).MatchString(got) {
		t.Fatalf("after a 500: %q", got)
	}
	if n := h.cl.Admission.InUse(breaker.Retries); n != 1 {
		t.Fatalf("%d max_retries units in use during the back-off, want 1", n)
	}
	r.Expire(h.at(99 * time.Millisecond))
	want(t, "early", h.actions(&r), "")
	r.Expire(h.at(100 * time.Millisecond))
	want(t, "expire", h.actions(&r), "respond 504 request_timeout")
	if n := h.cl.Admission.InUse(breaker.Retries); n != 0 {
		t.Fatalf("%d max_retries units in use after the answer", n)
	}
}

func TestRetryBudget(t *testing.T) {
	// The budget earns half a retry per request and has no reserve.
	h := newHarness(t, setup{retry: retries(3, retry.On5xx), budget: &retry.BudgetConfig{Ratio: 0.5, TTL: time.Hour}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Answered(h.now, 1, 503)
	want(t, "first request: no credit", h.actions(&r), "forward 1")
	if r.NotRetried() != RetryBudget {
		t.Fatalf("not retried: %q", r.NotRetried())
	}
	h.begin(&r, Arrival{Replayable: true})
	r.Answered(h.now, 1, 503)
	want(t, "second request: one retry", h.actions(&r), "cancel 1; send 2 c retry")
	r.Answered(h.now, 2, 503)
	want(t, "then none", h.actions(&r), "forward 2")
}

func TestMaxRetriesThreshold(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.On5xx), thresholds: &breaker.Thresholds{MaxRetries: 1}})
	var r1, r2 Request
	h.begin(&r1, Arrival{Replayable: true})
	h.begin(&r2, Arrival{Replayable: true})
	r1.Answered(h.now, 1, 503)
	want(t, "first retry", h.actions(&r1), "cancel 1; send 2 c retry")
	r2.Answered(h.now, 1, 503)
	want(t, "second retry over max_retries", h.actions(&r2), "forward 1")
	if r2.NotRetried() != OverflowReason {
		t.Fatalf("not retried: %q", r2.NotRetried())
	}
	r1.Answered(h.now, 2, 200)
	h.actions(&r1)
	r1.Ended(h.now, 2, false)
	r2.Ended(h.now, 1, false)
	for _, res := range []breaker.Resource{breaker.Requests, breaker.Retries} {
		if n := h.cl.Admission.InUse(res); n != 0 {
			t.Fatalf("%v: %d units still in use", res, n)
		}
	}
}

func TestMaxRequestsThreshold(t *testing.T) {
	h := newHarness(t, setup{thresholds: &breaker.Thresholds{MaxRequests: 1}})
	var r1, r2 Request
	want(t, "first", h.begin(&r1, Arrival{}), "send 1 a")
	want(t, "second", h.begin(&r2, Arrival{}), "respond 503 overflow")
	r1.Failed(h.now, 1, Reset)
	want(t, "reset", h.actions(&r1), "respond 502 upstream_reset")
	want(t, "third", h.begin(&r2, Arrival{}), "send 1 b")
}

func TestLocalOverflowBlamesNobody(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.OnConnectFailure, retry.OnReset),
		outlier: &outlier.Config{Consecutive5xx: 1, ConsecutiveGatewayFailure: 1, EnforcingConsecutiveGatewayFailure: 100, MaxEjectionPercent: 100}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Failed(h.now, 1, Overflow)
	want(t, "overflow", h.actions(&r), "respond 503 overflow")
	if h.cl.Ejected("a") {
		t.Fatal("a local overflow ejected the endpoint")
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, setup{limit: &ratelimit.Config{Type: "token_bucket", Rate: 1, Burst: 1}})
	var r Request
	want(t, "first", h.begin(&r, Arrival{}), "send 1 a")
	r.Answered(h.now, 1, 200)
	h.actions(&r)
	r.Ended(h.now, 1, false)
	want(t, "second", h.begin(&r, Arrival{}), "respond 429 rate_limited")
	if a := (Request{}); a.Over() {
		t.Fatal("a fresh request is over")
	}
	r.Begin(h.rt, h.now, Arrival{}, h.rng)
	if a := r.Actions()[0]; a.RetryAfter <= 0 || a.RetryAfter > time.Second {
		t.Fatalf("retry after %v", a.RetryAfter)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := newHarness(t, setup{concurrency: &ratelimit.Config{Type: "concurrency", Limit: 1}})
	var r1, r2 Request
	h.begin(&r1, Arrival{})
	want(t, "over the limit", h.begin(&r2, Arrival{}), "respond 503 concurrency_limited")
	r1.Answered(h.now, 1, 200)
	h.actions(&r1)
	r1.Ended(h.now, 1, false)
	want(t, "after", h.begin(&r2, Arrival{}), "send 1 b")
}

func TestBreakerPerTry(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.On5xx),
		breaker: &breaker.Config{ConsecutiveFailures: 2, SleepWindow: time.Second}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Answered(h.now, 1, 503)
	// Every try asks the breaker and reports to it: the first failure
	// leaves it closed, the retry goes out and its failure opens it.
	want(t, "first failure", h.actions(&r), "cancel 1; send 2 b retry")
	r.Answered(h.now, 2, 503)
	want(t, "second failure", h.actions(&r), "cancel 2; respond 503 circuit_open")
	want(t, "events", h.events(), "sent try=1 ep=a; answered try=1 ep=a status=503; cancelled try=1 ep=a; sent try=2 ep=b retry; "+
		"answered try=2 ep=b status=503; cancelled try=2 ep=b; breaker closed->open; refused retry reason=circuit_open; responded status=503 reason=circuit_open")
	want(t, "open", h.begin(&r, Arrival{Replayable: true}), "respond 503 circuit_open")
	h.at(time.Second)
	want(t, "half-open probe", h.begin(&r, Arrival{Replayable: true}), "send 1 c")
	r.Answered(h.now, 1, 200)
	h.actions(&r)
	r.Ended(h.now, 1, false)
	if s := h.cl.Breaker.State(h.now); s != breaker.Closed {
		t.Fatalf("breaker %v after a good probe", s)
	}
}

func TestOutlierEjection(t *testing.T) {
	h := newHarness(t, setup{outlier: &outlier.Config{Consecutive5xx: 2, MaxEjectionPercent: 100}})
	var r Request
	for i := 0; i < 6; i++ {
		h.begin(&r, Arrival{})
		status := 200
		if i%3 == 0 {
			status = 500 // a fails every time it is picked
		}
		r.Answered(h.now, 1, status)
		h.actions(&r)
		r.Ended(h.now, 1, false)
	}
	if !h.cl.Ejected("a") {
		t.Fatalf("a not ejected: %s", h.events())
	}
	for i := 0; i < 4; i++ {
		if got := h.begin(&r, Arrival{}); got == "send 1 a" {
			t.Fatalf("picked the ejected endpoint")
		}
		r.ClientGone(h.now)
		h.actions(&r)
	}
}

func TestBrokenBodyIsAFailure(t *testing.T) {
	h := newHarness(t, setup{outlier: &outlier.Config{ConsecutiveGatewayFailure: 1, EnforcingConsecutiveGatewayFailure: 100, Consecutive5xx: 1, MaxEjectionPercent: 100},
		breaker: &breaker.Config{ConsecutiveFailures: 1}})
	var r Request
	h.begin(&r, Arrival{})
	r.Answered(h.now, 1, 200)
	want(t, "answered", h.actions(&r), "forward 1")
	r.Ended(h.now, 1, true)
	if !h.cl.Ejected("a") || h.cl.Breaker.State(h.now) != breaker.Open {
		t.Fatalf("a body cut short is not a failure: %s", h.events())
	}
}

func TestHedging(t *testing.T) {
	h := newHarness(t, setup{timeout: time.Second, retry: retries(2, retry.On5xx), hedge: &retry.HedgeConfig{Delay: 20 * time.Millisecond, MaxHedges: 2}})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a by 1s; wait 20ms")
	r.Wake(h.at(20 * time.Millisecond))
	want(t, "first hedge", h.actions(&r), "send 2 b hedge by 980ms; wait 20ms")
	r.Answered(h.at(30*time.Millisecond), 2, 503)
	// A retryable answer does not win while a copy is out.
	want(t, "503 from the hedge", h.actions(&r), "")
	r.Wake(h.at(40 * time.Millisecond))
	want(t, "second hedge", h.actions(&r), "send 3 c hedge by 960ms")
	r.Answered(h.at(45*time.Millisecond), 3, 200)
	want(t, "winner", h.actions(&r), "cancel 1; cancel 2; forward 3")
	r.Wake(h.at(60 * time.Millisecond))
	want(t, "late wake", h.actions(&r), "")
	r.Ended(h.now, 3, false)
	if r.Hedges() != 2 || !r.Over() {
		t.Fatalf("hedges %d", r.Hedges())
	}
}

func TestHedgedRoundFailsThenRetries(t *testing.T) {
	h := newHarness(t, setup{retry: retries(2, retry.OnReset, retry.On5xx), hedge: &retry.HedgeConfig{Delay: 10 * time.Millisecond}})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a; wait 10ms")
	r.Wake(h.at(10 * time.Millisecond))
	want(t, "hedge", h.actions(&r), "send 2 b hedge")
	r.Answered(h.at(12*time.Millisecond), 1, 503)
	want(t, "held", h.actions(&r), "")
	r.Failed(h.at(15*time.Millisecond), 2, Reset)
	// The latest failure ends the round; the held answer is dropped and
	// the retry round hedges again.
	want(t, "round over", h.actions(&r), "cancel 1; send 3 c retry; wait 10ms")
	r.Answered(h.at(16*time.Millisecond), 3, 404)
	want(t, "a 404 is an answer", h.actions(&r), "forward 3")
}

func TestHedgeWithoutBudget(t *testing.T) {
	h := newHarness(t, setup{hedge: &retry.HedgeConfig{Delay: 10 * time.Millisecond}, budget: &retry.BudgetConfig{Ratio: 0.01, TTL: time.Hour}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Wake(h.at(10 * time.Millisecond))
	want(t, "no credit", h.actions(&r), "")
	want(t, "events", h.events(), "sent try=1 ep=a; refused hedge reason=retry_budget_exhausted")
}

func TestClientGone(t *testing.T) {
	h := newHarness(t, setup{hedge: &retry.HedgeConfig{Delay: time.Millisecond}, thresholds: &breaker.Thresholds{},
		breaker: &breaker.Config{ConsecutiveFailures: 1}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Wake(h.at(time.Millisecond))
	want(t, "hedge", h.actions(&r), "send 2 b hedge")
	r.ClientGone(h.now)
	want(t, "gone", h.actions(&r), "cancel 1; cancel 2; respond 499 client_closed")
	if n := h.cl.Admission.InUse(breaker.Requests); n != 0 {
		t.Fatalf("%d max_requests units in use", n)
	}
	if h.cl.Breaker.State(h.now) != breaker.Closed {
		t.Fatal("a client that left opened the breaker")
	}
	r.Failed(h.now, 1, Reset)
	want(t, "late report", h.actions(&r), "")
}

func TestNoEndpoint(t *testing.T) {
	h := newHarness(t, setup{endpoints: 1, retry: retries(2, retry.On5xx), thresholds: &breaker.Thresholds{}})
	h.cl.SetHealthy(t0, "a", false)
	var r Request
	want(t, "none healthy", h.begin(&r, Arrival{Replayable: true}), "respond 503 no_healthy_upstream")
	if n := h.cl.Admission.InUse(breaker.Requests); n != 0 {
		t.Fatalf("%d max_requests units in use", n)
	}
	h.cl.SetHealthy(t0, "a", true)
	want(t, "healthy again", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
}

func TestWeightedClusters(t *testing.T) {
	h := newHarness(t, setup{})
	other := &Cluster{Name: "d", Balancer: h.cl.Balancer}
	h.rt.Clusters = []*Cluster{h.cl, other}
	h.rt.Weights = []int{1, 3}
	counts := map[string]int{}
	var r Request
	for range 4000 {
		h.begin(&r, Arrival{})
		counts[r.Cluster().Name]++
		r.ClientGone(h.now)
		h.actions(&r)
	}
	if counts["d"] < 2800 || counts["d"] > 3200 {
		t.Fatalf("split %v, want about 1:3", counts)
	}
}

func TestCheck(t *testing.T) {
	h := newHarness(t, setup{})
	bad := []Route{
		{},
		{Clusters: []*Cluster{h.cl, h.cl}, Weights: []int{1}},
		{Clusters: []*Cluster{h.cl}, Limits: []Limit{{}}},
	}
	for i, rt := range bad {
		if rt.Check() == nil {
			t.Errorf("route %d passed Check", i)
		}
	}
}

func TestNextAllocatesNothing(t *testing.T) {
	h := newHarness(t, setup{timeout: time.Second, retry: retries(3, retry.On5xx), thresholds: &breaker.Thresholds{},
		breaker: &breaker.Config{ConsecutiveFailures: 100}, budget: &retry.BudgetConfig{Ratio: 1, MinPerSecond: 1000}})
	h.rt.Observe, h.cl.Observe = nil, nil
	var r Request
	n := testing.AllocsPerRun(1000, func() {
		r.Begin(h.rt, h.now, Arrival{Replayable: true}, h.rng)
		_ = r.Actions()
		r.Answered(h.now, 1, 503)
		_ = r.Actions()
		r.Answered(h.now, 2, 200)
		_ = r.Actions()
		r.Ended(h.now, 2, false)
	})
	if n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

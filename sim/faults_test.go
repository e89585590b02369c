package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/retry"
	"github.com/meshbench/meshbench/scenarios"
)

// window selects results that started in [from, to).
func window(rs []bench.Result, from, to time.Duration) []bench.Result {
	var out []bench.Result
	for _, r := range rs {
		if r.Start >= from && r.Start < to {
			out = append(out, r)
		}
	}
	return out
}

func countKind(rs []bench.Result, k bench.Kind) int {
	n := 0
	for _, r := range rs {
		if r.Kind == k {
			n++
		}
	}
	return n
}

func meanLatency(rs []bench.Result, instance string) time.Duration {
	var sum time.Duration
	n := 0
	for _, r := range rs {
		if r.Instance == instance && r.OK() {
			sum += r.Latency
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// killSpec is four replicas behind round robin at light load, with payments[0]
// killed from 3s to 6s.
func killSpec() *spec {
	s := fleetSpec(4, 4, 2*time.Millisecond, 1000, 10*time.Second, "round_robin")
	s.services[0].name = "payments"
	s.gateway.routes[0].service = "payments"
	s.network.latency = constDist(100 * time.Microsecond)
	s.policy.Timeouts.Connect = 250 * time.Millisecond
	s.policy.Timeouts.Request = time.Second
	s.faults = []faultSpec{{at: 3 * time.Second, dur: 3 * time.Second, action: faultKill,
		target: targetSpec{service: "payments", index: 0}}}
	return s
}

func TestKillThenRestart(t *testing.T) {
	rs := runSpec(t, killSpec())
	before := window(rs, 0, 3*time.Second-10*time.Millisecond)
	during := window(rs, 3*time.Second+10*time.Millisecond, 6*time.Second-10*time.Millisecond)
	after := window(rs, 6*time.Second+10*time.Millisecond, 10*time.Second)
	if n := len(before) - countKind(before, bench.KindOK); n != 0 {
		t.Errorf("%d errors before the kill", n)
	}
	refused := countKind(during, bench.KindRefused)
	share := float64(refused) / float64(len(during))
	t.Logf("during the kill: %d of %d refused (%.3f)", refused, len(during), share)
	if share < 0.2 || share > 0.3 { // round robin sends it a quarter
		t.Errorf("refused share %.3f during the kill, want about 0.25", share)
	}
	for _, r := range during {
		if r.Instance == "payments[0]" {
			t.Fatalf("killed replica answered: %+v", r)
		}
	}
	if n := len(after) - countKind(after, bench.KindOK); n != 0 {
		t.Errorf("%d errors after the restart", n)
	}
	if n := meanLatency(after, "payments[0]"); n == 0 {
		t.Error("restarted replica answers nothing")
	}
}

func TestKillResetsInFlight(t *testing.T) {
	s := killSpec()
	s.services[0].serviceTime = constDist(50 * time.Millisecond) // always busy
	rs := runSpec(t, s)
	if n := countKind(rs, bench.KindReset); n == 0 {
		t.Error("no request in flight on the killed replica was reset")
	}
}

func TestKillRetriedOnConnectFailure(t *testing.T) {
	s := killSpec()
	// Each retry picks afresh, so a quarter of retries land on the dead
	// replica again: four retries leave (1/4)^4 of its share failing.
	s.policy.Retries = &scenarios.Retries{Attempts: 5, RetryOn: []string{retry.OnConnectFailure, retry.OnReset}}
	rs := runSpec(t, s)
	sum := summarize(rs, 0)
	t.Logf("with retries: %s", sum)
	if sum.availability() < 0.999 {
		t.Errorf("availability %.4f with connect-failure retries", sum.availability())
	}
	if sum.retries == 0 {
		t.Error("no retries")
	}
}

func TestSlowReplica(t *testing.T) {
	s := fleetSpec(4, 4, 2*time.Millisecond, 400, 12*time.Second, "round_robin")
	s.faults = []faultSpec{{at: 4 * time.Second, dur: 4 * time.Second, action: faultSlow, factor: 10,
		target: targetSpec{service: "svc", index: 1}}}
	rs := runSpec(t, s)
	during := window(rs, 4500*time.Millisecond, 7*time.Second)
	slow, fast := meanLatency(during, "svc[1]"), meanLatency(during, "svc[0]")
	t.Logf("during: svc[1] %v, svc[0] %v", slow, fast)
	if slow < 6*fast {
		t.Errorf("slowed replica's mean %v not well above the others' %v", slow, fast)
	}
	after := window(rs, 9*time.Second, 12*time.Second)
	if a, b := meanLatency(after, "svc[1]"), meanLatency(after, "svc[0]"); a > 2*b {
		t.Errorf("after the fault svc[1] %v still slower than svc[0] %v", a, b)
	}
}

func TestPauseHoldsRequests(t *testing.T) {
	s := fleetSpec(1, 1, time.Millisecond, 100, 5*time.Second, "round_robin")
	s.faults = []faultSpec{{at: 2 * time.Second, dur: 500 * time.Millisecond, action: faultPause,
		target: targetSpec{service: "svc", index: -1}}}
	rs := runSpec(t, s)
	for _, r := range window(rs, 2*time.Second, 2400*time.Millisecond) {
		// Nothing progresses until 2.5s: a request sent at t waits at least
		// until then.
		if min := 2500*time.Millisecond - r.Start; r.Latency < min {
			t.Fatalf("request at %v answered after %v, before the pause ended", r.Start, r.Latency)
		}
	}
	if n := len(rs) - countKind(rs, bench.KindOK); n != 0 {
		t.Errorf("%d errors: a pause without timeouts should only delay", n)
	}
}

func TestPartitionTimesOutConnects(t *testing.T) {
	s := fleetSpec(2, 2, time.Millisecond, 200, 6*time.Second, "round_robin")
	s.policy.Timeouts.Connect = 100 * time.Millisecond
	s.faults = []faultSpec{{at: 2 * time.Second, dur: 2 * time.Second, action: faultPartition,
		target: targetSpec{service: "svc", index: 0}, peer: &targetSpec{gateway: true}}}
	rs := runSpec(t, s)
	during := window(rs, 2*time.Second, 4*time.Second-200*time.Millisecond)
	to := countKind(during, bench.KindTimeout)
	t.Logf("during the partition: %d of %d timed out", to, len(during))
	if to == 0 || to > len(during)*6/10 {
		t.Errorf("%d of %d timed out, want about half", to, len(during))
	}
	for _, r := range during {
		if r.Kind == bench.KindTimeout && (r.Latency < 100*time.Millisecond || r.Latency > 110*time.Millisecond) {
			t.Fatalf("connect timeout after %v, want 100ms", r.Latency)
		}
	}
	after := window(rs, 4100*time.Millisecond, 6*time.Second)
	if n := len(after) - countKind(after, bench.KindOK); n != 0 {
		t.Errorf("%d errors after the partition healed", n)
	}
}

func TestLossSurfacesAsTimeout(t *testing.T) {
	s := fleetSpec(2, 4, time.Millisecond, 1000, 10*time.Second, "round_robin")
	s.network.loss = 0.05
	s.policy.Timeouts.Request = 200 * time.Millisecond
	rs := runSpec(t, s)
	to := float64(countKind(rs, bench.KindTimeout)) / float64(len(rs))
	// Two lossy hops per request (gateway→replica, replica→gateway); the
	// client hop never loses.
	want := 1 - 0.95*0.95
	t.Logf("timeouts %.4f, want %.4f", to, want)
	if !within(to, want, 0.1) {
		t.Errorf("timeout share %.4f, want %.4f", to, want)
	}
}

func TestErrorsFault(t *testing.T) {
	s := fleetSpec(2, 2, time.Millisecond, 500, 6*time.Second, "round_robin")
	s.faults = []faultSpec{{at: 2 * time.Second, dur: 2 * time.Second, action: faultErrors, rate: 1, status: 503,
		target: targetSpec{service: "svc", index: 1}}}
	rs := runSpec(t, s)
	for _, r := range window(rs, 2*time.Second+10*time.Millisecond, 4*time.Second-10*time.Millisecond) {
		if r.Instance == "svc[1]" && r.Status != 503 {
			t.Fatalf("svc[1] answered %d during its errors fault", r.Status)
		}
	}
	if n := countKind(window(rs, 4100*time.Millisecond, 6*time.Second), bench.KindStatus5xx); n != 0 {
		t.Errorf("%d errors after the fault", n)
	}
}

// TestOutlierEjection: one of ten replicas fails every request; Envoy's
// consecutive-5xx detector ejects it after five, and it receives nothing
// more until its ejection time has passed.
func TestOutlierEjection(t *testing.T) {
	s := fleetSpec(10, 4, time.Millisecond, 1000, 10*time.Second, "round_robin")
	s.faults = []faultSpec{{at: time.Second, action: faultErrors, rate: 1, status: 500,
		target: targetSpec{service: "svc", index: 3}}}
	s.policy.OutlierDetection = &scenarios.OutlierDetection{Interval: time.Second, BaseEjectionTime: 30 * time.Second,
		MaxEjectionPercent: 10, Consecutive5xx: 5}
	rs := runSpec(t, s)
	var failed int
	var last time.Duration
	for _, r := range rs {
		if r.Instance == "svc[3]" && r.Status == 500 {
			failed++
			last = r.Start
		}
	}
	t.Logf("svc[3] failed %d requests, the last at %v", failed, last)
	if failed < 5 || failed > 8 {
		t.Errorf("svc[3] failed %d requests, want 5 (and the few in flight)", failed)
	}
	if last > 1100*time.Millisecond {
		t.Errorf("svc[3] still served at %v", last)
	}
}

// TestRetryBudgetCaps: half of all answers fail; four retries each would
// nearly double the load, a 10% budget holds retries to 10% of requests.
func TestRetryBudgetCaps(t *testing.T) {
	run := func(budget *scenarios.RetryBudget) summary {
		s := fleetSpec(4, 8, time.Millisecond, 1000, 20*time.Second, "round_robin")
		s.services[0].errorRate = 0.5
		s.policy.Retries = &scenarios.Retries{Attempts: 5, RetryOn: []string{retry.On5xx}, Budget: budget}
		return summarize(runSpec(t, s), 0)
	}
	free := run(nil)
	capped := run(&scenarios.RetryBudget{Ratio: 0.1, MinPerSecond: 1, TTL: 10 * time.Second})
	t.Logf("no budget: %s", free)
	t.Logf("10%% budget: %s", capped)
	if free.retries < free.n/2 {
		t.Errorf("without a budget only %d retries for %d requests", free.retries, free.n)
	}
	// 10% of requests plus 1/s × TTL of reserve.
	if limit := capped.n/10 + 10 + 20; capped.retries > limit {
		t.Errorf("budget let %d retries through, cap %d", capped.retries, limit)
	}
	if capped.retries < capped.n/20 {
		t.Errorf("budget let only %d retries through for %d requests", capped.retries, capped.n)
	}
}

// TestHedgingCutsTail: a bimodal service (1% of requests take 100ms) behind
// a 10ms hedge: the tail collapses, every request still has one result.
func TestHedgingCutsTail(t *testing.T) {
	run := func(hedge *scenarios.Hedging) summary {
		s := fleetSpec(8, 8, time.Millisecond, 500, 20*time.Second, "round_robin")
		s.services[0].serviceTime = bimodal{fast: time.Millisecond, slow: 100 * time.Millisecond, pSlow: 0.01}
		s.policy.Retries = &scenarios.Retries{Attempts: 1, Hedging: hedge}
		return summarize(runSpec(t, s), 0)
	}
	plain := run(nil)
	hedged := run(&scenarios.Hedging{Delay: 10 * time.Millisecond, MaxHedges: 1})
	t.Logf("plain:  %s", plain)
	t.Logf("hedged: %s", hedged)
	if plain.n != hedged.n {
		t.Fatalf("hedging changed the number of results: %d vs %d", plain.n, hedged.n)
	}
	if hedged.p99 >= plain.p99/3 || hedged.hedges == 0 {
		t.Errorf("hedged p99 %v vs plain %v with %d hedges", hedged.p99, plain.p99, hedged.hedges)
	}
	if hedged.hedges > hedged.n/50 {
		t.Errorf("%d hedges for %d requests: only the slow 1%% should hedge", hedged.hedges, hedged.n)
	}
}

type bimodal struct {
	fast, slow time.Duration
	pSlow      float64
}

func (b bimodal) Sample(r *rand.Rand) time.Duration {
	if r.Float64() < b.pSlow {
		return b.slow
	}
	return b.fast
}

// TestCallsFanOut: with constant times and no queueing, a checkout's latency
// is exactly its critical path: client hop, gateway hop, payments' work, the
// slower of risk and fraud, ledger, and the hops back.
func TestCallsFanOut(t *testing.T) {
	const hop = 500 * time.Microsecond
	s := &spec{
		seed:     1,
		duration: 2 * time.Second,
		gateway:  gatewaySpec{routes: []routeSpec{{name: "pay", match: mustMatch(scenarios.Match{Path: "/pay", Method: "POST"}), service: "payments"}}},
		services: []serviceSpec{
			{name: "payments", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(4 * time.Millisecond),
				calls: [][]string{{"risk", "fraud"}, {"ledger"}}},
			{name: "risk", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(2 * time.Millisecond)},
			{name: "fraud", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(3 * time.Millisecond)},
			{name: "ledger", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(2 * time.Millisecond)},
		},
		network: networkSpec{latency: constDist(hop)},
		loads: []loadSpec{
			{name: "checkout", method: "POST", path: "/pay", shape: rateShape{kind: shapeConstant, rate: 20}},
			{name: "lost", method: "GET", path: "/nowhere", shape: rateShape{kind: shapeConstant, rate: 5}},
		},
		policy: scenarios.Policy{Balancer: scenarios.Balancer{Type: "round_robin"}, Timeouts: scenarios.Timeouts{Request: time.Second}},
	}
	rs := runSpec(t, s)
	want := 2*hop + 4*time.Millisecond + (2*hop + 3*time.Millisecond) + (2*hop + 2*time.Millisecond) + 2*hop
	var ok, notFound int
	for _, r := range rs {
		switch r.Status {
		case 200:
			ok++
			if r.Latency != want {
				t.Fatalf("checkout latency %v, want %v", r.Latency, want)
			}
		case 404:
			notFound++
			if r.Latency != 2*hop || r.Instance != "" {
				t.Fatalf("unrouted request: %+v", r)
			}
		default:
			t.Fatalf("unexpected result %+v", r)
		}
	}
	if ok != 40 || notFound != 10 {
		t.Errorf("%d checkouts and %d 404s, want 40 and 10", ok, notFound)
	}
}

// TestDownstreamFailurePropagates: a failing ledger fails the checkout with
// the status its sidecar returned, and the checkout names payments.
func TestDownstreamFailurePropagates(t *testing.T) {
	s := &spec{
		seed:     1,
		duration: 2 * time.Second,
		gateway:  gatewaySpec{routes: []routeSpec{{name: "pay", match: mustMatch(scenarios.Match{PathPrefix: "/"}), service: "payments"}}},
		services: []serviceSpec{
			{name: "payments", replicas: 1, concurrency: 4, queue: 10, serviceTime: constDist(time.Millisecond), calls: [][]string{{"ledger"}}},
			{name: "ledger", replicas: 1, concurrency: 4, queue: 10, serviceTime: constDist(time.Millisecond), errorRate: 1},
		},
		loads:  []loadSpec{{name: "checkout", path: "/", shape: rateShape{kind: shapeConstant, rate: 10}}},
		policy: scenarios.Policy{Balancer: scenarios.Balancer{Type: "round_robin"}, Timeouts: scenarios.Timeouts{Request: time.Second}},
	}
	for _, r := range runSpec(t, s) {
		if r.Status != 500 || r.Kind != bench.KindStatus5xx || r.Instance != "payments[0]" {
			t.Fatalf("result %+v, want payments[0] answering 500", r)
		}
	}
}

// TestDeadlineFreesTheReplica: the fleet's replica runs each try under the
// deadline the proxy sends with it, so a try past its deadline leaves the
// queue and gives up its worker then and there (expireAtReplica). One
// worker, a queue of one, a service time of a second and a 250ms timeout,
// one request every 200ms: every request is taken within its deadline
// and times out at exactly 250ms; none finds the queue full. A replica
// that kept expired work (the worker for the whole second, the queue
// until a worker dequeues) would answer most of them 503.
func TestDeadlineFreesTheReplica(t *testing.T) {
	s := fleetSpec(1, 1, 0, 0, 2*time.Second, "round_robin")
	s.services[0].queue = 1
	s.services[0].serviceTime = constDist(time.Second)
	s.loads[0].poisson = false
	s.loads[0].shape = rateShape{kind: shapeConstant, rate: 5}
	s.policy.Timeouts.Request = 250 * time.Millisecond
	rs := runSpec(t, s)
	if len(rs) < 9 {
		t.Fatalf("%d results, want about 10", len(rs))
	}
	for _, r := range rs {
		if r.Kind != bench.KindTimeout || r.Latency != 250*time.Millisecond {
			t.Errorf("request at %v: %v after %v, want a timeout after 250ms", r.Start, r.Kind, r.Latency)
		}
	}
}

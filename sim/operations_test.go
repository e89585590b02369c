package sim

import (
	"context"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// operationsSpec is the payment fleet with constant times: payments serves
// a payment (POST /v1/payments) with 4ms of work, risk ‖ fraud, then
// ledger, and a lookup (GET /v1/payments/{id}) with 1ms of work and the
// ledger only. The ledger has an operation of its own that only a request
// from the gateway could take: payments' calls must not.
func operationsSpec(hop time.Duration) *spec {
	return &spec{
		seed:     1,
		duration: 2 * time.Second,
		gateway: gatewaySpec{routes: []routeSpec{
			{name: "payments", match: mustMatch(scenarios.Match{PathPrefix: "/v1/payments"}), service: "payments"},
			{name: "ledger", match: mustMatch(scenarios.Match{PathPrefix: "/v1/ledger"}), service: "ledger"},
		}},
		services: []serviceSpec{
			{name: "payments", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(4 * time.Millisecond),
				calls: [][]string{{"risk", "fraud"}, {"ledger"}},
				operations: []operationSpec{
					{name: "lookup", match: mustMatch(scenarios.Match{Method: "GET", PathPrefix: "/v1/payments/"}),
						serviceTime: constDist(time.Millisecond), calls: [][]string{{"ledger"}}},
					{name: "never", match: mustMatch(scenarios.Match{Method: "GET", PathPrefix: "/v1/payments/x"}),
						serviceTime: constDist(time.Second)},
				}},
			{name: "risk", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(2 * time.Millisecond)},
			{name: "fraud", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(3 * time.Millisecond)},
			{name: "ledger", replicas: 2, concurrency: 4, queue: 10, serviceTime: constDist(2 * time.Millisecond),
				operations: []operationSpec{
					{name: "audit", match: mustMatch(scenarios.Match{PathPrefix: "/"}), serviceTime: constDist(7 * time.Millisecond)},
				}},
		},
		network: networkSpec{latency: constDist(hop)},
		loads: []loadSpec{
			{name: "checkout", method: "POST", path: "/v1/payments", shape: rateShape{kind: shapeConstant, rate: 20}},
			{name: "lookups", method: "GET", path: "/v1/payments/{payment}", shape: rateShape{kind: shapeConstant, rate: 10}},
			{name: "audit", method: "GET", path: "/v1/ledger/audit", shape: rateShape{kind: shapeConstant, rate: 5}},
		},
		policy: scenarios.Policy{Balancer: scenarios.Balancer{Type: "round_robin"}, Timeouts: scenarios.Timeouts{Request: time.Second}},
	}
}

// grpcOperationsSpec is operationsSpec with every service and workload on
// gRPC.
func grpcOperationsSpec(hop time.Duration) *spec {
	s := operationsSpec(hop)
	for i := range s.services {
		s.services[i].grpc = true
	}
	for i := range s.loads {
		s.loads[i].grpc = true
	}
	return s
}

// TestOperations: with constant times and no queueing, each request's
// latency is the critical path of the work that serves it. A lookup costs
// its own 1ms and one ledger call, not a payment's risk and fraud calls;
// the first operation that matches applies; payments' calls to the ledger
// get the ledger's own work, while a request from the gateway to the
// ledger gets the ledger's operation.
func TestOperations(t *testing.T) {
	const hop = 500 * time.Microsecond
	rs := runSpec(t, operationsSpec(hop))
	// Results do not name their load: each load has a latency of its own.
	checkout := 2*hop + 4*time.Millisecond + (2*hop + 3*time.Millisecond) + (2*hop + 2*time.Millisecond) + 2*hop
	lookup := 2*hop + time.Millisecond + (2*hop + 2*time.Millisecond) + 2*hop
	audit := 2*hop + 7*time.Millisecond + 2*hop
	count := map[time.Duration]int{}
	for _, r := range rs {
		entry := "payments["
		if r.Latency == audit {
			entry = "ledger["
		}
		if r.Status != 200 || len(r.Instance) < len(entry) || r.Instance[:len(entry)] != entry {
			t.Fatalf("unexpected result %+v", r)
		}
		count[r.Latency]++
	}
	if len(count) != 3 || count[checkout] != 40 || count[lookup] != 20 || count[audit] != 10 {
		t.Errorf("latencies %v, want 40 checkouts of %v, 20 lookups of %v and 10 audits of %v", count, checkout, lookup, audit)
	}
}

// TestOperationsNoCalls: an operation with no calls answers after its own
// work, though its service calls others for its default requests.
func TestOperationsNoCalls(t *testing.T) {
	const hop = 200 * time.Microsecond
	s := operationsSpec(hop)
	s.services[0].operations[0].calls = nil
	lookups := 0
	for _, r := range runSpec(t, s) {
		if r.Status != 200 {
			t.Fatalf("unexpected result %+v", r)
		}
		if r.Latency == 2*hop+time.Millisecond+2*hop {
			lookups++
		}
	}
	if lookups != 20 {
		t.Errorf("%d lookups answered after %v, want 20", lookups, 2*hop+time.Millisecond+2*hop)
	}
}

// TestOperationsAllocations: a request served by an operation allocates
// nothing once the model's pools are warm: a run twice as long allocates
// about as much.
func TestOperationsAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts: skipped with -short")
	}
	allocs := func(dur time.Duration) (float64, int64) {
		var n int64
		a := testing.AllocsPerRun(1, func() {
			s := operationsSpec(200 * time.Microsecond)
			s.duration = dur
			for i := range s.loads {
				s.loads[i].shape.rate *= 50
			}
			var sink countSink
			m, err := build(s, &sink)
			if err != nil {
				t.Fatal(err)
			}
			m.start()
			if _, err := m.run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			n = sink.n
		})
		return a, n
	}
	a1, n1 := allocs(4 * time.Second)
	a2, n2 := allocs(8 * time.Second)
	t.Logf("%.0f allocations for %d requests, %.0f for %d", a1, n1, a2, n2)
	if per := (a2 - a1) / float64(n2-n1); per > 0.01 {
		t.Errorf("%.3f allocations per extra request (%.0f for %d requests, %.0f for %d), want none", per, a1, n1, a2, n2)
	}
}

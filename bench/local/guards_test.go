package local

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/sim"
)

// partnerGuards is a gateway whose one route checks tokens by
// introspection, refuses one consumer's address, admits the consumer group
// gold but not suspended, and gives every consumer 12 requests a day.
// Who sends each request, with which credential, is the same draw on
// both backends, so every status is exact: 401 for the bad tokens, 403
// for consumer 1 (its address), 2 (suspended) and 3 to 5 (in no allowed
// group), and consumer 0's good requests 200 up to its quota, 429 beyond.
const partnerGuards = `apiVersion: meshbench/v1
kind: Scenario
name: partner-guards
description: Do the gateway's introspection, address list, acl and quota refuse the same requests on sim and local?
seed: 7
duration: 2s
backends: [sim, local]
topology:
  gateway:
    consumerGroups:
      - {name: gold, consumers: [0, 1, 2]}
      - {name: suspended, consumers: [2]}
    routes:
      - name: partners
        match: {method: POST, path: /v1/payments}
        service: payments
        auth: {type: introspection, issuer: https://as.test, audience: payments, introspection: {cacheTtl: 30s, latency: 2ms}}
        ipRestriction: {allow: [127.1.0.0/16], deny: [127.1.0.2]}
        acl: {allow: [gold], deny: [suspended]}
  services:
` + paymentFleet + `load:
  - name: partners
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 50/s
    arrival: constant
    consumers: {count: 6, identity: jwt, badCredentials: {expired: 10%, wrongAudience: 10%, unknownKey: 5%, missing: 5%}}
policy:
  timeouts: {request: 5s}
  quota: {limit: 12, period: day, startAt: 12h}
`

// TestGuardsAgreeWithSim runs partnerGuards on the simulator and on the
// real gateway and requires the same count of every status.
func TestGuardsAgreeWithSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local backend")
	}
	plan := loadPlan(t, partnerGuards)
	run := func(b bench.Backend) []bench.Result {
		sink := &collect{}
		if _, err := b.Run(context.Background(), bench.Job{Plan: plan, Seed: plan.Seed}, sink); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(sink.rs, func(a, b bench.Result) int { return cmp.Compare(a.Start, b.Start) })
		return sink.rs
	}
	count := func(rs []bench.Result) map[int]int {
		got := map[int]int{}
		for _, r := range rs {
			s := r.Status
			if s >= 200 && s < 300 {
				s = 200 // payments answers 201; the simulator's replicas 200
			}
			got[s]++
		}
		return got
	}
	simRs, realRs := run(sim.Backend{}), run(Backend{})
	// The real load generator's constant pacer sends its first request
	// one interval in, so it sends one fewer in the run; the n-th request
	// of each is the same consumer's, so the simulator's first len(real)
	// requests are the ones to compare.
	if d := len(simRs) - len(realRs); d < 0 || d > 1 {
		t.Fatalf("sim sent %d requests, local %d", len(simRs), len(realRs))
	}
	simulated, real := count(simRs[:len(realRs)]), count(realRs)
	t.Logf("sim %v, local %v", simulated, real)
	for _, status := range []int{200, 401, 403, 429} {
		if simulated[status] != real[status] {
			t.Errorf("status %d: sim %d, local %d", status, simulated[status], real[status])
		}
		if simulated[status] == 0 {
			t.Errorf("status %d: none, the scenario should produce some", status)
		}
	}
	if simulated[200] != 12 {
		t.Errorf("%d answered 200, want consumer 0's quota of 12", simulated[200])
	}
	if fmt.Sprint(simulated) != fmt.Sprint(real) {
		t.Errorf("statuses differ: sim %v, local %v", simulated, real)
	}
}

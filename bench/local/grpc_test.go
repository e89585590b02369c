package local

import (
	"context"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// grpcPayments is the payment path over gRPC: the load's calls reach
// payments through the gateway's h2c cluster, and payments calls risk,
// fraud and (sharded) ledger over gRPC through its sidecar. Timeouts are
// generous, so that a slow machine shows as latency, not errors.
const grpcPayments = `apiVersion: meshbench/v1
kind: Scenario
name: grpc-payments
seed: 5
duration: 3s
backends: [local]
topology:
  gateway:
    routes:
      - {name: pay, match: {pathPrefix: /v1/payments}, service: payments}
  services:
    - name: payments
      replicas: 2
      concurrency: 16
      serviceTime: {type: exponential, mean: 1ms}
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
      protocol: grpc
    - {name: risk, replicas: 1, concurrency: 16, serviceTime: {type: exponential, mean: 1ms}, protocol: grpc}
    - {name: fraud, replicas: 1, concurrency: 16, serviceTime: {type: exponential, mean: 1ms}, protocol: grpc}
    - {name: ledger, replicas: 2, concurrency: 16, serviceTime: {type: exponential, mean: 1ms}, protocol: grpc}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 100}
    rate: 40/s
    protocol: grpc
  - name: status
    target: {method: GET, path: "/v1/payments/{payment}"}
    users: {count: 2, thinkTime: 50ms}
    start: 1s
    protocol: grpc
policy:
  timeouts: {connect: 1s, request: 10s}
`

// TestGRPCPaymentPath runs the payment path over gRPC on the local
// backend: every result is a gRPC call (its code in results.bin),
// answered by a payments replica, and the ledger audit is clean.
func TestGRPCPaymentPath(t *testing.T) {
	plan := loadPlan(t, grpcPayments)
	dir := t.TempDir()
	sum, err := bench.Run(context.Background(), plan, bench.RunOptions{Backends: []string{"local"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs", len(sum.Runs))
	}
	r := sum.Runs[0]
	t.Logf("%d requests, availability %.4f, errors %v, per instance %v, audit %+v", r.Requests, r.Availability, r.Errors, r.PerInstance, r.Audit)
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if r.Availability < 0.5 {
		t.Errorf("availability %.4f over gRPC", r.Availability)
	}
	if r.Audit == nil || !r.Audit.Clean() || r.Audit.Acknowledged == 0 || r.Audit.Recorded < r.Audit.Acknowledged {
		t.Errorf("audit %+v, want every acknowledged payment recorded once", r.Audit)
	}
	codes := map[string]int{}
	eachResult(t, dir, func(v vegeta.Result) {
		if v.Code != 0 {
			codes[v.Headers.Get(fleet.HeaderGRPCStatus)]++
		}
	})
	if codes["0"] == 0 || codes[""] > 0 {
		t.Errorf("gRPC codes of the answers %v, want every answer with one, most OK", codes)
	}
}

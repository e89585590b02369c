package local

import (
	"context"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
)

// paymentLookups creates payments and looks them up, through the gateway,
// payments and a sharded ledger; a variant doubles the lookups through a
// load override, which the runner must hand the backend.
const paymentLookups = `apiVersion: meshbench/v1
kind: Scenario
name: payment-lookups
seed: 5
duration: 3s
backends: [local]
topology:
  gateway:
    routes:
      - {name: create-payment, match: {method: POST, path: /v1/payments}, service: payments}
      - {name: payment-status, match: {method: GET, pathPrefix: /v1/payments/}, service: payments}
  services:
` + paymentFleet + `load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    arrival: constant
    rate: 40/s
  - name: lookups
    target: {path: '/v1/payments/{payment}'}
    arrival: constant
    rate: 20/s
    start: 1s
policy:
  timeouts: {request: 5s}
variants:
  - name: base
  - name: busier
    load: {lookups: {rate: 40/s}}
`

// TestPaymentLookups checks that lookups of created payments find them
// (200 from whichever payments replica, whichever ledger shard holds the
// payment), and that each variant is offered its own load.
func TestPaymentLookups(t *testing.T) {
	plan := loadPlan(t, paymentLookups)
	dir := t.TempDir()
	sum, err := bench.Run(context.Background(), plan, bench.RunOptions{Backends: []string{"local"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Runs {
		t.Logf("%s: %d requests, errors %v, audit %+v", r.Variant, r.Requests, r.Errors, r.Audit)
		if r.Error != "" || r.Audit == nil || !r.Audit.Clean() {
			t.Errorf("%s: error %q, audit %+v", r.Variant, r.Error, r.Audit)
		}
		// Per-route and per-workload statistics, filed as the simulator
		// files them, and the open-loop requests' schedule lag.
		create, status := r.Routes["create-payment"], r.Routes["payment-status"]
		if create.Requests != r.Workloads["checkout"].Requests || status.Requests != r.Workloads["lookups"].Requests ||
			create.Requests+status.Requests != r.Requests || create.LatencyHDR == "" {
			t.Errorf("%s: routes %v, workloads %v: want create-payment = checkout, payment-status = lookups", r.Variant, statsCounts(r.Routes), statsCounts(r.Workloads))
		}
		var inst int64
		for id, st := range r.Instances {
			inst += st.Requests
			if st.Requests != r.PerInstance[id] {
				t.Errorf("%s: instance %s: %d requests, per_instance %d", r.Variant, id, st.Requests, r.PerInstance[id])
			}
		}
		if lag := r.ScheduleLag; lag == nil || lag.Requests != r.Requests || lag.BoundP99MS != 10 {
			t.Errorf("%s: schedule lag %+v, want one over all %d open-loop requests", r.Variant, lag, r.Requests)
		} else {
			t.Logf("%s: schedule lag p50 %v ms, p99 %v ms, max %v ms", r.Variant, lag.P50MS, lag.P99MS, lag.MaxMS)
		}
	}

	lookups := map[string]int{}
	eachResult(t, dir, func(r vegeta.Result) {
		if r.Method != "GET" {
			return
		}
		lookups[r.Attack]++
		if !strings.Contains(r.URL, "/v1/payments/pay_") || r.Code != 200 {
			t.Errorf("%s: GET %s answered %d %s, want 200: the payment was acknowledged before", r.Attack, r.URL, r.Code, r.Error)
		}
	})
	// Constant arrivals: 20/s and 40/s for 2s, give or take the edges.
	base, busier := lookups["local/base/0"], lookups["local/busier/0"]
	if base < 35 || base > 45 || busier < 75 || busier > 85 {
		t.Errorf("lookups: base %d, busier %d; want about 40 and 80", base, busier)
	}
}

func statsCounts(m map[string]bench.Stats) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		out[k] = v.Requests
	}
	return out
}

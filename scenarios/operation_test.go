package scenarios

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const withOperations = `apiVersion: meshbench/v1
kind: Scenario
name: operations
duration: 60s
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - name: payments
      replicas: 2
      serviceTime: 5ms
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
      operations:
        - name: lookup
          match: {method: GET, pathPrefix: /v1/payments/}
          serviceTime: 1ms
          calls: [{service: ledger}]
        - name: health
          match: {method: GET, path: /v1/status}
          calls: []
        - name: refund
          match: {method: POST, pathRegex: "/v1/payments/[^/]+/refund"}
    - {name: risk, replicas: 1, serviceTime: 1ms}
    - {name: fraud, replicas: 1, serviceTime: 1ms}
    - {name: ledger, replicas: 1, serviceTime: 1ms}
load:
  - target: {method: POST, path: /v1/payments}
    rate: 100/s
`

func TestOperationDefaults(t *testing.T) {
	p := mustLoad(t, withOperations)
	pay := &p.Services[0]
	ops := pay.Operations
	if len(ops) != 3 {
		t.Fatalf("got %d operations, want 3", len(ops))
	}
	if ops[0].ServiceTime.Value != 1e6 || len(ops[0].Stages()) != 1 {
		t.Errorf("lookup: got service time %v and stages %v", ops[0].ServiceTime, ops[0].Stages())
	}
	if ops[1].Calls == nil || len(ops[1].Calls) != 0 {
		t.Errorf("calls: [] must stay an empty, non-nil list; got %#v", ops[1].Calls)
	}
	if !reflect.DeepEqual(ops[1].ServiceTime, pay.ServiceTime) {
		t.Errorf("health inherits the service time: got %v, want %v", ops[1].ServiceTime, pay.ServiceTime)
	}
	if !reflect.DeepEqual(ops[2].Calls, pay.Calls) || !reflect.DeepEqual(ops[2].ServiceTime, pay.ServiceTime) {
		t.Errorf("refund inherits the service's work: got %v %v", ops[2].ServiceTime, ops[2].Calls)
	}
	ops[2].Calls[0].Service = "changed"
	if pay.Calls[0].Service != "risk" {
		t.Error("an inherited calls list must be a copy of the service's")
	}
}

// TestOperationPlanRoundTrip checks that plan.json keeps operations, an
// empty calls list included, and loads back to the same plan.
func TestOperationPlanRoundTrip(t *testing.T) {
	p := mustLoad(t, withOperations)
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"name":"health","match":{"path":"/v1/status","method":"GET"},"serviceTime":"5ms","calls":[]`) {
		t.Errorf("plan JSON lacks the health operation with no calls:\n%s", raw)
	}
	back, err := LoadBytes("plan.json", raw)
	if err != nil {
		t.Fatalf("plan.json does not load back: %v", err)
	}
	if !reflect.DeepEqual(back.Services, p.Services) {
		t.Errorf("services differ after the round trip:\n got %+v\nwant %+v", back.Services, p.Services)
	}
}

func TestOperationFor(t *testing.T) {
	p := mustLoad(t, withOperations)
	pay := &p.Services[0]
	for _, tc := range []struct {
		name string
		req  Request
		want string // "" for the service's own work
	}{
		{"lookup", Request{Method: "GET", Path: "/v1/payments/pay_1"}, "lookup"},
		{"lookup with query", Request{Method: "GET", Path: "/v1/payments/pay_1?x=1"}, "lookup"},
		{"payment lookup", PaymentLookup(), "lookup"},
		{"create", Request{Method: "POST", Path: "/v1/payments"}, ""},
		{"refund", Request{Method: "POST", Path: "/v1/payments/pay_1/refund"}, "refund"},
		{"refund, wrong method", Request{Method: "PUT", Path: "/v1/payments/pay_1/refund"}, ""},
		{"status, method defaults to GET", Request{Path: "/v1/status"}, "health"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if op := pay.OperationFor(tc.req); op != nil {
				got = op.Name
			}
			if got != tc.want {
				t.Errorf("OperationFor(%s %s) = %q, want %q", tc.req.Method, tc.req.Path, got, tc.want)
			}
		})
	}
}

// TestOperationsOnRealBackends checks that the fleet's lookup, as the
// library's gateway-burst writes it, is accepted on local and containers.
func TestOperationsOnRealBackends(t *testing.T) {
	src := strings.Replace(withOperations, "duration: 60s", "duration: 60s\nbackends: [sim, local]", 1)
	src = strings.Replace(src, `        - name: health
          match: {method: GET, path: /v1/status}
          calls: []
        - name: refund
          match: {method: POST, pathRegex: "/v1/payments/[^/]+/refund"}
`, "", 1)
	p := mustLoad(t, src)
	if op := p.Services[0].OperationFor(PaymentLookup()); op == nil || op.Name != "lookup" {
		t.Fatalf("the lookup operation is not found: %+v", op)
	}
}

// TestCheckFleetOperations: a sim-only scenario may give payments any
// operation, but a real backend asked to run it refuses what the fleet
// cannot serve.
func TestCheckFleetOperations(t *testing.T) {
	p := mustLoad(t, withOperations)
	err := p.CheckFleetOperations(BackendLocal)
	if err == nil {
		t.Fatal("the health and refund operations are accepted for local")
	}
	for _, want := range []string{"operation health: on local, an operation of payments must match the lookups", "operation refund:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "operation lookup") {
		t.Errorf("the lookup is refused: %v", err)
	}
	if err := mustLoad(t, minimal).CheckFleetOperations(BackendContainers); err != nil {
		t.Errorf("a scenario without operations: %v", err)
	}
}

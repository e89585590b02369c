package local

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

func TestRoleOf(t *testing.T) {
	full := &scenarios.Topology{Services: []scenarios.Service{{Name: "payments"}, {Name: "risk"}, {Name: "fraud"}, {Name: "ledger"}, {Name: "catalog"}}}
	partial := &scenarios.Topology{Services: []scenarios.Service{{Name: "payments"}, {Name: "risk"}}}
	tests := []struct {
		name        string
		svc         string
		topo        *scenarios.Topology
		wantRole    fleet.Role
		wantGeneric bool
	}{
		{"payments with its callees", "payments", full, fleet.RolePayments, false},
		{"payments without a ledger is generic", "payments", partial, fleet.RoleRisk, true},
		{"risk", "risk", full, fleet.RoleRisk, false},
		{"fraud", "fraud", full, fleet.RoleFraud, false},
		{"ledger", "ledger", full, fleet.RoleLedger, false},
		{"any other name is generic", "catalog", full, fleet.RoleRisk, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := tt.topo.Service(tt.svc)
			role, generic := roleOf(s, tt.topo)
			if role != tt.wantRole || generic != tt.wantGeneric {
				t.Errorf("roleOf(%s) = %s, %v; want %s, %v", tt.svc, role, generic, tt.wantRole, tt.wantGeneric)
			}
		})
	}
}

func TestCallees(t *testing.T) {
	pay := &scenarios.Service{Name: "payments", Calls: []scenarios.Call{{Service: "ledger"}}}
	if got := callees(pay, fleet.RolePayments, false); !slices.EqualFunc(got, [][]string{{"risk", "fraud"}, {"ledger"}}, slices.Equal) {
		t.Errorf("payments calls %v: the fleet's flow, whatever the scenario says", got)
	}
	api := &scenarios.Service{Name: "api", Calls: []scenarios.Call{{Service: "a", Parallel: true}, {Service: "b", Parallel: true}, {Service: "c"}}}
	if got := callees(api, fleet.RoleRisk, true); !slices.EqualFunc(got, [][]string{{"a", "b"}, {"c"}}, slices.Equal) {
		t.Errorf("generic calls %v", got)
	}
	if got := callees(&scenarios.Service{Name: "risk", Calls: []scenarios.Call{{Service: "x"}}}, fleet.RoleRisk, false); got != nil {
		t.Errorf("risk calls %v: the leaf roles call nothing", got)
	}
	if err := checkGenericCalls(&scenarios.Service{Name: "api", Calls: []scenarios.Call{{Service: "ledger"}}}, map[string]fleet.Role{"ledger": fleet.RoleLedger}); err == nil {
		t.Error("a generic service calling the ledger was accepted")
	}
}

// TestLookupServiceTime: payments' lookups get the service time of the
// scenario's operation that matches GET /v1/payments/{id}, or none.
func TestLookupServiceTime(t *testing.T) {
	lookup := scenarios.Operation{
		Name:        "lookup",
		Match:       scenarios.OperationMatch{Method: "GET", PathPrefix: "/v1/payments/"},
		ServiceTime: scenarios.Constant(time.Millisecond),
		Calls:       []scenarios.Call{{Service: "ledger"}},
	}
	refund := scenarios.Operation{
		Name:        "refund",
		Match:       scenarios.OperationMatch{Method: "POST", PathPrefix: "/v1/refunds"},
		ServiceTime: scenarios.Constant(time.Second),
	}
	tests := []struct {
		name string
		ops  []scenarios.Operation
		want scenarios.DistributionSpec
	}{
		{"no operations", nil, scenarios.DistributionSpec{}},
		{"an operation for other requests", []scenarios.Operation{refund}, scenarios.DistributionSpec{}},
		{"the lookup", []scenarios.Operation{refund, lookup}, scenarios.Constant(time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scenarios.Service{Name: "payments", ServiceTime: scenarios.Constant(5 * time.Millisecond), Operations: tt.ops}
			if got := lookupServiceTime(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

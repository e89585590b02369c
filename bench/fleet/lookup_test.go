package fleet_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// TestLookup reads payments back by id: an approved payment as the ledger
// recorded it, 404 for a declined one (it moved no money and is not
// recorded), for an id never issued and for one that cannot be an id.
func TestLookup(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	created := pay(t, c, f.paymentsURL, "key-1", payment(1500, "tok_ok"))
	if created.status != http.StatusCreated {
		t.Fatalf("payment: %d %s", created.status, created.body)
	}
	want := created.payment(t)
	again := pay(t, c, f.paymentsURL, "key-1", payment(1500, "tok_ok"))
	if id := again.payment(t).ID; id != want.ID {
		t.Errorf("a repeat of the key names payment %q, the first %q", id, want.ID)
	}
	for _, r := range []reply{created, again} {
		if loc := r.header.Get("Location"); loc != "/v1/payments/"+want.ID {
			t.Errorf("%d answer's Location %q, want /v1/payments/%s", r.status, loc, want.ID)
		}
	}
	rejected := pay(t, c, f.paymentsURL, "key-2", payment(1500, "tok_fraud_stolen"))
	if loc := rejected.header.Get("Location"); loc != "" {
		t.Errorf("a declined payment points at %q, which cannot be read back", loc)
	}
	declined := rejected.payment(t)

	tests := []struct {
		name   string
		id     string
		status int
	}{
		{"an approved payment is found", want.ID, http.StatusOK},
		{"a declined payment was not recorded", declined.ID, http.StatusNotFound},
		{"an id never issued", "pay_UNKNOWN", http.StatusNotFound},
		{"not an id", "pay_%3Cx%3E", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustDo(t, c, http.MethodGet, f.paymentsURL+"/v1/payments/"+tt.id, nil, nil)
			if r.status != tt.status {
				t.Fatalf("GET %s: %d %s, want %d", tt.id, r.status, r.body, tt.status)
			}
			if r.header.Get(fleet.HeaderInstance) != "payments" {
				t.Errorf("instance header %q: a lookup is served by a payments replica", r.header.Get(fleet.HeaderInstance))
			}
			if tt.status != http.StatusOK {
				return
			}
			got := r.payment(t)
			if got != want {
				t.Errorf("lookup %+v, want the payment as created %+v", got, want)
			}
		})
	}
	if n := len(listing(t, f.ledgerURL).Entries); n != 1 {
		t.Errorf("the ledger holds %d records after lookups, want 1", n)
	}
}

// TestLookupServiceTime: a lookup spends LookupServiceTime, not the
// payments' ServiceTime. Payments here take an hour each, so a lookup is
// answered only when it does not draw from ServiceTime.
func TestLookupServiceTime(t *testing.T) {
	f := startFleet(t, fleetOptions{payments: func(c *fleet.Config) {
		c.ServiceTime = scenarios.Constant(time.Hour)
		c.LookupServiceTime = scenarios.Constant(0)
	}})
	c := newClient(t)
	r := mustDo(t, c, http.MethodGet, f.paymentsURL+"/v1/payments/pay_UNKNOWN", nil, nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("lookup: %d %s, want 404", r.status, r.body)
	}
}

func TestLookupServiceTimeConfig(t *testing.T) {
	_, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk, LookupServiceTime: scenarios.Constant(time.Millisecond)})
	if err == nil || !strings.Contains(err.Error(), "payments role only") {
		t.Fatalf("a lookup service time for risk: got %v, want an error", err)
	}
	_, err = fleet.NewService(fleet.Config{Role: fleet.RoleRisk, LookupServiceTime: scenarios.DistributionSpec{Type: "lognormal"}})
	if err == nil || !strings.Contains(err.Error(), "lookup service time") {
		t.Fatalf("an invalid lookup service time: got %v, want an error", err)
	}
}

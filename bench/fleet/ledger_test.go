package fleet_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/meshbench/meshbench/bench/fleet"
)

func writeEntry(t *testing.T, c *http.Client, base, key string, e fleet.LedgerEntry) (int, fleet.LedgerEntry) {
	t.Helper()
	r := mustDo(t, c, http.MethodPost, base+"/v1/ledger/entries", map[string]string{fleet.HeaderIdempotencyKey: key}, jsonBody(t, e))
	var got fleet.LedgerEntry
	if r.status/100 == 2 {
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
	}
	return r.status, got
}

// TestLedgerDurable writes records, closes the ledger, opens its file
// again, and finds the records, the duplicate counter and the key index.
func TestLedgerDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	cfg := fleet.Config{Role: fleet.RoleLedger, LedgerPath: path}
	c := newClient(t)
	e1 := fleet.LedgerEntry{PaymentID: "pay_1", ClientPaymentID: "order-1", Amount: 100, Currency: "EUR", Merchant: "m", RiskScore: 0.5}
	e2 := fleet.LedgerEntry{PaymentID: "pay_2", Amount: 200, Currency: "USD", Merchant: "m"}

	svc, base := start(t, cfg)
	if st, got := writeEntry(t, c, base, "k1", e1); st != http.StatusCreated || got.Seq != 1 || got.Key != "k1" {
		t.Fatalf("first write: %d %+v", st, got)
	}
	if st, _ := writeEntry(t, c, base, "k2", e2); st != http.StatusCreated {
		t.Fatalf("second write: %d", st)
	}
	other := e1
	other.PaymentID = "pay_other"
	if st, got := writeEntry(t, c, base, "k1", other); st != http.StatusOK || got.PaymentID != "pay_1" {
		t.Fatalf("repeated key: %d %+v, want 200 with the first record", st, got)
	}
	before := listing(t, base)
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	_, base = start(t, cfg)
	after := listing(t, base)
	if b, a := jsonBody(t, before), jsonBody(t, after); string(a) != string(b) {
		t.Errorf("after reopening:\n%s\nbefore:\n%s", a, b)
	}
	if after.Count != 2 || after.DuplicatesRefused != 1 {
		t.Errorf("after reopening: %d records, %d duplicates refused; want 2 and 1", after.Count, after.DuplicatesRefused)
	}
	if st, got := writeEntry(t, c, base, "k1", other); st != http.StatusOK || got.PaymentID != "pay_1" || got.Seq != 1 {
		t.Errorf("repeated key after reopening: %d %+v", st, got)
	}
	if st, got := writeEntry(t, c, base, "k3", e2); st != http.StatusCreated || got.Seq != 3 {
		t.Errorf("new key after reopening: %d %+v, want seq 3", st, got)
	}
}

func TestLedgerRejects(t *testing.T) {
	_, base := start(t, fleet.Config{Role: fleet.RoleLedger, LedgerPath: filepath.Join(t.TempDir(), "l.db")})
	c := newClient(t)
	valid := fleet.LedgerEntry{PaymentID: "p", Amount: 1, Currency: "EUR", Merchant: "m"}
	tests := []struct {
		name   string
		key    string
		body   string
		status int
	}{
		{"no key", "", string(jsonBody(t, valid)), http.StatusBadRequest},
		{"no payment id", "k", `{"amount":1,"currency":"EUR","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"zero amount", "k", `{"paymentId":"p","amount":0,"currency":"EUR","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"bad currency", "k", `{"paymentId":"p","amount":1,"currency":"E","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"unknown field", "k", `{"paymentId":"p","amount":1,"currency":"EUR","merchant":"m","x":1}`, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.key != "" {
				hdr[fleet.HeaderIdempotencyKey] = tt.key
			}
			r := mustDo(t, c, http.MethodPost, base+"/v1/ledger/entries", hdr, []byte(tt.body))
			if r.status != tt.status {
				t.Errorf("status %d %s, want %d", r.status, trim(r.body), tt.status)
			}
		})
	}
	if l := listing(t, base); l.Count != 0 {
		t.Errorf("ledger holds %d records, want 0", l.Count)
	}
}

package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

func TestRepeatedKeyReplays(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	p := payment(1234, "tok_ok")
	first := pay(t, c, f.paymentsURL, "k-1", p)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := pay(t, c, f.paymentsURL, "k-1", p)
	if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) {
		t.Errorf("repeat: %d %s; want 200 with the first body %s", again.status, again.body, first.body)
	}
	if again.header.Get(fleet.HeaderIdempotentReplayed) != "true" {
		t.Errorf("repeat lacks %s: true", fleet.HeaderIdempotentReplayed)
	}
	other := p
	other.Amount++
	if r := pay(t, c, f.paymentsURL, "k-1", other); r.status != http.StatusUnprocessableEntity {
		t.Errorf("key reused for another payment: %d %s, want 422", r.status, r.body)
	}
	if l := listing(t, f.ledgerURL); l.Count != 1 || l.DuplicatesRefused != 0 {
		t.Errorf("ledger: %d records, %d duplicates refused; want 1 and 0", l.Count, l.DuplicatesRefused)
	}
}

// TestConcurrentDuplicates: requests with one key in flight together are
// processed once; the others wait and replay the first answer.
func TestConcurrentDuplicates(t *testing.T) {
	f := startFleet(t, fleetOptions{risk: func(c *fleet.Config) {
		c.ServiceTime = scenarios.Constant(5e6) // 5ms: the duplicates overlap
	}})
	c := newClient(t)
	const n = 12
	replies := make([]reply, n)
	var wg sync.WaitGroup
	body := jsonBody(t, payment(999, "tok_ok"))
	for i := range n {
		wg.Go(func() {
			r, err := do(context.Background(), c, http.MethodPost, f.paymentsURL+"/v1/payments",
				map[string]string{fleet.HeaderIdempotencyKey: "dup"}, body)
			if err != nil {
				t.Error(err)
			}
			replies[i] = r
		})
	}
	wg.Wait()
	created := 0
	for i, r := range replies {
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("reply %d: %d %s", i, r.status, r.body)
		}
		if !bytes.Equal(r.body, replies[0].body) {
			t.Errorf("reply %d body %s differs from %s", i, r.body, replies[0].body)
		}
	}
	if created != 1 {
		t.Errorf("%d answers were 201, want exactly 1", created)
	}
	l := listing(t, f.ledgerURL)
	if l.Count != 1 || l.DuplicatesRefused != 0 {
		t.Errorf("ledger: %d records, %d duplicates refused; want 1 record, written once", l.Count, l.DuplicatesRefused)
	}
}

// TestLedgerBacksEvictedKeys: once the in-memory store has forgotten a key,
// the ledger's idempotency still charges once and the repeat is replayed.
func TestLedgerBacksEvictedKeys(t *testing.T) {
	f := startFleet(t, fleetOptions{payments: func(c *fleet.Config) { c.IdempotencyCapacity = 1 }})
	c := newClient(t)
	first := pay(t, c, f.paymentsURL, "k-1", payment(10, "tok_ok"))
	pay(t, c, f.paymentsURL, "k-2", payment(20, "tok_ok")) // evicts k-1
	again := pay(t, c, f.paymentsURL, "k-1", payment(10, "tok_ok"))
	if again.status != http.StatusOK {
		t.Fatalf("repeat of an evicted key: %d %s, want 200", again.status, again.body)
	}
	if got, want := again.payment(t).ID, first.payment(t).ID; got != want {
		t.Errorf("repeat answered payment %s, want the first %s", got, want)
	}
	l := listing(t, f.ledgerURL)
	if l.Count != 2 || l.DuplicatesRefused != 1 {
		t.Errorf("ledger: %d records, %d duplicates refused; want 2 and 1", l.Count, l.DuplicatesRefused)
	}
}

// TestKeylessRetriesDoubleCharge: with keys optional, a client that
// retries without a key is charged twice, and the audit says so; the same
// client with a key is charged once.
func TestKeylessRetriesDoubleCharge(t *testing.T) {
	tests := []struct {
		name    string
		withKey bool
		want    bench.Audit
	}{
		{"without keys", false, bench.Audit{Acknowledged: 3, Recorded: 6, Duplicates: 3}},
		{"with keys", true, bench.Audit{Acknowledged: 3, Recorded: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFleet(t, fleetOptions{payments: func(c *fleet.Config) { c.OptionalIdempotencyKey = true }})
			c := newClient(t)
			var acks []fleet.Ack
			for i := range 3 {
				id := fmt.Sprintf("order-%d", i)
				hdr := map[string]string{fleet.HeaderClientPaymentID: id}
				if tt.withKey {
					hdr[fleet.HeaderIdempotencyKey] = "key-" + id
				}
				for range 2 { // the client retries: its first answer was "lost"
					r := mustDo(t, c, http.MethodPost, f.paymentsURL+"/v1/payments", hdr, jsonBody(t, payment(50, "tok_ok")))
					if r.status/100 != 2 {
						t.Fatalf("%s: %d %s", id, r.status, r.body)
					}
					if r.header.Get(fleet.HeaderIdempotencyKey) == "" {
						t.Errorf("answer lacks the key it was processed under")
					}
					ack, _ := fleet.AckOf(&http.Response{StatusCode: r.status, Header: r.header}, id)
					acks = append(acks, ack)
				}
			}
			got, err := fleet.Audit(context.Background(), f.ledgerURL, acks)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("audit %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMissingKeyRequired(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	if r := pay(t, c, f.paymentsURL, "", payment(1, "tok_ok")); r.status != http.StatusBadRequest {
		t.Errorf("no key: %d %s, want 400", r.status, r.body)
	}
	if l := listing(t, f.ledgerURL); l.Count != 0 {
		t.Errorf("ledger holds %d records, want 0", l.Count)
	}
}

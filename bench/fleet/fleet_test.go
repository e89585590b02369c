package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// TestFleet sends a bounded number of payments through the whole fleet and
// audits the ledger: every approved payment recorded once, no declined one.
func TestFleet(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	const n = 60
	var acks []fleet.Ack
	approved, declined := 0, 0
	for i := range n {
		token := "tok_ok"
		if i%5 == 0 {
			token = "tok_fraud_stolen"
		}
		key := fmt.Sprintf("key-%d", i)
		r := pay(t, c, f.paymentsURL, key, payment(int64(100+i), token))
		p := r.payment(t)
		switch r.status {
		case http.StatusCreated:
			approved++
			if p.Status != fleet.StatusApproved || p.IdempotencyKey != key || p.LedgerSeq == 0 || p.ID == "" {
				t.Errorf("approved payment %d: %+v", i, p)
			}
			if !(p.RiskScore >= 0 && p.RiskScore < 1) {
				t.Errorf("payment %d: risk score %v outside [0,1)", i, p.RiskScore)
			}
		case http.StatusPaymentRequired:
			declined++
			if p.Status != fleet.StatusDeclined || p.DeclineReason == "" || p.LedgerSeq != 0 {
				t.Errorf("declined payment %d: %+v", i, p)
			}
		default:
			t.Fatalf("payment %d: %d %s", i, r.status, r.body)
		}
		if got := r.header.Get(fleet.HeaderInstance); got != "payments" {
			t.Errorf("instance header %q, want payments", got)
		}
		if ack, ok := fleet.AckOf(&http.Response{StatusCode: r.status, Header: r.header}, ""); ok {
			acks = append(acks, ack)
		}
	}
	if approved != n-n/5 || declined != n/5 {
		t.Errorf("approved %d, declined %d; want %d and %d", approved, declined, n-n/5, n/5)
	}
	got, err := fleet.Audit(context.Background(), f.ledgerURL, acks)
	if err != nil {
		t.Fatal(err)
	}
	want := bench.Audit{Acknowledged: int64(approved), Recorded: int64(approved)}
	if got != want {
		t.Errorf("audit %+v, want %+v", got, want)
	}
}

// barrier lets n requests through only together: a handler behind it
// proceeds once n requests have arrived, so calls made one after the other
// never pass (they fail when the caller's context ends).
func barrier(n int) func(http.Handler) http.Handler {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if arrived++; arrived == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
				next.ServeHTTP(w, r)
			case <-r.Context().Done():
				http.Error(w, "barrier: the parallel call never came", http.StatusGatewayTimeout)
			}
		})
	}
}

// TestRiskAndFraudInParallel puts risk and fraud behind one two-party
// barrier: the payment succeeds only if payments calls both at once.
func TestRiskAndFraudInParallel(t *testing.T) {
	b := barrier(2)
	f := startFleet(t, fleetOptions{wrapRisk: b, wrapFraud: b})
	c := newClient(t)
	hdr := map[string]string{fleet.HeaderIdempotencyKey: "parallel", fleet.HeaderDeadline: "5000"}
	r := mustDo(t, c, http.MethodPost, f.paymentsURL+"/v1/payments", hdr, jsonBody(t, payment(500, "tok_ok")))
	if r.status != http.StatusCreated {
		t.Fatalf("status %d %s; want 201 (risk and fraud called in parallel)", r.status, r.body)
	}
}

func TestPaymentValidation(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	valid := `{"amount":100,"currency":"EUR","cardToken":"tok_ok","merchant":"m"}`
	tests := []struct {
		name   string
		key    string
		hdr    map[string]string
		body   string
		status int
	}{
		{"valid", "v1", nil, valid, http.StatusCreated},
		{"no key", "", nil, valid, http.StatusBadRequest},
		{"key with a space", "a b", nil, valid, http.StatusBadRequest},
		{"not JSON", "v2", nil, `amount=100`, http.StatusUnprocessableEntity},
		{"trailing data", "v3", nil, valid + valid, http.StatusUnprocessableEntity},
		{"unknown field", "v4", nil, `{"amount":100,"currency":"EUR","cardToken":"t","merchant":"m","cvv":"123"}`, http.StatusUnprocessableEntity},
		{"zero amount", "v5", nil, `{"amount":0,"currency":"EUR","cardToken":"t","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"negative amount", "v6", nil, `{"amount":-5,"currency":"EUR","cardToken":"t","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"fractional amount", "v7", nil, `{"amount":1.5,"currency":"EUR","cardToken":"t","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"lower-case currency", "v8", nil, `{"amount":1,"currency":"eur","cardToken":"t","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"four-letter currency", "v9", nil, `{"amount":1,"currency":"EURO","cardToken":"t","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"no card token", "v10", nil, `{"amount":1,"currency":"EUR","merchant":"m"}`, http.StatusUnprocessableEntity},
		{"no merchant", "v11", nil, `{"amount":1,"currency":"EUR","cardToken":"t"}`, http.StatusUnprocessableEntity},
		{"client ids disagree", "v12", map[string]string{fleet.HeaderClientPaymentID: "c-2"},
			`{"amount":1,"currency":"EUR","cardToken":"t","merchant":"m","clientPaymentId":"c-1"}`, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			if tt.key != "" {
				hdr[fleet.HeaderIdempotencyKey] = tt.key
			}
			r := mustDo(t, c, http.MethodPost, f.paymentsURL+"/v1/payments", hdr, []byte(tt.body))
			if r.status != tt.status {
				t.Errorf("status %d %s, want %d", r.status, trim(r.body), tt.status)
			}
		})
	}
	if l := listing(t, f.ledgerURL); l.Count != 1 {
		t.Errorf("ledger holds %d records, want only the valid payment's", l.Count)
	}
}

func TestFraudDeclines(t *testing.T) {
	f := startFleet(t, fleetOptions{fraud: func(c *fleet.Config) {
		c.Fraud = &fleet.FraudRules{MaxAmount: 10_000, BlockedTokenPrefixes: []string{"tok_bad"}}
	}})
	c := newClient(t)
	tests := []struct {
		name   string
		p      fleet.PaymentRequest
		status int
	}{
		{"approved", payment(10_000, "tok_ok"), http.StatusCreated},
		{"above the limit", payment(10_001, "tok_ok"), http.StatusPaymentRequired},
		{"blocked token", payment(5, "tok_bad_1"), http.StatusPaymentRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := strings.ReplaceAll(tt.name, " ", "-")
			r := pay(t, c, f.paymentsURL, key, tt.p)
			if r.status != tt.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
			}
			if r.status == http.StatusPaymentRequired {
				if p := r.payment(t); p.Status != fleet.StatusDeclined || p.DeclineReason == "" {
					t.Errorf("declined answer %+v", p)
				}
				again := pay(t, c, f.paymentsURL, key, tt.p)
				if again.status != http.StatusPaymentRequired || string(again.body) != string(r.body) {
					t.Errorf("replayed decline: %d %s, want 402 %s", again.status, again.body, r.body)
				}
			}
		})
	}
	l := listing(t, f.ledgerURL)
	if l.Count != 1 || l.Entries[0].Key != "approved" {
		t.Errorf("ledger %+v: want only the approved payment (declines are not recorded)", l.Entries)
	}
}

// TestDownstreamFailure: a callee's 5xx is passed through, the failure is
// not stored, and a retry with the same key succeeds once the callee heals.
func TestDownstreamFailure(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	setFault(t, c, f.riskURL, `{"errorRate":1,"errorStatus":503}`)
	p := payment(700, "tok_ok")
	if r := pay(t, c, f.paymentsURL, "k", p); r.status != http.StatusServiceUnavailable {
		t.Fatalf("with risk failing: %d %s, want 503 passed through", r.status, r.body)
	}
	mustDo(t, c, http.MethodDelete, f.riskURL+"/admin/fault", nil, nil)
	if r := pay(t, c, f.paymentsURL, "k", p); r.status != http.StatusCreated {
		t.Fatalf("retry after recovery: %d %s, want 201", r.status, r.body)
	}
	if l := listing(t, f.ledgerURL); l.Count != 1 {
		t.Errorf("ledger holds %d records, want 1", l.Count)
	}
}

// TestDeadlineBudget: a caller's budget that has run out is answered 504.
func TestDeadlineBudget(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	hdr := map[string]string{fleet.HeaderIdempotencyKey: "d", fleet.HeaderDeadline: "0"}
	r := mustDo(t, c, http.MethodPost, f.paymentsURL+"/v1/payments", hdr, jsonBody(t, payment(1, "tok_ok")))
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("status %d %s, want 504", r.status, r.body)
	}
}

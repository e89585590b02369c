package load

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

func TestPaymentRequests(t *testing.T) {
	tests := []struct {
		name    string
		target  scenarios.Request
		wantKey string // "" none, "*" the request id, else the value
		check   func(t *testing.T, p fleet.PaymentRequest)
	}{
		{
			name:    "no body: a whole payment is made up",
			target:  scenarios.Request{Method: "POST", Path: "/v1/payments", KeySpace: 10, IdempotencyKeys: true},
			wantKey: "*",
			check: func(t *testing.T, p fleet.PaymentRequest) {
				if p.Amount != 1299 || p.Currency != "EUR" || p.Merchant != "merchant-checkout" || !strings.HasPrefix(p.CardToken, "tok_") {
					t.Errorf("payment %+v", p)
				}
			},
		},
		{
			name:    "a partial body is completed, its fields kept",
			target:  scenarios.Request{Method: "POST", Path: "/v1/payments", Body: `{"amount": 5000, "currency": "USD"}`, IdempotencyKeys: true},
			wantKey: "*",
			check: func(t *testing.T, p fleet.PaymentRequest) {
				if p.Amount != 5000 || p.Currency != "USD" || p.Merchant == "" || p.CardToken == "" {
					t.Errorf("payment %+v", p)
				}
			},
		},
		{
			name:    "a body's own card token is kept",
			target:  scenarios.Request{Method: "POST", Path: "/v1/payments", Body: `{"cardToken": "tok_fraud_1"}`, IdempotencyKeys: true},
			wantKey: "*",
			check: func(t *testing.T, p fleet.PaymentRequest) {
				if p.CardToken != "tok_fraud_1" {
					t.Errorf("card token %q", p.CardToken)
				}
			},
		},
		{
			name:    "keys omitted",
			target:  scenarios.Request{Method: "POST", Path: "/v1/payments", IdempotencyKeys: false},
			wantKey: "",
		},
		{
			name:    "the workload's own key wins",
			target:  scenarios.Request{Method: "POST", Path: "/v1/payments", Headers: map[string]string{"idempotency-key": "fixed"}, IdempotencyKeys: true},
			wantKey: "fixed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := scenarios.Workload{Name: "checkout", Target: tt.target}
			q, err := newRequests(w, 0, "http://127.0.0.1:9", 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !q.payment {
				t.Fatal("not a payment")
			}
			var tg vegeta.Target
			q.target(&tg, "checkout-7", q.openKey(7), "c")
			if tg.Method != http.MethodPost || tg.URL != "http://127.0.0.1:9/v1/payments" {
				t.Errorf("request %s %s", tg.Method, tg.URL)
			}
			h := tg.Header
			switch got := h.Get(fleet.HeaderIdempotencyKey); {
			case tt.wantKey == "*" && got != "checkout-7", tt.wantKey != "*" && got != tt.wantKey:
				t.Errorf("Idempotency-Key %q, want %q", got, tt.wantKey)
			}
			if h.Get(fleet.HeaderClientPaymentID) != "checkout-7" || h.Get(HeaderRequestID) != "checkout-7" {
				t.Errorf("ids: %v", h)
			}
			var p fleet.PaymentRequest
			dec := json.NewDecoder(bytes.NewReader(tg.Body))
			dec.DisallowUnknownFields() // as payments decodes
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("body %s: %v", tg.Body, err)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestRequestKeys(t *testing.T) {
	w := scenarios.Workload{Name: "w", Target: scenarios.Request{Method: "GET", Path: "/x", KeySpace: 50, Host: "api.example", Headers: map[string]string{"X-Api-Key": "k"}}}
	q, err := newRequests(w, 1, "http://127.0.0.1:9", 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for n := range uint64(2000) {
		k := q.openKey(n)
		if k >= 50 {
			t.Fatalf("key %d outside keySpace 50", k)
		}
		if k != q.openKey(n) {
			t.Fatal("openKey is not a function of seq")
		}
		seen[k] = true
	}
	if len(seen) != 50 {
		t.Errorf("2000 requests drew %d of 50 keys", len(seen))
	}
	var tg vegeta.Target
	q.target(&tg, "w-1", 3, q.openClient(3))
	if tg.Header.Get("Host") != "api.example" || tg.Header.Get("X-Api-Key") != "k" || tg.Header.Get(HeaderKey) != "3" || tg.Header.Get(HeaderClient) != "w/3" {
		t.Errorf("headers %v", tg.Header)
	}
	if tg.Header.Get(fleet.HeaderIdempotencyKey) != "" || len(tg.Body) != 0 {
		t.Error("a GET got payment headers or a body")
	}
	if q.userKey(77) != 27 {
		t.Errorf("userKey(77) = %d, want 27", q.userKey(77))
	}
	if _, err := newRequests(scenarios.Workload{Name: "bad", Target: scenarios.Request{Method: "POST", Path: "/v1/payments", Body: "[1]"}}, 0, "http://127.0.0.1:9", 1, nil); err == nil {
		t.Error("a payment body that is not an object was accepted")
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:80", "127.1.2.3:1", "[::1]:8080", "localhost:1"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.1:80", "example.com:80", "0.0.0.0:1", "[2001:db8::1]:1"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := baseURL("http://192.168.1.1:80", false); err == nil {
		t.Error("non-loopback target accepted")
	}
	// A load agent in a cluster opts in; nothing is sent here.
	if base, err := baseURL("http://gateway.ns.svc:8080", true); err != nil || base != "http://gateway.ns.svc:8080" || isLoopbackURL(base) {
		t.Errorf("opted-in remote target: %q, %v", base, err)
	}
	if _, err := Run(context.Background(), Config{Target: "http://10.0.0.1:80", Plan: &scenarios.Plan{}, Sink: bench.NewAggregator(0, 0)}); err == nil || !strings.Contains(err.Error(), "only loopback") {
		t.Errorf("Run without the opt-in: %v, want a refusal", err)
	}
}

// TestLookupRequests checks that {payment} in a path names payments the
// run saw acknowledged, drawn by the request id, and a payment that does
// not exist before the first.
func TestLookupRequests(t *testing.T) {
	var created createdPayments
	w := scenarios.Workload{Name: "status", Target: scenarios.Request{Method: "GET", Path: "/v1/payments/" + scenarios.PaymentPlaceholder}}
	q, err := newRequests(w, 1, "http://127.0.0.1:9", 5, &created)
	if err != nil {
		t.Fatal(err)
	}
	url := func(id string) string {
		var tg vegeta.Target
		q.target(&tg, id, 0, "c")
		return tg.URL
	}
	if got := url("status-0"); got != "http://127.0.0.1:9/v1/payments/"+unknownPayment {
		t.Errorf("before any payment: %s", got)
	}
	for _, loc := range []string{"/v1/payments/pay_A", "/v1/payments/pay_B", "", "/v1/refunds/r_1", "/v1/payments/pay_C/x"} {
		created.add(loc)
	}
	seen := map[string]bool{}
	for n := range 200 {
		id := "status-" + strconv.Itoa(n)
		u := url(id)
		if u != url(id) {
			t.Fatal("the payment a lookup names is not a function of its request")
		}
		seen[u] = true
	}
	want := map[string]bool{}
	for _, id := range []string{"pay_A", "pay_B"} {
		want["http://127.0.0.1:9/v1/payments/"+id] = true
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("lookups named %v, want each of %v", seen, want)
	}
}

func TestOmitsIdempotencyKeys(t *testing.T) {
	pay := scenarios.Request{Method: "POST", Path: "/v1/payments", IdempotencyKeys: true}
	noKeys := pay
	noKeys.IdempotencyKeys = false
	get := scenarios.Request{Method: "GET", Path: "/v1/payments/x"}
	for _, tt := range []struct {
		name    string
		targets []scenarios.Request
		want    bool
	}{
		{"payments with keys", []scenarios.Request{pay, get}, false},
		{"one payment workload without", []scenarios.Request{pay, noKeys}, true},
		{"lookups carry no keys anyway", []scenarios.Request{get}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := &scenarios.Plan{}
			for _, r := range tt.targets {
				plan.Load = append(plan.Load, scenarios.Workload{Target: r})
			}
			if got := OmitsIdempotencyKeys(plan); got != tt.want {
				t.Errorf("OmitsIdempotencyKeys = %v, want %v", got, tt.want)
			}
		})
	}
}

package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// countStatus sends n risk requests one at a time and counts each status.
func countStatus(t *testing.T, c *http.Client, base string, n int) map[int]int {
	t.Helper()
	body := jsonBody(t, payment(10, "tok_ok"))
	got := map[int]int{}
	for range n {
		got[mustDo(t, c, http.MethodPost, base+"/v1/risk", nil, body).status]++
	}
	return got
}

// within reports whether k successes in n trials fit a binomial(n, p) by
// five standard deviations: with the fixed seed the count is exact, the
// bound says the draws are what the rate asks for.
func within(k, n int, p float64) bool {
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	return math.Abs(float64(k)-mean) <= 5*sd
}

func TestErrorRates(t *testing.T) {
	const n = 500
	tests := []struct {
		name   string
		base   float64 // Config.ErrorRate
		fault  string  // POSTed to /admin/fault, if any
		status int
		rate   float64
	}{
		{"configured rate", 0.2, "", http.StatusInternalServerError, 0.2},
		{"fault rate", 0, `{"errorRate":0.3}`, http.StatusInternalServerError, 0.3},
		{"fault rate and status replace the configured ones", 0.05, `{"errorRate":0.5,"errorStatus":503}`, http.StatusServiceUnavailable, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := start(t, fleet.Config{Role: fleet.RoleRisk, Seed: 7, ErrorRate: tt.base})
			c := newClient(t)
			if tt.fault != "" {
				setFault(t, c, base, tt.fault)
			}
			got := countStatus(t, c, base, n)
			if got[tt.status]+got[http.StatusOK] != n {
				t.Fatalf("statuses %v: want only 200 and %d", got, tt.status)
			}
			if !within(got[tt.status], n, tt.rate) {
				t.Errorf("%d of %d answered %d, outside binomial bounds for rate %v", got[tt.status], n, tt.status, tt.rate)
			}
			if tt.fault != "" {
				mustDo(t, c, http.MethodDelete, base+"/admin/fault", nil, nil)
				if got := countStatus(t, c, base, 50); tt.base == 0 && got[http.StatusOK] != 50 {
					t.Errorf("after clearing: %v, want all 200", got)
				}
			}
		})
	}
}

// TestErrorsSeeded: the same seed fails the same requests.
func TestErrorsSeeded(t *testing.T) {
	run := func() map[int]int {
		_, base := start(t, fleet.Config{Role: fleet.RoleRisk, Seed: 11, ErrorRate: 0.3})
		return countStatus(t, newClient(t), base, 200)
	}
	a, b := run(), run()
	if a[http.StatusInternalServerError] != b[http.StatusInternalServerError] {
		t.Errorf("same seed, different failures: %v and %v", a, b)
	}
}

func TestHang(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk})
	if err != nil {
		t.Fatal(err)
	}
	hung := make(chan struct{}, 16)
	fleet.SetHooks(svc, nil, func() { hung <- struct{}{} })
	base := serve(t, svc)
	c := newClient(t)
	body := jsonBody(t, payment(10, "tok_ok"))

	setFault(t, c, base, `{"hang":true}`)
	var f fleet.Fault
	if err := json.Unmarshal(mustDo(t, c, http.MethodGet, base+"/admin/fault", nil, nil).body, &f); err != nil || !f.Hang {
		t.Fatalf("GET /admin/fault: %+v %v, want hang", f, err)
	}

	// A request caught by the hang waits...
	caught := make(chan reply, 1)
	go func() {
		r, err := do(context.Background(), c, http.MethodPost, base+"/v1/risk", nil, body)
		if err != nil {
			t.Error(err)
		}
		caught <- r
	}()
	<-hung

	// ...clients with a deadline time out, health checks included...
	for _, req := range []struct{ method, path string }{{http.MethodPost, "/v1/risk"}, {http.MethodGet, "/healthz"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := do(ctx, c, req.method, base+req.path, nil, body)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s %s on a hung replica: %v, want the client's deadline", req.method, req.path, err)
		}
	}

	// ...and proceeds once the hang is cleared.
	if r := mustDo(t, c, http.MethodDelete, base+"/admin/fault", nil, nil); r.status != http.StatusOK || trim(r.body) != "{}" {
		t.Fatalf("DELETE /admin/fault: %d %s", r.status, r.body)
	}
	if r := <-caught; r.status != http.StatusOK {
		t.Errorf("hung request after clearing: %d %s", r.status, r.body)
	}
	if r := mustDo(t, c, http.MethodGet, base+"/healthz", nil, nil); r.status != http.StatusOK {
		t.Errorf("healthz after clearing: %d", r.status)
	}
}

// TestQueueOverflow fills one worker and one queue place; the next request
// is refused 503 queue_full.
func TestQueueOverflow(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk, Concurrency: 1, Queue: 1, ServiceTime: scenarios.Constant(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 4)
	fleet.SetHooks(svc, func() { entered <- struct{}{} }, nil)
	base := serve(t, svc)
	c := newClient(t)
	body := jsonBody(t, payment(10, "tok_ok"))

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 { // one served (for an hour), one queued
		go func() {
			_, err := do(ctx, c, http.MethodPost, base+"/v1/risk", nil, body)
			errs <- err
		}()
	}
	<-entered
	<-entered
	r := mustDo(t, c, http.MethodPost, base+"/v1/risk", nil, body)
	if r.status != http.StatusServiceUnavailable || r.header.Get(fleet.HeaderReason) != fleet.ReasonQueueFull {
		t.Errorf("third request: %d %s %q, want 503 queue_full", r.status, r.body, r.header.Get(fleet.HeaderReason))
	}
	cancel() // the callers give up; their worker and queue place are freed
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v", err)
		}
	}
}

// TestCrashFault: a crash answers the admin request, then the service
// closes its listener: Serve returns ErrCrashed and nothing answers.
func TestCrashFault(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	c := newClient(t)
	if r := mustDo(t, c, http.MethodPost, base+"/admin/fault", nil, []byte(`{"crash":true}`)); r.status != http.StatusAccepted {
		t.Fatalf("crash: %d %s, want 202", r.status, r.body)
	}
	<-svc.Crashed()
	if err := <-served; !errors.Is(err, fleet.ErrCrashed) {
		t.Errorf("Serve returned %v, want ErrCrashed", err)
	}
	if _, err := do(context.Background(), c, http.MethodGet, base+"/healthz", nil, nil); err == nil {
		t.Error("a crashed replica answered")
	}
	if err := svc.Close(); err != nil {
		t.Error(err)
	}
}

// TestCrashHandlerOnly: served by someone else's server, a crashed service
// aborts every request: the connection breaks without an answer.
func TestCrashHandlerOnly(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleFraud})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	defer svc.Close()
	c := newClient(t)
	if err := svc.SetFault(fleet.Fault{Crash: true}); err != nil {
		t.Fatal(err)
	}
	<-svc.Crashed()
	_, err = do(context.Background(), c, http.MethodPost, srv.URL+"/v1/fraud", nil, jsonBody(t, payment(1, "tok_ok")))
	if err == nil {
		t.Error("a crashed service answered")
	}
}

// TestFaultAdmin: POST merges, GET shows, DELETE clears.
func TestFaultAdmin(t *testing.T) {
	_, base := start(t, fleet.Config{Role: fleet.RoleRisk})
	c := newClient(t)
	tests := []struct {
		name, method, body string
		status             int
		want               string
	}{
		{"empty at start", http.MethodGet, "", http.StatusOK, `{}`},
		{"set latency", http.MethodPost, `{"latency":"1ms"}`, http.StatusOK, `{"latency":"1ms"}`},
		{"merge slow", http.MethodPost, `{"slow":2}`, http.StatusOK, `{"latency":"1ms","slow":2}`},
		{"null clears a key", http.MethodPost, `{"latency":null}`, http.StatusOK, `{"slow":2}`},
		{"unknown key", http.MethodPost, `{"slo":2}`, http.StatusBadRequest, ""},
		{"rate above 1", http.MethodPost, `{"errorRate":2}`, http.StatusBadRequest, ""},
		{"bad distribution", http.MethodPost, `{"latency":{"type":"uniform","min":"2ms","max":"1ms"}}`, http.StatusBadRequest, ""},
		{"unchanged by errors", http.MethodGet, "", http.StatusOK, `{"slow":2}`},
		{"delete", http.MethodDelete, "", http.StatusOK, `{}`},
		{"empty after delete", http.MethodGet, "", http.StatusOK, `{}`},
	}
	for _, tt := range tests {
		r := mustDo(t, c, tt.method, base+"/admin/fault", nil, []byte(tt.body))
		if r.status != tt.status || tt.want != "" && trim(r.body) != tt.want {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, trim(r.body), tt.status, tt.want)
		}
	}
	// A request through a latency fault still succeeds.
	setFault(t, c, base, `{"latency":{"type":"uniform","min":"0s","max":"1ms"},"slow":3}`)
	if r := mustDo(t, c, http.MethodPost, base+"/v1/risk", nil, jsonBody(t, payment(1, "tok_ok"))); r.status != http.StatusOK {
		t.Errorf("through latency: %d %s", r.status, r.body)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	f := startFleet(t, fleetOptions{})
	c := newClient(t)
	pay(t, c, f.paymentsURL, "m-1", payment(1, "tok_ok"))
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := mustDo(t, c, http.MethodGet, f.paymentsURL+path, nil, nil); r.status != http.StatusOK {
			t.Errorf("%s: %d", path, r.status)
		}
	}
	m := string(mustDo(t, c, http.MethodGet, f.paymentsURL+"/metrics", nil, nil).body)
	for _, want := range []string{
		`paymentsvc_payments_total{instance="payments",replayed="false",role="payments",status="approved"} 1`,
		`paymentsvc_requests_total{code="201",instance="payments",role="payments"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := mustDo(t, c, http.MethodGet, f.paymentsURL+"/v1/payments", nil, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/payments: %d, want 405", r.status)
	}
	if r := mustDo(t, c, http.MethodPost, f.paymentsURL+"/v1/risk", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("another role's path: %d, want 404", r.status)
	}
}

package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// grpcClient is an HTTP client whose requests of the fleet's API travel
// as gRPC calls (fleet.GRPCTransport).
func grpcClient(t testing.TB) *http.Client {
	t.Helper()
	tr := fleet.NewGRPCTransport()
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func grpcCode(t testing.TB, r reply) codes.Code {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get(fleet.HeaderGRPCStatus))
	if err != nil {
		t.Fatalf("answer %d without a gRPC status: %v", r.status, err)
	}
	return codes.Code(n)
}

// TestGRPCFleet runs the payment flow over gRPC end to end: the client
// calls payments over gRPC, and payments calls risk, fraud and ledger over
// gRPC. The answers are the HTTP API's (201, a replay 200, a decline 402,
// a lookup 200 and an unknown one NOT_FOUND), and the ledger audit is
// clean.
func TestGRPCFleet(t *testing.T) {
	f := startFleet(t, fleetOptions{payments: func(c *fleet.Config) {
		c.GRPCCallees = []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger}
	}})
	c := grpcClient(t)
	var acks []fleet.Ack
	approved := 0
	for i := range 20 {
		token := "tok_ok"
		if i%4 == 0 {
			token = "tok_fraud_stolen"
		}
		key := fmt.Sprintf("key-%d", i)
		r := pay(t, c, f.paymentsURL, key, payment(int64(100+i), token))
		p := r.payment(t)
		switch {
		case token == "tok_ok" && r.status == http.StatusCreated && p.Status == fleet.StatusApproved && p.LedgerSeq > 0:
			approved++
		case token != "tok_ok" && r.status == http.StatusPaymentRequired && p.Status == fleet.StatusDeclined:
		default:
			t.Fatalf("payment %d (%s): %d %s", i, token, r.status, r.body)
		}
		if code := grpcCode(t, r); code != codes.OK {
			t.Errorf("payment %d: gRPC status %v, want OK", i, code)
		}
		if got := r.header.Get(fleet.HeaderInstance); got != "payments" {
			t.Errorf("instance metadata %q, want payments", got)
		}
		if ack, ok := fleet.AckOf(&http.Response{StatusCode: r.status, Header: r.header}, ""); ok {
			acks = append(acks, ack)
		}
		if i == 1 {
			again := pay(t, c, f.paymentsURL, key, payment(int64(100+i), token))
			if again.status != http.StatusOK || again.header.Get(fleet.HeaderIdempotentReplayed) != "true" {
				t.Errorf("replay: %d %v, want 200 replayed", again.status, again.header)
			}
			got := mustDo(t, c, http.MethodGet, f.paymentsURL+"/v1/payments/"+p.ID, nil, nil)
			if got.status != http.StatusOK || got.payment(t).ID != p.ID {
				t.Errorf("lookup of %s: %d %s", p.ID, got.status, got.body)
			}
		}
	}
	missing := mustDo(t, c, http.MethodGet, f.paymentsURL+"/v1/payments/pay_none", nil, nil)
	if missing.status != http.StatusNotFound || grpcCode(t, missing) != codes.NotFound {
		t.Errorf("unknown payment: %d %v", missing.status, missing.header)
	}
	noKey := pay(t, c, f.paymentsURL, "", payment(5, "tok_ok"))
	if noKey.status != http.StatusBadRequest || grpcCode(t, noKey) != codes.InvalidArgument {
		t.Errorf("payment without a key: %d %s", noKey.status, noKey.body)
	}
	got, err := fleet.Audit(context.Background(), f.ledgerURL, acks)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bench.Audit{Acknowledged: int64(approved), Recorded: int64(approved)}); got != want {
		t.Errorf("audit %+v, want %+v", got, want)
	}
}

// TestGRPCFaults: the fault endpoint's behaviours apply to gRPC calls: an
// errors fault answers its status's gRPC code with the reason as
// metadata, and a hang holds the call until the caller's deadline.
func TestGRPCFaults(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, svc)
	h := newClient(t)
	c := grpcClient(t)
	body := jsonBody(t, payment(10, "tok_ok"))

	if r := mustDo(t, c, http.MethodPost, base+"/v1/risk", nil, body); r.status != http.StatusOK || grpcCode(t, r) != codes.OK {
		t.Fatalf("risk over gRPC: %d %s", r.status, r.body)
	}
	setFault(t, h, base, `{"errorRate":1,"errorStatus":503}`)
	r := mustDo(t, c, http.MethodPost, base+"/v1/risk", nil, body)
	if r.status != http.StatusServiceUnavailable || grpcCode(t, r) != codes.Unavailable || r.header.Get(fleet.HeaderReason) != fleet.ReasonInjectedError {
		t.Errorf("errors fault over gRPC: %d %v %s", r.status, r.header, r.body)
	}
	mustDo(t, h, http.MethodDelete, base+"/admin/fault", nil, nil)
	setFault(t, h, base, `{"hang":true}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// gRPC sends the deadline along (grpc-timeout): the replica may answer
	// DEADLINE_EXCEEDED itself just before the client gives up.
	if r, err := do(ctx, c, http.MethodPost, base+"/v1/risk", nil, body); !errors.Is(err, context.DeadlineExceeded) &&
		(err != nil || r.status != http.StatusGatewayTimeout || grpcCode(t, r) != codes.DeadlineExceeded) {
		t.Errorf("hung replica over gRPC: %d %v, want the deadline", r.status, err)
	}
	mustDo(t, h, http.MethodDelete, base+"/admin/fault", nil, nil)
}

// TestGRPCCallsAgree: the fleet's gRPC calls as the scenario format and
// the data plane know them (scenarios.FleetGRPCCalls) are the ones the
// fleet serves.
func TestGRPCCallsAgree(t *testing.T) {
	calls := scenarios.FleetGRPCCalls()
	if len(calls) != 6 {
		t.Fatalf("%d calls, want the six of paymentspb", len(calls))
	}
	for _, c := range calls {
		full, ok := fleet.GRPCMethod(c.Method, c.ExamplePath())
		if !ok || full != c.FullMethod {
			t.Errorf("%s %s: fleet's method %q %v, scenarios' %q", c.Method, c.ExamplePath(), full, ok, c.FullMethod)
		}
		if svc := fleet.GRPCService(fleet.Role(c.Service)); !strings.HasPrefix(c.FullMethod, "/"+svc+"/") {
			t.Errorf("%s is not a method of %s's service %s", c.FullMethod, c.Service, svc)
		}
	}
}

// TestGRPCHealth: the standard gRPC health check answers SERVING from a
// replica that serves, and is held by a hang fault as every probe is.
func TestGRPCHealth(t *testing.T) {
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleFraud})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, svc)
	cc, err := grpc.NewClient("passthrough:///"+strings.TrimPrefix(base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check: %v %v, want SERVING", resp, err)
	}
	h := newClient(t)
	setFault(t, h, base, `{"hang":true}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("health check of a hung replica: %v, want the deadline", err)
	}
	mustDo(t, h, http.MethodDelete, base+"/admin/fault", nil, nil)
}

// TestGRPCPlainHTTPAnswer: an answer in plain HTTP, as a proxy gives it
// for its own refusals, keeps its status (the call got an answer), where
// grpc-go reports it as UNAVAILABLE or UNKNOWN.
func TestGRPCPlainHTTPAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Protocols: fleet.ServeProtocols(),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("no_healthy_upstream\n"))
		}),
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close(); <-done }()
	r := mustDo(t, grpcClient(t), http.MethodPost, "http://"+ln.Addr().String()+"/v1/risk", nil, jsonBody(t, payment(10, "tok_ok")))
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("plain 503: answered %d %s, want 503", r.status, r.body)
	}
}

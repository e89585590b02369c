package load

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// grpcFleet serves the whole payment fleet on loopback, every call
// between its services over gRPC, and returns payments' and the ledger's
// base URLs.
func grpcFleet(t *testing.T) (payments, ledger string) {
	t.Helper()
	serve := func(cfg fleet.Config) string {
		svc, err := fleet.NewService(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = svc.Serve(ln) }()
		t.Cleanup(func() { _ = svc.Close(); <-done })
		return "http://" + ln.Addr().String()
	}
	ledger = serve(fleet.Config{Role: fleet.RoleLedger, Name: "ledger[0]", LedgerPath: t.TempDir() + "/ledger.db", LedgerNoSync: true})
	risk := serve(fleet.Config{Role: fleet.RoleRisk, Name: "risk[0]", Seed: 2})
	fraud := serve(fleet.Config{Role: fleet.RoleFraud, Name: "fraud[0]", Seed: 3})
	payments = serve(fleet.Config{
		Role: fleet.RolePayments, Name: "payments[0]", Seed: 1,
		RiskURL: risk, FraudURL: fraud, LedgerURL: ledger,
		GRPCCallees: []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger},
	})
	return payments, ledger
}

// TestRunGRPC offers open-loop payments and closed-loop lookups as gRPC
// calls: each call is one Result with the HTTP API's status and the
// answering instance, the raw results keep the gRPC code, the lookups
// find the payments created, and the ledger audit is clean.
func TestRunGRPC(t *testing.T) {
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: load-grpc
topology:
  gateway:
    routes:
      - {name: all, service: payments}
  services:
    - {name: payments, replicas: 1, serviceTime: 1ms, protocol: grpc}
duration: 1s
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 50}
    rate: 80/s
    protocol: grpc
  - name: status
    target: {method: GET, path: "/v1/payments/{payment}"}
    users: {count: 2, thinkTime: 20ms}
    start: 500ms
    protocol: grpc
`)
	payments, ledger := grpcFleet(t)
	var raw bytes.Buffer
	sink := &collect{}
	rep, err := Run(context.Background(), Config{
		Target: payments, Plan: plan, Seed: 1, Attack: "local/default/0",
		Timeout: 30 * time.Second, Sink: sink, Raw: gob.NewEncoder(&raw),
	})
	if err != nil {
		t.Fatal(err)
	}
	created, looked := 0, 0
	for _, r := range sink.rs {
		switch {
		case r.Status == http.StatusCreated && r.Kind == bench.KindOK && r.Instance == "payments[0]":
			created++
		case r.Status == http.StatusOK && r.Kind == bench.KindOK && r.Instance == "payments[0]":
			looked++
		case r.Status == http.StatusNotFound && r.Kind == bench.KindStatus4xx && r.Instance == "payments[0]":
			// A lookup sent before the first payment was acknowledged
			// names none (a slow machine may take that long).
			looked++
		default:
			t.Errorf("unexpected result %+v", r)
		}
	}
	if created < 40 || looked < 2 {
		t.Errorf("%d payments created and %d looked up, want about 80 and one per user at least", created, looked)
	}
	if len(rep.Acks) != created {
		t.Errorf("%d acks for %d payments created", len(rep.Acks), created)
	}
	dec := vegeta.NewDecoder(&raw)
	for n := 0; ; n++ {
		var r vegeta.Result
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode result %d: %v", n, err)
		}
		want := "0" // OK
		if r.Code == http.StatusNotFound {
			want = "5" // NOT_FOUND
		}
		if got := r.Headers.Get(fleet.HeaderGRPCStatus); got != want {
			t.Fatalf("result %d (%d): gRPC status %q, want %s", n, r.Code, got, want)
		}
	}
	audit, err := fleet.Audit(context.Background(), ledger, rep.Acks)
	if err != nil {
		t.Fatal(err)
	}
	if audit.Lost != 0 || audit.Duplicates != 0 || audit.Recorded != int64(created) {
		t.Errorf("audit %+v, want %d recorded and nothing lost or duplicated", audit, created)
	}
}

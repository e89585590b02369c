package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
)

// smallSpec is a fleet of six replicas across four services: two payments,
// two risk, one fraud, one ledger, wired directly by network alias.
func smallSpec(t *testing.T, run string) Spec {
	s := Spec{RunID: run, Image: testImage(t)}
	for _, svc := range []struct {
		name string
		n    int
	}{{"payments", 2}, {"risk", 2}, {"fraud", 1}, {"ledger", 1}} {
		for i := range svc.n {
			s.Replicas = append(s.Replicas, ReplicaSpec{Service: svc.name, Index: i, Env: map[string]string{
				"PAYMENTSVC_ROLE":         svc.name,
				"PAYMENTSVC_NAME":         fmt.Sprintf("%s[%d]", svc.name, i),
				"PAYMENTSVC_SEED":         fmt.Sprint(10*len(s.Replicas) + 1),
				"PAYMENTSVC_CONCURRENCY":  "8",
				"PAYMENTSVC_SERVICE_TIME": "1ms",
			}})
		}
	}
	return s
}

// startTestFleet starts spec and removes it at cleanup, checking that
// nothing labelled with its run is left.
func startTestFleet(t *testing.T, spec Spec) *Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := StartFleet(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close fleet: %v", err)
		}
		left, err := List(context.Background(), spec.RunID)
		if err != nil {
			t.Errorf("list after close: %v", err)
		}
		if len(left) > 0 {
			t.Errorf("%d containers of run %s left after Close: %+v", len(left), spec.RunID, left)
		}
	})
	return f
}

// payer posts payments and remembers what was acknowledged.
type payer struct {
	t    *testing.T
	c    *http.Client
	n    int
	acks []fleet.Ack
}

func newPayer(t *testing.T) *payer {
	tr := &http.Transport{Proxy: nil}
	t.Cleanup(tr.CloseIdleConnections)
	return &payer{t: t, c: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// pay sends one payment to base and returns the status (0 on a transport
// error) and the error.
func (p *payer) pay(ctx context.Context, base string) (int, error) {
	p.n++
	body, _ := json.Marshal(fleet.PaymentRequest{Amount: 100 + int64(p.n), Currency: "EUR", CardToken: "tok_visa", Merchant: "m-1"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/payments", bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	id := fmt.Sprintf("client-%d", p.n)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(fleet.HeaderIdempotencyKey, fmt.Sprintf("key-%d", p.n))
	req.Header.Set(fleet.HeaderClientPaymentID, id)
	resp, err := p.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if ack, ok := fleet.AckOf(resp, id); ok {
		p.acks = append(p.acks, ack)
	}
	return resp.StatusCode, nil
}

// mustPay sends n payments to base, each of which must be approved.
func (p *payer) mustPay(base string, n int) {
	p.t.Helper()
	for range n {
		status, err := p.pay(context.Background(), base)
		if err != nil || status != http.StatusCreated {
			p.t.Fatalf("payment to %s: status %d, %v", base, status, err)
		}
	}
}

func TestFleetFaultsAndAudit(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	f := startTestFleet(t, smallSpec(t, "test-"+NewRunID()))
	ctx := context.Background()
	if len(f.Replicas) != 6 {
		t.Fatalf("%d replicas, want 6", len(f.Replicas))
	}
	for _, r := range f.Replicas {
		if r.ContainerID == "" || r.HostPort == 0 {
			t.Fatalf("replica %s not started: %+v", r.Name(), r)
		}
	}
	pay0, pay1 := f.Replica("payments", 0), f.Replica("payments", 1)
	p := newPayer(t)
	p.mustPay(pay0.URL, 5)
	p.mustPay(pay1.URL, 5)

	// A paused replica accepts connections and answers nothing.
	if err := f.Pause(ctx, pay1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	status, err := p.pay(short, pay1.URL)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("payment to paused %s: status %d, err %v; want no answer", pay1.Name(), status, err)
	}
	p.mustPay(pay0.URL, 5)
	if err := f.Unpause(ctx, pay1); err != nil {
		t.Fatal(err)
	}
	p.mustPay(pay1.URL, 5)

	// A killed ledger loses nothing it acknowledged: its file is in the
	// container's volume and the process finds it on restart.
	ledger := f.Replica("ledger", 0)
	if err := f.Kill(ctx, ledger); err != nil {
		t.Fatal(err)
	}
	if state, err := f.State(ctx, ledger); err != nil || state != "exited" {
		t.Errorf("killed ledger state %q, %v; want exited", state, err)
	}
	if status, err := p.pay(ctx, pay0.URL); err != nil || status < 500 {
		t.Errorf("payment with the ledger down: status %d, %v; want a 5xx", status, err)
	}
	if err := f.Start(ctx, ledger); err != nil {
		t.Fatal(err)
	}
	// A killed payments replica refuses connections on its port.
	if err := f.Kill(ctx, pay0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.pay(ctx, pay0.URL); err == nil {
		t.Errorf("payment to killed %s answered", pay0.Name())
	}
	if err := f.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	p.mustPay(pay0.URL, 5)
	p.mustPay(pay1.URL, 5)

	a, err := f.Audit(ctx, p.acks)
	if err != nil {
		t.Fatal(err)
	}
	if a.Acknowledged != 30 || a.Recorded != 30 || !a.Clean() {
		t.Errorf("audit %+v, want 30 acknowledged and recorded, none lost or doubled", a)
	}
}

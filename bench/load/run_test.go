package load

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// fakeGateway answers payments 201 with the key echoed, as payments does,
// and hangs on /hang until the request is cancelled.
func fakeGateway(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payments", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set(fleet.HeaderIdempotencyKey, r.Header.Get(fleet.HeaderIdempotencyKey))
		w.Header().Set(fleet.HeaderInstance, "payments[0]")
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderReason, "no_healthy_upstream")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func loadPlan(t *testing.T, yaml string) *scenarios.Plan {
	t.Helper()
	p, err := scenarios.LoadBytes("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const planHeader = `apiVersion: meshbench/v1
kind: Scenario
name: load-test
topology:
  gateway:
    routes:
      - {name: all, service: payments}
  services:
    - {name: payments, replicas: 1, serviceTime: 1ms}
`

type collect struct {
	mu sync.Mutex
	rs []bench.Result
}

func (c *collect) Record(r bench.Result) {
	c.mu.Lock()
	c.rs = append(c.rs, r)
	c.mu.Unlock()
}

func TestRunRecordsEveryRequest(t *testing.T) {
	plan := loadPlan(t, planHeader+`duration: 1s
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 100}
    rate: 150/s
  - name: browse
    target: {method: GET, path: /status}
    users: {count: 3, thinkTime: 20ms}
    start: 500ms
`)
	var raw bytes.Buffer
	enc := gob.NewEncoder(&raw)
	sink := &collect{}
	attempts := func(id string) (int, int) { return 1, 0 }
	rep, err := Run(context.Background(), Config{
		Target: fakeGateway(t), Plan: plan, Seed: 1, Attack: "local/default/0",
		Timeout: 5 * time.Second, Sink: sink, Raw: enc, Attempts: attempts,
	})
	if err != nil {
		t.Fatal(err)
	}
	pay, other := 0, 0
	for _, r := range sink.rs {
		switch r.Status {
		case 201:
			pay++
			if r.Kind != bench.KindOK || r.Instance != "payments[0]" || r.Retries != 1 {
				t.Errorf("payment result %+v", r)
			}
		case 503:
			other++
			if r.Kind != bench.KindNoEndpoint || r.Start < 450*time.Millisecond {
				t.Errorf("status result %+v", r)
			}
		default:
			t.Errorf("unexpected result %+v", r)
		}
		// Hits are scheduled inside the 1 s window; a loaded machine may
		// send the last ones a little late, so allow generous slack.
		if r.Start < 0 || r.Start > 2*time.Second {
			t.Errorf("start %s outside the timeline", r.Start)
		}
	}
	// A Poisson count of mean 150: 4σ ≈ 49.
	if pay < 100 || pay > 200 {
		t.Errorf("%d payments, want about 150", pay)
	}
	if other < 3 {
		t.Errorf("%d closed-loop requests, want several per user", other)
	}
	if int(rep.Requests) != len(sink.rs) || len(rep.Acks) != pay {
		t.Errorf("report %d requests, %d acks; recorded %d, %d payments", rep.Requests, len(rep.Acks), len(sink.rs), pay)
	}
	keys := map[string]bool{}
	for _, a := range rep.Acks {
		if a.Key == "" || a.Key != a.ClientPaymentID || keys[a.Key] {
			t.Errorf("ack %+v (duplicate: %v)", a, keys[a.Key])
		}
		keys[a.Key] = true
	}

	// results.bin is vegeta's own gob stream.
	dec := vegeta.NewDecoder(&raw)
	n := 0
	for {
		var r vegeta.Result
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode result %d: %v", n, err)
		}
		if r.Attack != "local/default/0" || r.Body != nil || r.Timestamp.IsZero() {
			t.Fatalf("result %d: %+v", n, r)
		}
		n++
	}
	if n != len(sink.rs) {
		t.Errorf("results file holds %d results, sink %d", n, len(sink.rs))
	}
}

func TestRunCancelledEndsPromptly(t *testing.T) {
	plan := loadPlan(t, planHeader+`duration: 60s
load:
  - name: stuck
    target: {method: GET, path: /hang}
    rate: 50/s
  - name: users
    target: {method: GET, path: /hang}
    users: {count: 4}
`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	sink := &collect{}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Target: fakeGateway(t), Plan: plan, Seed: 1, Timeout: time.Minute, Sink: sink})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if len(sink.rs) != 0 {
		t.Errorf("%d requests cut short by the cancellation were recorded", len(sink.rs))
	}
}

func TestRunRefusesOtherHosts(t *testing.T) {
	plan := loadPlan(t, planHeader+"duration: 1s\nload:\n  - {target: {path: /}, rate: 1/s}\n")
	if _, err := Run(context.Background(), Config{Target: "http://10.1.2.3:80", Plan: plan, Sink: &collect{}}); err == nil {
		t.Error("a non-loopback target was accepted")
	}
}

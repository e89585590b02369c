package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// gateway stands for the system under test on loopback: it answers every
// payment 201 and notes each request's id, shard and arrival time.
type gateway struct {
	srv *httptest.Server

	mu       sync.Mutex
	ids      map[string]int
	arrivals []time.Time
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{ids: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.ids[r.Header.Get("X-Request-Id")]++
		g.arrivals = append(g.arrivals, time.Now())
		g.mu.Unlock()
		w.Header().Set(fleet.HeaderIdempotencyKey, r.Header.Get(fleet.HeaderIdempotencyKey))
		w.Header().Set("X-Meshbench-Instance", "payments[0]")
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// startAgents starts in-process agents on loopback, agent i's clock off
// the real one by skews[i].
func startAgents(t *testing.T, skews ...time.Duration) []Endpoint {
	var eps []Endpoint
	for i, skew := range skews {
		srv := httptest.NewServer(NewServer(ServerOptions{Now: func() time.Time { return time.Now().Add(skew) }}))
		t.Cleanup(srv.Close)
		eps = append(eps, Endpoint{Name: "agent-" + string(rune('a'+i)), BaseURL: srv.URL, Client: srv.Client()})
	}
	return eps
}

func startRequest(t *testing.T, src string, target string) (StartRequest, *scenarios.Plan) {
	t.Helper()
	plan := loadPlan(t, src)
	raw, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	return StartRequest{Plan: raw, Seed: 7, Target: target, Interval: 200 * time.Millisecond}, plan
}

const twoSecondScenario = `apiVersion: meshbench/v1
kind: Scenario
name: agents
duration: 2s
backends: [local]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, arrival: constant, rate: 50/s}
`

// TestDriveTwoAgents drives two in-process agents, whose clocks are off the
// controller's by −1.5s and +2s, against a loopback gateway: together they
// send the whole constant schedule once (50/s for 2s: vegeta's constant
// pacer sends arrival j at j·20ms, so 99 requests, 49 in the first
// second), ids unique across agents, from the controller's epoch, and the
// merged summary has every result in its time bucket.
func TestDriveTwoAgents(t *testing.T) {
	g := newGateway(t)
	agents := startAgents(t, -1500*time.Millisecond, 2*time.Second)
	req, plan := startRequest(t, twoSecondScenario, g.srv.URL)
	req.Epoch = time.Now().Add(time.Second)
	agg := bench.NewAggregator(plan.Warmup, 0)
	var (
		progressMu sync.Mutex
		last       time.Duration
	)
	rep, err := Drive(context.Background(), agents, req, agg, func(d time.Duration) {
		progressMu.Lock()
		last = d
		progressMu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := agg.Summarize(rep.End)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 99 || sum.Successes != 99 || rep.Requests != 99 || len(rep.Acks) != 99 {
		t.Errorf("merged %d requests (%d successes), agents recorded %d and saw %d acks; want 99 each", sum.Requests, sum.Successes, rep.Requests, len(rep.Acks))
	}
	if len(sum.Buckets) != 2 || sum.Buckets[0].Requests != 49 || sum.Buckets[1].Requests != 50 {
		t.Errorf("buckets %+v, want 49 and 50", sum.Buckets)
	}
	if sum.PerInstance["payments[0]"] != 99 || sum.Workloads["checkout"].Requests != 99 {
		t.Errorf("breakdowns: per instance %v, workloads %v", sum.PerInstance, sum.Workloads)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.ids) != 99 {
		t.Errorf("the gateway saw %d distinct request ids, want 99", len(g.ids))
	}
	for _, at := range g.arrivals {
		// Every request is sent within the run's window on the real clock:
		// an agent that misread its offset would send 1.5s or 2s off.
		if off := at.Sub(req.Epoch); off < 0 || off > plan.Duration+time.Second {
			t.Errorf("a request arrived %s after the epoch, outside the 2s run", off)
			break
		}
	}
	for i, want := range []time.Duration{-1500 * time.Millisecond, 2 * time.Second} {
		name := agents[i].Name
		off, unc := rep.ClockOffsets[name], rep.ClockUncertainty[name]
		t.Logf("%s: clock offset %s ± %s (skew %s)", name, off, unc, want)
		if d := off - want; d < -unc-5*time.Millisecond || d > unc+5*time.Millisecond {
			t.Errorf("%s: clock offset %s ± %s, want %s", name, off, unc, want)
		}
	}
	if rep.End != plan.Duration || !rep.Epoch.Equal(req.Epoch) {
		t.Errorf("report end %s epoch %s, want %s and %s", rep.End, rep.Epoch, plan.Duration, req.Epoch)
	}
	progressMu.Lock()
	defer progressMu.Unlock()
	if last != plan.Duration {
		t.Errorf("last progress %s, want %s", last, plan.Duration)
	}
}

const longScenario = `apiVersion: meshbench/v1
kind: Scenario
name: long
duration: 60s
backends: [local]
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, rate: 40/s}
  - {name: people, target: {method: GET, path: /v1/payments/x}, users: {count: 3, thinkTime: 20ms}}
`

// TestDriveCancelKeepsWhatWasMeasured cancels a run once the agents report
// half a second of progress: Drive stops the agents, still merges what
// they measured up to the stop, and returns context.Canceled with the
// report of it.
func TestDriveCancelKeepsWhatWasMeasured(t *testing.T) {
	g := newGateway(t)
	agents := startAgents(t, 0, 0)
	req, plan := startRequest(t, longScenario, g.srv.URL)
	req.Epoch = time.Now().Add(500 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agg := bench.NewAggregator(plan.Warmup, 0)
	rep, err := Drive(ctx, agents, req, agg, func(d time.Duration) {
		if d >= 500*time.Millisecond {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Drive: %v, want context.Canceled", err)
	}
	sum, err := agg.Summarize(rep.End)
	if err != nil {
		t.Fatal(err)
	}
	if rep.End <= 0 || rep.End >= plan.Duration {
		t.Errorf("report end %s, want within (0, %s)", rep.End, plan.Duration)
	}
	if sum.Requests == 0 || sum.Requests != rep.Requests {
		t.Errorf("merged %d requests, agents recorded %d: the last partial after the stop is missing", sum.Requests, rep.Requests)
	}
	if sum.Workloads["people"].Requests == 0 || sum.Workloads["checkout"].Requests == 0 {
		t.Errorf("workloads %v: want both measured", sum.Workloads)
	}
	g.mu.Lock()
	seen := int64(len(g.arrivals))
	g.mu.Unlock()
	if seen < rep.Requests {
		t.Errorf("the gateway saw %d requests, fewer than the %d recorded", seen, rep.Requests)
	}
}

// TestDriveSurfacesAgentErrors checks that an agent's refusal reaches the
// caller with the agent's name and reason: here a target off loopback,
// which an agent started without --allow-target for it refuses (nothing
// is sent).
func TestDriveSurfacesAgentErrors(t *testing.T) {
	agents := startAgents(t, 0)
	req, plan := startRequest(t, twoSecondScenario, "http://10.0.0.1:8080")
	_, err := Drive(context.Background(), agents, req, bench.NewAggregator(plan.Warmup, 0), nil)
	if err == nil || !strings.Contains(err.Error(), "agent-a") || !strings.Contains(err.Error(), "not on loopback") {
		t.Errorf("Drive: %v, want agent-a's refusal of a target off loopback", err)
	}
	if _, err := Drive(context.Background(), nil, req, bench.NewAggregator(0, 0), nil); err == nil {
		t.Error("Drive without agents succeeded")
	}
	twice := []Endpoint{agents[0], agents[0]}
	if _, err := Drive(context.Background(), twice, req, bench.NewAggregator(0, 0), nil); err == nil || !strings.Contains(err.Error(), "name of its own") {
		t.Errorf("Drive with one name twice: %v", err)
	}
}

// TestServerRefusesALateEpochAndASecondRun checks the agent's own checks.
func TestServerRefusesALateEpochAndASecondRun(t *testing.T) {
	g := newGateway(t)
	agents := startAgents(t, 0)
	req, _ := startRequest(t, twoSecondScenario, g.srv.URL)
	req.ID, req.Shards = "late", 1
	req.Epoch = time.Now().Add(-time.Second)
	body, _ := json.Marshal(req)
	resp, err := agents[0].Client.Post(agents[0].BaseURL+"/v1/run", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 512)
	n, _ := resp.Body.Read(msg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg[:n]), "epoch passed") {
		t.Errorf("late epoch: %s %s", resp.Status, msg[:n])
	}
	resp, err = agents[0].Client.Post(agents[0].BaseURL+"/v1/stop?id=none", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("stop of no run: %s", resp.Status)
	}
}

// TestServerTakesOnlyItsTargets: an agent started with a target off
// loopback (--allow-target) takes runs to that host and port, and to
// loopback, and refuses any other (nothing is sent).
func TestServerTakesOnlyItsTargets(t *testing.T) {
	allowed := []string{"http://gateway.ns.svc:8080"}
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"http://gateway.ns.svc:8080", true},
		{"http://GATEWAY.ns.svc:8080/", true},
		{"http://127.0.0.1:9", true},
		{"http://gateway.ns.svc:8081", false},
		{"http://other.ns.svc:8080", false},
		{"http://10.0.0.1:8080", false},
	} {
		err := checkTarget(tc.target, allowed)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.target, err, tc.ok)
		}
	}
	if err := checkTarget("http://gateway.ns.svc:8080", nil); err == nil || !strings.Contains(err.Error(), "--allow-target") {
		t.Errorf("no targets allowed: %v", err)
	}
}

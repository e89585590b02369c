package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/discovery"
)

const edgePlan = `apiVersion: meshbench/v1
kind: Scenario
name: edge
duration: 30s
backends: [local]
topology:
  gateway:
    routes:
      - {name: items, match: {method: GET, pathPrefix: /items/}, service: catalog}
  services:
    - {name: catalog, replicas: 2, concurrency: 8, serviceTime: 1ms}
load:
  - target: {path: /items/1}
    rate: 10/s
%s%s`

// edgeGet sends one GET through the gateway with a request id of its own and
// returns the answer's status and headers.
func edgeGet(t *testing.T, e *env, path string, n int) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+e.gwAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(load.HeaderRequestID, fmt.Sprintf("edge-%d", n))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// reached reports whether the gateway sent request n upstream.
func reached(e *env, n int) bool {
	e.tries.mu.Lock()
	defer e.tries.mu.Unlock()
	_, ok := e.tries.m[fmt.Sprintf("edge-%d", n)]
	return ok
}

// TestGatewayCacheHitSkipsReplica: with a cache block on the route, the
// first GET of a path reaches a replica, and the next ones within ttl are
// answered by the gateway's cache (X-Cache: HIT), without a try upstream
// and without a replica's instance header; another path misses.
func TestGatewayCacheHitSkipsReplica(t *testing.T) {
	plan := loadPlan(t, fmt.Sprintf(edgePlan, "policy: {cache: {routes: [items], ttl: 1m, maxEntries: 100}}\n", ""))
	e, err := start(plan, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	status, h := edgeGet(t, e, "/items/1", 0)
	if status != http.StatusOK || h.Get(dataplane.HeaderCache) != cache.StatusMiss || h.Get(fleet.HeaderInstance) == "" || !reached(e, 0) {
		t.Fatalf("first GET: %d %v, reached upstream %v; want a 200 MISS from a replica", status, h, reached(e, 0))
	}
	for n := 1; n <= 20; n++ {
		status, h := edgeGet(t, e, "/items/1", n)
		if status != http.StatusOK || h.Get(dataplane.HeaderCache) != cache.StatusHit {
			t.Fatalf("GET %d: %d %s, want a 200 HIT", n, status, h.Get(dataplane.HeaderCache))
		}
		if reached(e, n) || h.Get(fleet.HeaderInstance) != "" {
			t.Fatalf("GET %d was a hit but reached the upstream (%v) or names replica %q", n, reached(e, n), h.Get(fleet.HeaderInstance))
		}
	}
	if _, h := edgeGet(t, e, "/items/2", 21); h.Get(dataplane.HeaderCache) != cache.StatusMiss || !reached(e, 21) {
		t.Errorf("another path: %s, reached %v; want a miss", h.Get(dataplane.HeaderCache), reached(e, 21))
	}
	st, _ := e.edge.cacheStats("items")
	if st.Hits != 20 || st.Entries != 2 {
		t.Errorf("cache stats %+v, want 20 hits and 2 entries", st)
	}
}

// TestGatewayAbortShare: an abort fault on the route, switched on as the
// timeline does, answers its percentage of the route's requests with its
// status without sending them upstream; switched off, none.
func TestGatewayAbortShare(t *testing.T) {
	faults := "faults:\n  - {at: 5s, for: 10s, action: abort, target: \"route:items\", status: 418, percentage: 30}\n"
	plan := loadPlan(t, fmt.Sprintf(edgePlan, "", faults))
	e, err := start(plan, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	steps, err := e.timeline()
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].at != 5*time.Second || steps[1].at != 15*time.Second {
		t.Fatalf("timeline %+v, want the abort on at 5s and off at 15s", steps)
	}
	count := func(from, n int) (aborted int) {
		for i := from; i < from+n; i++ {
			status, _ := edgeGet(t, e, "/items/1", i)
			switch {
			case status == 418:
				aborted++
				if reached(e, i) {
					t.Fatalf("request %d was aborted and reached the upstream", i)
				}
			case status != http.StatusOK:
				t.Fatalf("request %d: status %d", i, status)
			}
		}
		return aborted
	}
	if err := steps[0].apply(); err != nil {
		t.Fatal(err)
	}
	const n = 600
	on := count(0, n)
	if err := steps[1].apply(); err != nil {
		t.Fatal(err)
	}
	off := count(n, 100)
	t.Logf("aborted %d of %d while on, %d of 100 after", on, n, off)
	if share := float64(on) / n; share < 0.25 || share > 0.35 {
		t.Errorf("aborted share %.3f, want about 0.30", share)
	}
	if off != 0 {
		t.Errorf("%d aborted after the fault ended", off)
	}
}

// TestGatewayDelay: a delay fault at 100% holds every request for its
// delay before the gateway routes it.
func TestGatewayDelay(t *testing.T) {
	faults := "faults:\n  - {at: 5s, action: delay, target: \"route:items\", delay: 40ms}\n"
	plan := loadPlan(t, fmt.Sprintf(edgePlan, "", faults))
	e, err := start(plan, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if err := e.edge.switchFault(&plan.Faults[0], true); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		begin := time.Now()
		if status, _ := edgeGet(t, e, "/items/1", i); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		// A lower bound only: the delay is a timer of at least 40ms.
		if d := time.Since(begin); d < 40*time.Millisecond {
			t.Fatalf("request %d took %s, less than the 40ms delay", i, d)
		}
	}
}

// TestRegistryDropsKilledReplica: with registry discovery, every replica
// is registered and the gateway reaches them all; a killed replica stops
// heartbeating and leaves the registry once its last heartbeat is ttl old
// (never sooner than ttl − heartbeat after the kill), after which the
// gateway sends it nothing; revived, it registers again.
func TestRegistryDropsKilledReplica(t *testing.T) {
	plan := loadPlan(t, fmt.Sprintf(edgePlan, "policy: {discovery: {type: registry, ttl: 1s, heartbeat: 250ms}}\n", ""))
	e, err := start(plan, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	victim := e.byName["catalog"].reps[0]
	for _, r := range e.byName["catalog"].reps {
		if !e.reg.listed(r.name) {
			t.Fatalf("%s is not registered", r.name)
		}
	}
	killed := time.Now()
	if err := e.kill([]*replica{victim}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.reg.listed(victim.name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still registered 10s after its kill", victim.name)
		}
		time.Sleep(20 * time.Millisecond) // polling the registry, not synchronising
	}
	lapsed := time.Since(killed)
	t.Logf("%s left the registry %s after its kill", victim.name, lapsed)
	if lapsed < 750*time.Millisecond {
		t.Errorf("left after %s, before its last heartbeat could be ttl old (≥ 750ms)", lapsed)
	}
	// The gateway lists the registry every second: from its next listing
	// on it sends nothing to the dead replica, whose tries fail (no retry
	// policy), so 40 successes in a row show it out of rotation.
	ok, failed := 0, 0
	for i := 0; ok < 40; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway still tries %s: %d in a row answered", victim.name, ok)
		}
		status, _ := edgeGet(t, e, "/items/1", 1000+i)
		if status != http.StatusOK {
			ok = 0
			failed++
			continue
		}
		ok++
	}
	t.Logf("%d requests failed on the dead replica before the gateway's listing", failed)
	if err := e.revive([]*replica{victim}); err != nil {
		t.Fatal(err)
	}
	if !e.reg.listed(victim.name) {
		t.Errorf("%s did not register again when it came back", victim.name)
	}
}

// TestStartMeshCache: the containers backend's data plane (StartMesh, in
// front of replicas that run elsewhere) caches as the local backend's
// does: repeated GETs of one path reach the replicas once.
func TestStartMeshCache(t *testing.T) {
	src := strings.Replace(externalFleet, "MESH", "mesh: sidecar", 1)
	src = strings.Replace(src, "      - {name: pay,", "      - {name: status, match: {method: GET, pathPrefix: /v1/payments/}, service: payments}\n      - {name: pay,", 1)
	src += "  cache: {routes: [status], ttl: 1m}\n"
	plan := loadPlan(t, src)
	var seen atomic.Int64
	eps := stubFleet(t, "")
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		fmt.Fprintf(w, "payments[0] %s", r.URL.Path)
	}))
	t.Cleanup(counting.Close)
	eps["payments"] = []discovery.Endpoint{{ID: "payments[0]", Address: counting.Listener.Addr().String()}, {ID: "payments[1]", Address: counting.Listener.Addr().String()}}
	m, err := StartMesh(context.Background(), plan, 0, 1, eps, loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for range 10 {
		if body := get(t, http.MethodGet, m.GatewayURL()+"/v1/payments/pay_1"); body != "payments[0] /v1/payments/pay_1" {
			t.Fatalf("answer %q", body)
		}
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("the replicas saw %d of 10 GETs of one path, want 1", n)
	}
}

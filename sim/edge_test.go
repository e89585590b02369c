package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// runYAML runs a scenario's first variant on the simulator.
func runYAML(t *testing.T, src string) []bench.Result {
	t.Helper()
	p, err := scenarios.LoadBytes("edge.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := specFromPlan(p, 0, p.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return runSpec(t, s)
}

const edgeFleet = `
apiVersion: meshbench/v1
kind: Scenario
name: edge
duration: 10s
topology:
  gateway:
    routes:
      - {name: lookup, service: payments, match: {pathPrefix: /v1/payments/, method: GET}}
      - {name: pay, service: payments, match: {path: /v1/payments}}
  services:
    - {name: payments, replicas: 2, concurrency: 4, serviceTime: 2ms}
load:
  - {name: pay, target: {method: POST, path: /v1/payments}, rate: 50/s}
  - {name: lookup, target: {path: "/v1/payments/{payment}"}, rate: 400/s}
%s`

// replicaAnswers counts the answers a replica gave, and the successes no
// replica gave (the cache's hits).
func replicaAnswers(rs []bench.Result) (answeredByReplica, hits int) {
	for _, r := range rs {
		if r.Instance != "" {
			answeredByReplica++
		} else if r.OK() {
			hits++
		}
	}
	return
}

// TestCacheHitsSkipTheUpstream: with a cache on lookups, a share of them is
// answered by the gateway with no replica, fast; without it every request
// reaches a replica. A hit needs its payment to have been fetched within
// ttl, so a ttl shorter than the gaps between lookups of one payment gives
// fewer hits than a long one.
func TestCacheHitsSkipTheUpstream(t *testing.T) {
	off := runYAML(t, fmt.Sprintf(edgeFleet, ""))
	on := runYAML(t, fmt.Sprintf(edgeFleet, "policy: {cache: {routes: [lookup], ttl: 30s}}\n"))
	short := runYAML(t, fmt.Sprintf(edgeFleet, "policy: {cache: {routes: [lookup], ttl: 200ms}}\n"))
	if len(off) != len(on) {
		t.Fatalf("%d results without the cache, %d with: the load must not depend on it", len(off), len(on))
	}
	upOff, hitsOff := replicaAnswers(off)
	upOn, hitsOn := replicaAnswers(on)
	_, hitsShort := replicaAnswers(short)
	t.Logf("upstream answers: %d without cache, %d with; hits %d (ttl 30s), %d (ttl 200ms)", upOff, upOn, hitsOn, hitsShort)
	if hitsOff != 0 || upOff != len(off) {
		t.Errorf("without a cache %d requests were answered by no replica", len(off)-upOff)
	}
	// About 500 payments are created; 4000 lookups over them repeat often.
	if hitsOn < len(on)/4 {
		t.Errorf("%d hits of %d requests with a 30s ttl, want a large share", hitsOn, len(on))
	}
	if hitsShort >= hitsOn {
		t.Errorf("ttl 200ms gave %d hits, ttl 30s %d: a shorter ttl must hit less", hitsShort, hitsOn)
	}
	for _, r := range on {
		if r.Instance == "" && r.OK() && r.Latency > time.Millisecond {
			t.Fatalf("a hit took %s: the gateway answers it without the upstream", r.Latency)
		}
	}
}

// TestRouteCacheEntries checks the cache's freshness and LRU bound.
func TestRouteCacheEntries(t *testing.T) {
	c := newRouteCache(&scenarios.RouteCache{TTL: time.Second, MaxEntries: 2})
	c.put("a", 200, 0)
	c.put("b", 404, 0)
	if st, ok := c.get("a", int64(500*time.Millisecond)); !ok || st != 200 {
		t.Fatalf("a: %d %v", st, ok)
	}
	c.put("c", 200, int64(600*time.Millisecond)) // evicts b, the least recently used
	if _, ok := c.get("b", int64(600*time.Millisecond)); ok {
		t.Error("b survived the entry bound")
	}
	if _, ok := c.get("a", int64(time.Second)); ok {
		t.Error("a is fresh at its ttl")
	}
	if _, ok := c.get("c", int64(1500*time.Millisecond)); !ok {
		t.Error("c expired early")
	}
}

const faultFleet = `
apiVersion: meshbench/v1
kind: Scenario
name: faults
duration: 10s
topology:
  gateway:
    routes:
      - {name: lookup, service: payments}
  services:
    - {name: payments, replicas: 2, concurrency: 4, serviceTime: 1ms}
network: {latency: 0s}
load:
  - {name: lookup, target: {path: /v1/payments/x}, rate: 1000/s, arrival: constant}
faults:
  - {at: 2s, for: 4s, action: abort, target: "route:lookup", status: 418, percentage: 20}
  - {at: 4s, for: 4s, action: delay, target: "route:lookup", delay: 50ms, percentage: 50}
`

// TestHTTPFaults: an abort answers its share of the route's requests with
// its status, without a replica, only while it is on; a delay holds its
// share for the delay before the request is routed.
func TestHTTPFaults(t *testing.T) {
	rs := runYAML(t, faultFleet)
	share := func(rs []bench.Result, pred func(bench.Result) bool) float64 {
		n := 0
		for _, r := range rs {
			if pred(r) {
				n++
			}
		}
		return float64(n) / float64(len(rs))
	}
	aborted := func(r bench.Result) bool { return r.Status == 418 }
	delayed := func(r bench.Result) bool { return r.Latency >= 50*time.Millisecond }
	for _, c := range []struct {
		name         string
		from, to     time.Duration
		abort, delay float64
	}{
		{"before", 0, 2 * time.Second, 0, 0},
		{"abort", 2 * time.Second, 4 * time.Second, 0.2, 0},
		{"both", 4 * time.Second, 6 * time.Second, 0.2, 0.5},
		{"delay", 6 * time.Second, 8 * time.Second, 0, 0.5},
		{"after", 8 * time.Second, 10 * time.Second, 0, 0},
	} {
		w := window(rs, c.from+10*time.Millisecond, c.to-60*time.Millisecond)
		a, d := share(w, aborted), share(w, delayed)
		t.Logf("%s: %d requests, %.3f aborted, %.3f delayed", c.name, len(w), a, d)
		if a < c.abort-0.04 || a > c.abort+0.04 {
			t.Errorf("%s: aborted share %.3f, want %.2f", c.name, a, c.abort)
		}
		if d < c.delay-0.05 || d > c.delay+0.05 {
			t.Errorf("%s: delayed share %.3f, want %.2f", c.name, d, c.delay)
		}
		for _, r := range w {
			if aborted(r) && (r.Instance != "" || r.Kind != bench.KindStatus4xx) {
				t.Fatalf("%s: an aborted request %+v reached a replica or is misfiled", c.name, r)
			}
		}
	}
}

const discoveryFleet = `
apiVersion: meshbench/v1
kind: Scenario
name: discovery
duration: 10s
topology:
  gateway:
    routes:
      - {name: pay, service: payments}
  services:
    - {name: payments, replicas: 4, concurrency: 4, serviceTime: 1ms}
load:
  - {name: pay, target: {path: /v1/payments}, rate: 1000/s}
policy:
  balancer: {type: round_robin}
  timeouts: {connect: 100ms, request: 1s}
%s
faults:
  - {at: 3200ms, for: 4s, action: kill, target: "payments[0]"}
`

// TestRegistryLapse: with a registry (ttl 2s, heartbeats every 500ms), a
// replica killed at 3.2s last heartbeated at 3.0s, lapses at 5.0s, and
// leaves the gateway's endpoints at the listing of 5s: refused requests
// until then, none after. It registers again when it comes back at 7.2s
// and is listed at 8s. With static discovery, the dead replica is tried
// for the whole kill.
func TestRegistryLapse(t *testing.T) {
	reg := runYAML(t, fmt.Sprintf(discoveryFleet, "  discovery: {type: registry, ttl: 2s, heartbeat: 500ms}"))
	static := runYAML(t, fmt.Sprintf(discoveryFleet, ""))
	refused := func(rs []bench.Result, from, to time.Duration) int {
		return countKind(window(rs, from, to), bench.KindRefused)
	}
	answered := func(rs []bench.Result, from, to time.Duration) int {
		n := 0
		for _, r := range window(rs, from, to) {
			if r.Instance == "payments[0]" {
				n++
			}
		}
		return n
	}
	if n := refused(reg, 3300*time.Millisecond, 4900*time.Millisecond); n < 300 {
		t.Errorf("registry: %d refused before the registration lapsed, want about a quarter of 1600", n)
	}
	if n := refused(reg, 5010*time.Millisecond, 10*time.Second); n != 0 {
		t.Errorf("registry: %d refused after the registration lapsed at 5s", n)
	}
	if n := answered(reg, 7300*time.Millisecond, 7900*time.Millisecond); n != 0 {
		t.Errorf("registry: payments[0] answered %d requests before the listing that finds it back", n)
	}
	if n := answered(reg, 8100*time.Millisecond, 10*time.Second); n < 300 {
		t.Errorf("registry: payments[0] answered %d requests after it registered again, want about a quarter", n)
	}
	if n := refused(static, 5010*time.Millisecond, 7100*time.Millisecond); n < 300 {
		t.Errorf("static: %d refused late in the kill, want the dead replica still tried", n)
	}
}

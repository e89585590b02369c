package sim

import (
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// TestStatsByRouteWorkloadAndInstance runs a scenario with two routes and a
// closed-loop workload through
// bench.Run, and checks the summary's breakdowns: each workload filed
// under the route bench.RouteOf names for it (the real backends' way), the
// parts adding up to the totals, and the schedule lag of the open-loop
// requests reported as 0, the simulator's.
func TestStatsByRouteWorkloadAndInstance(t *testing.T) {
	registerOnce.Do(func() { bench.Register(Backend{}) })
	p, err := scenarios.LoadBytes("stats.yaml", []byte(`apiVersion: meshbench/v1
kind: Scenario
name: stats
duration: 4s
topology:
  gateway:
    routes:
      - {name: checkout, match: {pathPrefix: /v1/payments, method: POST}, service: payments}
      - {name: lookup, match: {pathPrefix: /v1/payments}, service: payments}
  services:
    - {name: payments, replicas: 2, serviceTime: {type: constant, value: 2ms}}
load:
  - {name: pay, rate: 100/s, target: {method: POST, path: /v1/payments}}
  - {name: look, rate: 50/s, target: {method: GET, path: /v1/payments/x}}
  - {name: people, users: {count: 2, thinkTime: {type: constant, value: 100ms}}, target: {method: GET, path: /v1/payments/y}}
`))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := bench.Run(t.Context(), p, bench.RunOptions{Backends: []string{"sim"}})
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Runs[0]
	for _, w := range p.Load {
		route := bench.RouteOf(p, w)
		if route == "" {
			route = bench.NoRoute
		}
		if r.Workloads[w.Name].Requests == 0 {
			t.Errorf("workload %s: no requests in %v", w.Name, r.Workloads)
		}
		if _, ok := r.Routes[route]; !ok {
			t.Errorf("workload %s: route %q missing from %v", w.Name, route, keys(r.Routes))
		}
	}
	if want := r.Workloads["pay"].Requests; r.Routes["checkout"].Requests != want {
		t.Errorf("route checkout: %d requests, want workload pay's %d", r.Routes["checkout"].Requests, want)
	}
	if want := r.Workloads["look"].Requests + r.Workloads["people"].Requests; r.Routes["lookup"].Requests != want {
		t.Errorf("route lookup: %d requests, want look's and people's %d", r.Routes["lookup"].Requests, want)
	}
	var sumRoutes, sumInst int64
	for _, s := range r.Routes {
		sumRoutes += s.Requests
	}
	for id, s := range r.Instances {
		sumInst += s.Requests
		if s.Requests != r.PerInstance[id] || s.LatencyMS.P50 <= 0 || s.LatencyHDR == "" {
			t.Errorf("instance %s: %+v, want per_instance's %d requests and a latency", id, s, r.PerInstance[id])
		}
	}
	if sumRoutes != r.Requests || len(r.Instances) != 2 {
		t.Errorf("routes add up to %d of %d requests; %d instances, want 2", sumRoutes, r.Requests, len(r.Instances))
	}
	if lag := r.ScheduleLag; lag == nil || lag.MaxMS != 0 || lag.Exceeded || r.Untrustworthy != "" {
		t.Errorf("schedule lag %+v (%q), want 0 on sim", lag, r.Untrustworthy)
	}
	if want := r.Requests - r.Workloads["people"].Requests; r.ScheduleLag.Requests != want {
		t.Errorf("schedule lag over %d requests, want the %d open-loop ones", r.ScheduleLag.Requests, want)
	}
	if r.Workloads["people"].ScheduleLag != nil {
		t.Error("closed-loop workload reports a schedule lag")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

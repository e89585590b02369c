package local

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

func TestTimelineOrderAndEnd(t *testing.T) {
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: tl
duration: 10s
topology:
  gateway: {routes: [{name: r, service: payments}]}
  services:
`+paymentFleet+`load: [{target: {path: /}, rate: 1/s}]
faults:
  - {at: 2s, for: 3s, action: kill, target: "payments[1]"}
  - {at: 1s, action: restart, target: "risk[0]", downtime: 500ms}
  - {at: 2s, for: 1s, action: slow, target: payments, factor: 4}
  - {at: 9s, for: 1s, action: errors, target: "fraud[1]", rate: 0.5}
  - {at: 9900ms, action: pause, target: "ledger[0]"}
`)
	// Steps at or after the end are left out (a plan cut short, as the
	// runner's partial plans may be).
	plan.Duration = 9500 * time.Millisecond
	e := &env{plan: plan, byName: map[string]*service{}}
	for i := range plan.Services {
		s := &service{spec: &plan.Services[i]}
		for j := range s.spec.Replicas {
			s.reps = append(s.reps, &replica{svc: s, index: j})
		}
		e.byName[s.spec.Name] = s
	}
	steps, err := e.timeline()
	if err != nil {
		t.Fatal(err)
	}
	type at struct {
		t    time.Duration
		what string
	}
	var got []at
	for _, s := range steps {
		got = append(got, at{s.at, s.what})
	}
	want := []at{
		{time.Second, "fault 1 (restart risk[0])"},
		{1500 * time.Millisecond, "fault 1 (restart risk[0]) end"},
		{2 * time.Second, "fault 0 (kill payments[1])"},
		{2 * time.Second, "fault 2 (slow payments)"},
		{3 * time.Second, "fault 2 (slow payments) end"},
		{5 * time.Second, "fault 0 (kill payments[1]) end"},
		{9 * time.Second, "fault 3 (errors fraud[1])"},
		// its end (10s) and the pause (9.9s) fall after the run
	}
	if len(got) != len(want) {
		t.Fatalf("steps %v\nwant  %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNeedsNetwork(t *testing.T) {
	base := `apiVersion: meshbench/v1
kind: Scenario
name: nn
duration: 10s
topology:
  gateway: {zone: a, routes: [{name: r, service: payments}]}
  services:
` + paymentFleet + `load: [{target: {path: /}, rate: 1/s}]
`
	tests := []struct {
		name string
		add  string
		want bool
	}{
		{"loopback is enough", "", false},
		{"sub-millisecond hops", "network: {latency: 400us}\n", false},
		{"millisecond hops", "network: {latency: {type: exponential, mean: 2ms}}\n", true},
		{"slow cross-zone hops", "network: {crossZone: {latency: 3ms}}\n", true},
		{"a partition", "faults: [{at: 1s, action: partition, target: \"risk[0]\", peer: payments}]\n", true},
		{"a latency fault", "faults: [{at: 1s, action: latency, target: \"risk[0]\", add: 300us}]\n", true},
		{"a kill", "faults: [{at: 1s, action: kill, target: \"risk[0]\"}]\n", false},
		{"lossy hops", "network: {loss: 0.001}\n", true},
		{"lossy hops in a zone", "network: {zones: {a: {loss: 1%}}}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsNetwork(loadPlan(t, base+tt.add)); got != tt.want {
				t.Errorf("needsNetwork = %v, want %v", got, tt.want)
			}
		})
	}
	if lat, err := hopLatency(scenarios.DistributionSpec{Type: "constant", Value: 999 * time.Microsecond}); err != nil || lat != nil {
		t.Errorf("hopLatency(999µs) = %v, %v; want none", lat, err)
	}
}

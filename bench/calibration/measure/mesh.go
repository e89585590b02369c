package measure

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/scenarios"
)

// The mesh phase: the phases above measure each component alone, at the
// phase's rate, in a process that does nothing else, and every request
// then wakes parked threads. In a whole mesh the same process serves the
// load generator, the gateway, the sidecars and every replica at once, and
// a request finds threads already awake far more often: on a 2-core
// machine the library's payment flow spent about 0.85 of the sum of its
// components' figures, and a payments replica calling three others about
// 0.63 of four lone replicas' (docs/host-model.md). The mesh phase runs
// the library's payment flow on the local backend itself — gateway,
// sidecars, payments calling risk and fraud in parallel, then ledger — at
// the phase's rate, reads the process's CPU over its measured window, and
// sets it against the sum the simulator's host model charges for the same
// request: client + gateway + payments + three × (sidecar + replica). Their
// ratio is the profile's host.cpu.scale.

// meshPlan is the mesh phase's scenario: the library's payment flow at
// its services' median service times, on the local backend, no faults.
const meshPlan = `apiVersion: meshbench/v1
kind: Scenario
name: calibration-mesh
description: The calibration's mesh phase.
seed: 1
duration: %s
warmup: %s
backends: [local]
topology:
  mesh: sidecar
  gateway:
    routes:
      - {name: create-payment, match: {method: POST, pathPrefix: /v1/payments}, service: payments, timeout: 2s}
  services:
    - name: payments
      replicas: 4
      concurrency: 8
      serviceTime: 4ms
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 2ms}
    - {name: fraud, replicas: 2, concurrency: 16, serviceTime: 3ms}
    - {name: ledger, replicas: 2, concurrency: 8, serviceTime: 2ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 50000}
    arrival: poisson
    rate: %d/s
`

// meshCalls is how many calls through a sidecar each request of meshPlan
// makes: risk, fraud and ledger.
const meshCalls = 3

// Mesh is the mesh phase's figures.
type Mesh struct {
	Requests int64         // requests issued in the measured window
	CPU      time.Duration // the process's CPU over the window
	Span     time.Duration // the window
}

// PerRequest is the whole mesh's CPU per request.
func (m *Mesh) PerRequest() time.Duration {
	if m == nil || m.Requests == 0 {
		return 0
	}
	return m.CPU / time.Duration(m.Requests)
}

// meshPhase runs meshPlan for d (a fifth of it warm-up) at rate.
func meshPhase(ctx context.Context, rate int, d time.Duration) (*Mesh, error) {
	warmup := d / 5
	plan, err := scenarios.LoadBytes("calibration-mesh.yaml", fmt.Appendf(nil, meshPlan, d, warmup, rate))
	if err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	sink := &meshSink{from: warmup}
	out, err := local.Backend{}.Run(ctx, bench.Job{Plan: plan, Seed: plan.Seed}, sink)
	if err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	if out.CPU == nil {
		return nil, fmt.Errorf("calibrate: mesh: no CPU measured")
	}
	if err := sink.check(); err != nil {
		return nil, fmt.Errorf("calibrate: mesh: %w", err)
	}
	return &Mesh{Requests: sink.requests, CPU: out.CPU.Used, Span: out.CPU.Span}, nil
}

// meshSink counts the requests issued after the warm-up, as the
// aggregator counts a run's.
type meshSink struct {
	from             time.Duration
	requests, failed int64
	byKind           map[bench.Kind]int64
}

func (s *meshSink) Record(r bench.Result) {
	if r.Start < s.from {
		return
	}
	s.requests++
	if r.Kind != bench.KindOK {
		s.failed++
		if s.byKind == nil {
			s.byKind = map[bench.Kind]int64{}
		}
		s.byKind[r.Kind]++
	}
}

// check refuses a mesh that measured nothing or failed more than 1% of
// its requests: a failed request costs less CPU than a served one, and a
// mesh that fails is overloaded, not the machine's steady state. The
// error lists the failures by kind: "status_5xx 12, timeout 3".
func (s *meshSink) check() error {
	if s.requests == 0 {
		return fmt.Errorf("no request after the warm-up")
	}
	if s.failed*100 <= s.requests {
		return nil
	}
	var parts []string
	for _, k := range bench.Kinds() {
		if n := s.byKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return fmt.Errorf("%d of %d requests failed (%s): calibrate on a quieter machine", s.failed, s.requests, strings.Join(parts, ", "))
}

// meshScale is the mesh's CPU per request over what the components'
// figures add up to for meshPlan's request, rounded to three decimals and
// kept within the profile's bounds; 0 (no scale) when they add up to
// nothing.
func meshScale(mesh time.Duration, c *calibration.HostCPU) float64 {
	sum := c.Client.D() + c.Gateway.D() + c.Replica.D() + meshCalls*(c.Sidecar.D()+c.Replica.D())
	if sum <= 0 {
		return 0
	}
	return math.Round(min(max(float64(mesh)/float64(sum), 0.1), 4)*1000) / 1000
}

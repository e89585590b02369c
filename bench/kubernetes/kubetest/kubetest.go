// Package kubetest stands in for what a kubernetes run's pods would serve,
// for tests on a control plane whose nodes are simulated (kwok): such pods
// become Ready but run no containers, so nothing answers at their
// addresses. InProcess runs the scenario's fleet, its mesh (the gateway and
// the sidecars, through local.StartMesh) and the load agents on loopback,
// and maps each pod the backend dials to one of them, so that a run on the
// test control plane creates, waits for and deletes the real objects while
// real requests flow and real results are merged. See docs/kubernetes.md.
package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshbench/meshbench/bench/agent"
	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// Scenario is a small scenario for runs on the test control plane: four
// services in two zones, 40 payments/s for 4 s, and a slow, a kill and a
// restart fault, so that a run exercises every kind of API operation the
// backend issues.
const Scenario = `apiVersion: meshbench/v1
kind: Scenario
name: k8s-e2e
seed: 5
duration: 4s
topology:
  gateway:
    zone: zone-a
    routes:
      - name: create-payment
        match: {method: POST, pathPrefix: /v1/payments}
        service: payments
  services:
    - name: payments
      replicas: 2
      concurrency: 8
      serviceTime: {type: constant, value: 1ms}
      zones: [zone-a, zone-b]
      calls:
        - {service: risk, parallel: true}
        - {service: fraud, parallel: true}
        - {service: ledger}
    - name: risk
      replicas: 2
      concurrency: 8
      serviceTime: {type: constant, value: 1ms}
      zones: [zone-a, zone-b]
    - name: fraud
      replicas: 1
      concurrency: 8
      serviceTime: {type: constant, value: 1ms}
      zone: zone-a
    - name: ledger
      replicas: 1
      concurrency: 8
      serviceTime: {type: constant, value: 1ms}
      zone: zone-b
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 40/s
policy:
  balancer: {type: round_robin}
  timeouts: {connect: 250ms, request: 2s}
faults:
  - {at: 1s, for: 1s, action: slow, target: "risk[0]", factor: 2}
  - {at: 1s, for: 2s, action: kill, target: "payments[1]"}
  - {at: 2s, action: restart, target: "fraud[0]"}
`

// InProcess is what the pods of a run of variant 0 of a plan would serve:
// the fleet, its mesh and the agents, on loopback. It is a
// bench/kubernetes PodDialer.
type InProcess struct {
	layout   Layout
	mesh     *local.Mesh
	replicas map[string][]string // service -> replica base URLs
	agents   []*httptest.Server
	closers  []func()

	mu       sync.Mutex
	assigned map[string]string // pod name -> base URL
	next     map[string]int
	onFirst  func()
	faults   []string // /admin/fault bodies posted, in order
}

// Layout is how the backend labels and serves its pods: the
// bench/kubernetes names (LabelService, AgentName, AgentPort, AppPort),
// given by the caller because that package's own tests use this one.
type Layout struct {
	ServiceLabel string // the pod label naming the pod's service
	AgentService string // that label's value on the load agents' pods
	AgentPort    int    // the agents' port
	AppPort      int    // the fleet's port in its pods
}

// Start starts the fleet of plan's variant 0, its mesh and agents load
// agents on loopback; t's cleanup stops them. The result serves as the
// backend's PodDialer (kubernetes.Backend.Dialer).
func Start(t testing.TB, plan *scenarios.Plan, agents int, layout Layout) *InProcess {
	t.Helper()
	p := &InProcess{layout: layout, replicas: map[string][]string{}, assigned: map[string]string{}, next: map[string]int{}}
	t.Cleanup(p.close)
	spec, err := containers.SpecFromPlan(plan, plan.Seed)
	if err != nil {
		t.Fatal(err)
	}
	lns := map[string]net.Listener{}
	eps := map[string][]discovery.Endpoint{}
	for _, r := range spec.Replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[r.Name()] = ln
		eps[r.Service] = append(eps[r.Service], discovery.Endpoint{ID: r.Name(), Address: ln.Addr().String(), Zone: r.Zone})
		p.replicas[r.Service] = append(p.replicas[r.Service], "http://"+ln.Addr().String())
	}
	p.mesh, err = local.StartMesh(context.Background(), plan, 0, plan.Seed, eps, func(string) (net.Listener, error) {
		return net.Listen("tcp", "127.0.0.1:0")
	})
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		t.Fatal(err)
	}
	p.closers = append(p.closers, func() { _ = p.mesh.Close() })
	dir := t.TempDir()
	for _, r := range spec.Replicas {
		cfg := fleet.Config{Role: fleet.Role(r.Service), Name: r.Name(), Seed: containers.ReplicaSeed(plan.Seed, r.Name()), Concurrency: 8, Queue: 100}
		if r.Service == string(fleet.RolePayments) {
			d := p.mesh.Downstream(r.Name())
			cfg.RiskURL, cfg.FraudURL, cfg.LedgerURL = d.Risk, d.Fraud, d.Ledger
		}
		if r.Service == string(fleet.RoleLedger) {
			cfg.LedgerPath = filepath.Join(dir, fmt.Sprintf("ledger-%d.db", r.Index))
			cfg.LedgerNoSync = true
		}
		svc, err := fleet.NewService(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: svc.Handler(), Protocols: fleet.ServeProtocols()}
		ln := lns[r.Name()]
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(ln) }()
		// Before the mesh: the mesh closes first (the closers run in
		// reverse), then the replicas.
		p.closers = append([]func(){func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			<-done
			_ = svc.Close()
		}}, p.closers...)
	}
	for range agents {
		s := httptest.NewServer(agent.NewServer(agent.ServerOptions{}))
		p.agents = append(p.agents, s)
		p.closers = append(p.closers, s.Close)
	}
	return p
}

// GatewayURL is the in-process gateway, the target to give the agents in
// place of the gateway Service (kubernetes.Backend.Target).
func (p *InProcess) GatewayURL() string { return p.mesh.GatewayURL() }

// OnFirst sets f to run at the first Pod call: the run has created every
// object and waited for it, and is about to start the load.
func (p *InProcess) OnFirst(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onFirst = f
}

// Faults are the /admin/fault bodies the run posted, in order.
func (p *InProcess) Faults() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.faults...)
}

func (p *InProcess) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// RoundTrip records /admin/fault bodies and forwards.
func (p *InProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/admin/fault") && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		p.faults = append(p.faults, string(body))
		p.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Pod maps a pod to what serves it here: an agent pod to an agent, a
// fleet pod to a replica of its service, each pod keeping the one it got.
func (p *InProcess) Pod(pod *corev1.Pod, port int) (string, *http.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.onFirst != nil {
		p.onFirst()
		p.onFirst = nil
	}
	client := &http.Client{Transport: p}
	if u, ok := p.assigned[pod.Name]; ok {
		return u, client, nil
	}
	svc := pod.Labels[p.layout.ServiceLabel]
	var pool []string
	switch {
	case svc == p.layout.AgentService && port == p.layout.AgentPort:
		for _, a := range p.agents {
			pool = append(pool, a.URL)
		}
	case port == p.layout.AppPort:
		pool = p.replicas[svc]
	}
	if len(pool) == 0 {
		return "", nil, fmt.Errorf("nothing serves pod %s (service %q) port %d", pod.Name, svc, port)
	}
	u := pool[p.next[svc]%len(pool)]
	p.next[svc]++
	p.assigned[pod.Name] = u
	return u, client, nil
}

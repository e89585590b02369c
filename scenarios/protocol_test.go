package scenarios

import (
	"strings"
	"testing"
)

const protocolScenario = `apiVersion: meshbench/v1
kind: Scenario
name: protocols
duration: 10s
topology:
  gateway:
    routes: [{name: pay, match: {pathPrefix: /v1/payments}, service: payments}]
  services:
    - {name: payments, replicas: 1, serviceTime: 1ms, calls: [{service: search}]}
    - {name: search, replicas: 1, serviceTime: 1ms}
load:
  - {name: pay, target: {method: POST, path: /v1/payments}, rate: 100/s}
variants:
  - {name: h1}
  - {name: grpc, protocol: grpc}
`

// TestVariantProtocol: a variant's protocol is every service's and every
// workload's in its plan, and the default is http.
func TestVariantProtocol(t *testing.T) {
	p := mustLoad(t, protocolScenario)
	h1, grpc := p.ForVariant(0), p.ForVariant(1)
	for _, s := range h1.Services {
		if s.Protocol != ProtocolHTTP || s.GRPC() {
			t.Errorf("h1: service %s speaks %q", s.Name, s.Protocol)
		}
	}
	for _, s := range grpc.Services {
		if !s.GRPC() {
			t.Errorf("grpc: service %s speaks %q", s.Name, s.Protocol)
		}
	}
	if !grpc.Load[0].GRPC() || h1.Load[0].GRPC() {
		t.Errorf("workload protocols: h1 %q, grpc %q", h1.Load[0].Protocol, grpc.Load[0].Protocol)
	}
	if p.Services[0].GRPC() || p.Load[0].GRPC() {
		t.Error("ForVariant changed the plan it was called on")
	}
	// On local, search is no fleet service with a gRPC API.
	err := grpc.CheckProtocols(BackendLocal)
	if err == nil || !strings.Contains(err.Error(), "service search: on local, protocol grpc needs one of the fleet's services") {
		t.Errorf("CheckProtocols(local) = %v", err)
	}
	if err := h1.CheckProtocols(BackendLocal); err != nil {
		t.Errorf("CheckProtocols(local) of the http variant: %v", err)
	}
}

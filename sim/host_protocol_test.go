package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// hostLatencies runs s on host h and returns each result's latency, in
// order.
func hostLatencies(t *testing.T, s *spec, h *scenarios.Host) []time.Duration {
	t.Helper()
	s.host = h
	var out []time.Duration
	for _, r := range runSpec(t, s) {
		if r.Status != 200 {
			t.Fatalf("unexpected result %+v", r)
		}
		out = append(out, r.Latency)
	}
	return out
}

// TestHostGRPCFigures: over gRPC the host charges a proxy grpcProxy in
// place of its HTTP figure and each end of a call half of grpcCall — the
// same latencies, request by request, as a host whose HTTP figures were
// those sums — and HTTP/1.1 requests ignore both. On a host of many cores
// every job runs at the speed of one, so the substitution is exact.
func TestHostGRPCFigures(t *testing.T) {
	const (
		client, gateway, sidecar, replica = 30 * time.Microsecond, 50 * time.Microsecond, 20 * time.Microsecond, 90 * time.Microsecond
		grpcProxy, grpcCall               = 140 * time.Microsecond, 300 * time.Microsecond
	)
	grpcSpec := func() *spec { return grpcOperationsSpec(500 * time.Microsecond) }
	cores := 1000
	http := scenarios.HostCPU{Client: client, Gateway: gateway, Sidecar: sidecar, Replica: replica}
	withGRPC := http
	withGRPC.GRPCProxy, withGRPC.GRPCCall = grpcProxy, grpcCall

	got := hostLatencies(t, grpcSpec(), &scenarios.Host{Cores: cores, CPU: withGRPC})
	want := hostLatencies(t, grpcSpec(), &scenarios.Host{Cores: cores, CPU: scenarios.HostCPU{
		Client: client + grpcCall/2, Gateway: grpcProxy, Sidecar: grpcProxy + grpcCall/2, Replica: replica + grpcCall/2}})
	if !slices.Equal(got, want) {
		t.Errorf("gRPC with its figures:\n got %v\nwant %v", got[:5], want[:5])
	}
	plain := hostLatencies(t, grpcSpec(), &scenarios.Host{Cores: cores, CPU: http})
	if slices.Equal(got, plain) {
		t.Error("gRPC's figures changed nothing")
	}
	if got, want := hostLatencies(t, operationsSpec(500*time.Microsecond), &scenarios.Host{Cores: cores, CPU: withGRPC}),
		hostLatencies(t, operationsSpec(500*time.Microsecond), &scenarios.Host{Cores: cores, CPU: http}); !slices.Equal(got, want) {
		t.Error("HTTP/1.1 with gRPC's figures: latencies moved")
	}
}

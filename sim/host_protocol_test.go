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
	grpcSpec := func() *spec {
		s := operationsSpec(500 * time.Microsecond)
		for i := range s.services {
			s.services[i].grpc = true
		}
		for i := range s.loads {
			s.loads[i].grpc = true
		}
		return s
	}
	cores := 1000
	http := scenarios.HostCPU{Client: client, Gateway: gateway, Sidecar: sidecar, Replica: replica}
	withGRPC := http
	withGRPC.GRPCProxy, withGRPC.GRPCCall = grpcProxy, grpcCall
	withMTLS := withGRPC
	withMTLS.MTLSProxy = 400 * time.Microsecond

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
	// Without mutual TLS in the policy, its figure is not charged either.
	if again := hostLatencies(t, grpcSpec(), &scenarios.Host{Cores: cores, CPU: withMTLS}); !slices.Equal(again, got) {
		t.Error("mtlsProxy was charged on a plain-text variant")
	}
	for _, h := range []scenarios.HostCPU{withGRPC, withMTLS} {
		if got, want := hostLatencies(t, operationsSpec(500*time.Microsecond), &scenarios.Host{Cores: cores, CPU: h}),
			hostLatencies(t, operationsSpec(500*time.Microsecond), &scenarios.Host{Cores: cores, CPU: http}); !slices.Equal(got, want) {
			t.Errorf("HTTP/1.1 with %+v: latencies moved", h)
		}
	}
}

// TestHostMTLSFigure: a variant under mutual TLS charges a proxy
// mtlsProxy, when the host gives one, in place of its plain-text figure,
// without the fixed per-try cost of the TLS records (the figure includes
// them); a plain-text variant of the same scenario keeps its figures.
func TestHostMTLSFigure(t *testing.T) {
	p := loadLibrary(t, "mtls-cost")
	p = p.WithDuration(2 * time.Second)
	p.Host = &scenarios.Host{Cores: 1000, CPU: scenarios.HostCPU{
		Client: 10 * time.Microsecond, Gateway: 20 * time.Microsecond, Sidecar: 30 * time.Microsecond, Replica: 40 * time.Microsecond,
		MTLSProxy: 500 * time.Microsecond}}
	for v, want := range map[string]struct {
		mtls bool
		gw   int64
	}{"plaintext": {false, int64(20 * time.Microsecond)}, "strict": {true, int64(500 * time.Microsecond)}} {
		i := slices.IndexFunc(p.Variants, func(x scenarios.Variant) bool { return x.Name == v })
		s, err := specFromPlan(p, i, p.Seed)
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		m, err := build(s, &c)
		if err != nil {
			t.Fatal(err)
		}
		hc := m.host.cpu
		if hc.mtls != want.mtls || hc.proxy(hc.gateway, false) != want.gw || hc.proxy(hc.sidecar, true) != max(want.gw, int64(30*time.Microsecond)) {
			t.Errorf("%s: mutual TLS %v, gateway %d, sidecar %d", v, hc.mtls, hc.proxy(hc.gateway, false), hc.proxy(hc.sidecar, true))
		}
	}
	// End to end: the records' fixed cost goes when the figure is given.
	run := func(h scenarios.HostCPU) (mean float64) {
		q := *p
		q.Host = &scenarios.Host{Cores: 1000, CPU: h}
		i := slices.IndexFunc(q.Variants, func(x scenarios.Variant) bool { return x.Name == "strict" })
		s, err := specFromPlan(&q, i, q.Seed)
		if err != nil {
			t.Fatal(err)
		}
		rs := runSpec(t, s)
		var n int
		for _, r := range rs {
			if r.OK() {
				mean += r.Latency.Seconds()
				n++
			}
		}
		return mean / float64(n)
	}
	base := scenarios.HostCPU{Gateway: 20 * time.Microsecond, Sidecar: 20 * time.Microsecond}
	figure := base
	figure.MTLSProxy = 20 * time.Microsecond
	// The same proxy CPU either way; the figure drops TLSRequestCost on
	// each of a checkout's four tries.
	if a, b := run(base), run(figure); a-b < 3*TLSRequestCost.Seconds() || a-b > 5*TLSRequestCost.Seconds() {
		t.Errorf("mean latency %.6fs without the figure, %.6fs with it: want about 4 × %v apart", a, b, TLSRequestCost)
	}
}

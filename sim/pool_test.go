package sim

import (
	"math"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// poolSpec is fleetSpec behind a gateway whose cluster has circuit
// breaking thresholds of maxConns connections and maxPending pending
// requests; the service speaks gRPC when grpc is set.
func poolSpec(maxConns, maxPending int, grpc bool) *spec {
	s := fleetSpec(2, 64, 10*time.Millisecond, 400, 30*time.Second, scenarios.BalancerRoundRobin)
	s.services[0].grpc = grpc
	s.policy.CircuitBreaker = &scenarios.CircuitBreaker{
		FailureRatio: 1, MinRequests: 1 << 20, Window: 10 * time.Second, Buckets: 10, SleepWindow: 5 * time.Second, HalfOpenProbes: 1,
		MaxConnections: maxConns, MaxPending: maxPending, MaxRequests: 1024, MaxRetries: 3,
	}
	return s
}

func overflowShare(rs []bench.Result) float64 {
	n := 0
	for _, r := range rs {
		if r.Kind == bench.KindBreakerOpen {
			n++
		} else if r.Kind != bench.KindOK {
			return math.NaN()
		}
	}
	return float64(n) / float64(len(rs))
}

// TestPoolHTTP1BoundsConcurrency: over HTTP/1.1 a try holds a connection,
// so 2 connections and 3 pending places make the cluster an M/M/2/5 loss
// system; at an offered load of 4 Erlangs it refuses 64/125 of the tries
// (Erlang's formula with waiting room). The same thresholds over HTTP/2
// refuse nothing: streams share the connections.
func TestPoolHTTP1BoundsConcurrency(t *testing.T) {
	h1 := overflowShare(runSpec(t, poolSpec(2, 3, false)))
	if want := 64.0 / 125; math.Abs(h1-want) > 0.02 {
		t.Errorf("HTTP/1.1 overflow share %.4f, want M/M/2/5's %.4f", h1, want)
	}
	if h2 := overflowShare(runSpec(t, poolSpec(2, 3, true))); h2 != 0 {
		t.Errorf("HTTP/2 overflow share %.4f, want none: streams are not bounded by max_connections", h2)
	}
}

// TestPoolHTTP2BoundsEndpoints: over HTTP/2, max_connections bounds the
// endpoints the proxy holds a connection to: with one connection and two
// replicas balanced round robin, every try to the second replica is
// refused.
func TestPoolHTTP2BoundsEndpoints(t *testing.T) {
	if got := overflowShare(runSpec(t, poolSpec(1, 1024, true))); math.Abs(got-0.5) > 0.01 {
		t.Errorf("overflow share %.4f, want 0.5", got)
	}
}

// TestLibraryGRPCVsHTTP: in the shipped grpc-vs-http scenario the
// connection limits refuse some HTTP/1.1 requests in the burst and no
// gRPC ones, and HTTP/1.1's tail is the longer.
func TestLibraryGRPCVsHTTP(t *testing.T) {
	p := loadLibrary(t, "grpc-vs-http")
	byName := map[string]summary{}
	for v := range p.Variants {
		rs := runBackend(t, p, v)
		byName[p.Variants[v].Name] = summarize(rs, p.Warmup)
		if v == 0 && overflowShare(rs) == 0 {
			t.Errorf("http1: no overflow in the burst")
		}
		if v == 1 && overflowShare(rs) != 0 {
			t.Errorf("grpc: overflow share %.4f, want none", overflowShare(rs))
		}
	}
	t.Logf("http1 %s; grpc %s", byName["http1"], byName["grpc"])
	if h1, h2 := byName["http1"].p99, byName["grpc"].p99; h1 <= h2 {
		t.Errorf("p99 over HTTP/1.1 %s, over gRPC %s: want waiting for connections to show in the tail", h1, h2)
	}
}

package sim

import (
	"context"
	"github.com/meshbench/meshbench/bench/consumer"
	"slices"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

// tlsSpec is one request at a time (10/s, evenly spaced, 1ms of service)
// to two replicas balanced round robin over a zero-latency network, with
// mutual TLS renewed every rotateEvery (no mTLS when mode is "").
func tlsSpec(mode string, rotateEvery time.Duration) *spec {
	s := fleetSpec(2, 4, 0, 10, 10*time.Second, scenarios.BalancerRoundRobin)
	s.services[0].serviceTime = constDist(time.Millisecond)
	s.loads[0].poisson = false
	if mode != "" {
		s.policy.Security = &scenarios.Security{MTLS: &scenarios.MTLS{Mode: mode, CertTTL: time.Hour, RotateEvery: rotateEvery}}
	}
	return s
}

// runModel runs s and returns its results and the model, for its clusters.
func runModel(t *testing.T, s *spec) ([]bench.Result, *model) {
	t.Helper()
	var c collector
	m, err := build(s, &c)
	if err != nil {
		t.Fatal(err)
	}
	m.start()
	if _, err := m.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return c.rs, m
}

// TestHopCostNoneWithoutMTLS: without a security block, or with mode
// DISABLE, no cluster models connections and the results are the same,
// record for record.
func TestHopCostNoneWithoutMTLS(t *testing.T) {
	plain, m := runModel(t, tlsSpec("", 0))
	for _, c := range m.clusters {
		if c.tls != nil {
			t.Fatalf("cluster %s models connections without mTLS", c.name)
		}
	}
	disabled, _ := runModel(t, tlsSpec(scenarios.MTLSDisable, time.Second))
	if !slices.Equal(plain, disabled) {
		t.Error("mode DISABLE changed the results")
	}
	if plain[0].Latency != time.Millisecond {
		t.Errorf("latency %v without mTLS, want the service time", plain[0].Latency)
	}
}

// TestHandshakePerNewConnection: with one request at a time, each of the
// two endpoints gets one connection, handshaken once and then reused: two
// handshakes in the run. The first request to each endpoint pays the
// handshake and the records, the others the records only.
func TestHandshakePerNewConnection(t *testing.T) {
	rs, m := runModel(t, tlsSpec(scenarios.MTLSStrict, 0))
	if got := m.clusters[0].tls.handshakes; got != 2 {
		t.Errorf("%d handshakes, want 2 (one connection per endpoint)", got)
	}
	first := time.Millisecond + HandshakeCost + TLSRequestCost
	reused := time.Millisecond + TLSRequestCost
	for i, r := range rs {
		want := reused
		if i < 2 {
			want = first
		}
		if r.Latency != want {
			t.Fatalf("request %d: latency %v, want %v", i, r.Latency, want)
		}
	}
}

// TestRotationAddsHandshakes: a renewal closes the idle connections, so
// each endpoint handshakes once per renewal period it is used in: ten
// periods of a second in ten seconds, two endpoints, twenty handshakes.
// PERMISSIVE costs the same: the proxies still speak mutual TLS.
func TestRotationAddsHandshakes(t *testing.T) {
	for _, mode := range []string{scenarios.MTLSStrict, scenarios.MTLSPermissive} {
		rs, m := runModel(t, tlsSpec(mode, time.Second))
		if got := m.clusters[0].tls.handshakes; got != 20 {
			t.Errorf("%s: %d handshakes, want 20", mode, got)
		}
		slow := 0
		for _, r := range rs {
			if r.Latency > time.Millisecond+TLSRequestCost {
				slow++
			}
		}
		if slow != 20 {
			t.Errorf("%s: %d requests paid a handshake, want 20", mode, slow)
		}
	}
}

// TestBusyConnectionSurvivesRenewal: a connection carrying a try when the
// certificates are renewed is not idle then, and goes back to the pool
// when its answer comes.
func TestBusyConnectionSurvivesRenewal(t *testing.T) {
	c := newConns(&tlsSpec(scenarios.MTLSStrict, time.Second).policy, clusterConfigHTTP1(), []*replica{{}})
	c.idle[0] = 3
	c.renew(int64(time.Second)) // the renewal closes the three idle ones
	if c.idle[0] != 0 {
		t.Fatalf("%d idle connections after a renewal", c.idle[0])
	}
	c.renew(int64(1500 * time.Millisecond))
	c.idle[0]++ // a busy one comes back within the period
	c.renew(int64(1900 * time.Millisecond))
	if c.idle[0] != 1 {
		t.Errorf("%d idle connections, want the one that came back", c.idle[0])
	}
}

// TestJWTVerifyCost: a route with auth type jwt adds the verification of
// its token to each request's first try, and nothing else changes.
func TestJWTVerifyCost(t *testing.T) {
	s := tlsSpec("", 0)
	s.gateway.routes[0].auth = &authSpec{typ: scenarios.AuthJWT}
	w := scenarios.Workload{Name: "load", Consumers: &scenarios.Consumers{Count: 4, Identity: scenarios.IdentityJWT}}
	s.loads[0].consumers = consumer.ForPlan([]scenarios.Workload{w}, 1)[0] // signed tokens, which the route accepts
	rs, _ := runModel(t, s)
	for i, r := range rs {
		if want := time.Millisecond + JWTVerifyCost; r.Latency != want {
			t.Fatalf("request %d: latency %v, want %v", i, r.Latency, want)
		}
	}
}

func clusterConfigHTTP1() config.ClusterConfig {
	return config.ClusterConfig{Name: "svc", Protocol: config.ProtocolHTTP1}
}

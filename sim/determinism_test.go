package sim

import (
	"bytes"
	"encoding/json"
	"github.com/meshbench/meshbench/scenarios"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/proxy/retry"
	"pgregory.net/rapid"
)

// TestDeterminism: the same plan and seed give the identical result stream,
// in the same order; another seed gives another.
func TestDeterminism(t *testing.T) {
	for _, name := range []string{"retry-storm", "zone-failure", "hedging-tail", "gateway-burst"} {
		t.Run(name, func(t *testing.T) {
			p := loadLibrary(t, name)
			p = p.WithDuration(p.Duration / size(4, 16))
			for v := range p.Variants {
				a := runBackend(t, p, v)
				b := runBackend(t, p, v)
				if !slices.Equal(a, b) {
					t.Fatalf("variant %s: two runs with seed %d differ", p.Variants[v].Name, p.Seed)
				}
				c := runBackend(t, p.WithSeed(p.Seed+1), v)
				if slices.Equal(a, c) {
					t.Fatalf("variant %s: seeds %d and %d gave the same stream", p.Variants[v].Name, p.Seed, p.Seed+1)
				}
			}
		})
	}
}

// TestCommonRandomNumbers: variants that differ only in policy see the same
// arrivals, because every component draws from its own stream.
func TestCommonRandomNumbers(t *testing.T) {
	p := loadLibrary(t, "balancer-brownout")
	p = p.WithDuration(p.Duration / 8)
	starts := func(v int) []time.Duration {
		var out []time.Duration
		for _, r := range runBackend(t, p, v) {
			out = append(out, r.Start)
		}
		slices.Sort(out)
		return out
	}
	if a, b := starts(0), starts(1); !slices.Equal(a, b) {
		t.Fatalf("variants saw different arrivals: %d vs %d requests", len(a), len(b))
	}
}

// TestInvariants drives random fleets, policies and faults and checks what
// must always hold: one result per request, issued within the run, answered
// after it was issued, retries within the policy, a status for every answer.
func TestInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := randomSpec(t)
		var c collector
		m, err := build(s, &c)
		if err != nil {
			t.Fatal(err)
		}
		m.start()
		if _, err := m.run(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if int64(len(c.rs)) != m.issued {
			t.Fatalf("%d results for %d requests", len(c.rs), m.issued)
		}
		if m.inflight != 0 {
			t.Fatalf("%d requests still in flight", m.inflight)
		}
		hop := s.network.latency.Sample(nil)
		maxRetries := 0
		if s.policy.Retries != nil {
			maxRetries = s.policy.Retries.Attempts - 1
		}
		for _, r := range c.rs {
			if r.Start < 0 || r.Start >= s.duration || r.Latency < 0 {
				t.Fatalf("result out of range: %+v", r)
			}
			if int(r.Retries) > maxRetries {
				t.Fatalf("%d retries, policy allows %d", r.Retries, maxRetries)
			}
			if r.Status == 0 || (r.OK() != (bench.KindFromStatus(r.Status) == bench.KindOK)) {
				t.Fatalf("inconsistent status and kind: %+v", r)
			}
			// The gateway answers by the request timeout, whatever happens
			// behind it; the client adds its two hops.
			if limit := s.policy.Timeouts.Request + 2*hop; r.Latency > limit {
				t.Fatalf("answered after %v, past the request timeout %v and two hops", r.Latency, s.policy.Timeouts.Request)
			}
		}
	})
}

func randomSpec(t *rapid.T) *spec {
	dur := time.Duration(rapid.IntRange(1, 4).Draw(t, "seconds")) * time.Second
	lb := rapid.SampledFrom([]string{"round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev"}).Draw(t, "balancer")
	s := fleetSpec(rapid.IntRange(1, 6).Draw(t, "replicas"), rapid.IntRange(1, 4).Draw(t, "workers"),
		time.Duration(rapid.IntRange(1, 20).Draw(t, "serviceMs"))*time.Millisecond,
		float64(rapid.IntRange(10, 2000).Draw(t, "rate")), dur, lb)
	s.seed = rapid.Uint64().Draw(t, "seed")
	s.services[0].queue = rapid.IntRange(0, 50).Draw(t, "queue")
	s.services[0].errorRate = rapid.Float64Range(0, 0.3).Draw(t, "errorRate")
	s.services[0].zones = []string{"a", "b"}
	s.network.latency = constDist(time.Duration(rapid.IntRange(0, 2000).Draw(t, "latencyUs")) * time.Microsecond)
	s.network.loss = rapid.Float64Range(0, 0.05).Draw(t, "loss")
	s.policy.Timeouts.Request = time.Duration(rapid.IntRange(20, 1000).Draw(t, "timeoutMs")) * time.Millisecond
	s.policy.Timeouts.Connect = time.Duration(rapid.IntRange(0, 100).Draw(t, "connectMs")) * time.Millisecond
	if rapid.Bool().Draw(t, "calls") {
		s.services = append(s.services, serviceSpec{name: "down", replicas: 2, concurrency: 2, queue: 5, serviceTime: expDist{time.Millisecond}, errorRate: 0.05})
		s.services[0].calls = [][]string{{"down", "down"}, {"down"}}
	}
	if rapid.Bool().Draw(t, "retries") {
		s.policy.Retries = &scenarios.Retries{
			Attempts:      rapid.IntRange(1, 4).Draw(t, "attempts"),
			RetryOn:       []string{retry.On5xx, retry.OnReset, retry.OnConnectFailure},
			PerTryTimeout: time.Duration(rapid.IntRange(0, 100).Draw(t, "perTryMs")) * time.Millisecond,
		}
		if rapid.Bool().Draw(t, "hedge") {
			s.policy.Retries.Hedging = &scenarios.Hedging{Delay: 5 * time.Millisecond, MaxHedges: 2}
		}
	}
	if rapid.Bool().Draw(t, "outlier") {
		s.policy.OutlierDetection = &scenarios.OutlierDetection{Interval: 200 * time.Millisecond, BaseEjectionTime: 500 * time.Millisecond,
			MaxEjectionPercent: 50, Consecutive5xx: 5}
	}
	if rapid.Bool().Draw(t, "breaker") {
		s.policy.CircuitBreaker = &scenarios.CircuitBreaker{FailureRatio: 0.5, MinRequests: 10, Window: time.Second,
			SleepWindow: 200 * time.Millisecond, MaxRequests: 50, MaxRetries: 3}
	}
	if rapid.Bool().Draw(t, "health") {
		s.policy.HealthCheck = &scenarios.HealthCheck{Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond}
	}
	actions := []string{faultKill, faultRestart, faultPause, faultSlow, faultErrors, faultLatency, faultPartition}
	for range rapid.IntRange(0, 4).Draw(t, "faults") {
		f := faultSpec{
			at:       time.Duration(rapid.Int64Range(0, int64(dur)).Draw(t, "at")),
			dur:      time.Duration(rapid.Int64Range(0, int64(dur)).Draw(t, "for")),
			action:   rapid.SampledFrom(actions).Draw(t, "action"),
			factor:   5,
			rate:     0.5,
			status:   503,
			add:      constDist(10 * time.Millisecond),
			downtime: 100 * time.Millisecond,
		}
		if rapid.Bool().Draw(t, "zoneTarget") {
			f.target = targetSpec{zone: "a"}
		} else {
			f.target = targetSpec{service: "svc", index: rapid.IntRange(-1, s.services[0].replicas-1).Draw(t, "index")}
		}
		s.faults = append(s.faults, f)
	}
	return s
}

var registerOnce sync.Once

// TestSummaryReproducible runs a library scenario end to end through
// bench.Run twice (all variants, concurrently, as the CLI does) and expects
// byte-identical summary.json.
func TestSummaryReproducible(t *testing.T) {
	registerOnce.Do(func() { bench.Register(Backend{}) })
	p := loadLibrary(t, "replica-crash")
	p = p.WithDuration(p.Duration / size(2, 8))
	marshal := func() []byte {
		sum, err := bench.Run(t.Context(), p, bench.RunOptions{Backends: []string{"sim"}, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		b, err := sum.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := marshal(), marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("two runs gave different summaries")
	}
	var sum bench.Summary
	if err := json.Unmarshal(a, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != len(p.Variants) || sum.Partial {
		t.Fatalf("%d runs (partial %v), want %d", len(sum.Runs), sum.Partial, len(p.Variants))
	}
	for _, r := range sum.Runs {
		if r.Requests == 0 || r.Error != "" {
			t.Fatalf("run %s: %d requests, error %q", r.Variant, r.Requests, r.Error)
		}
	}
}

package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// expDist and constDist are the test suite's own distributions, so the model
// tests depend on nothing but the policy packages.
type expDist struct{ mean time.Duration }

func (d expDist) Sample(r *rand.Rand) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(d.mean))
}

type constDist time.Duration

func (d constDist) Sample(*rand.Rand) time.Duration { return time.Duration(d) }
func (d constDist) Quantile(float64) time.Duration  { return time.Duration(d) }

// collector keeps every result.
type collector struct{ rs []bench.Result }

func (c *collector) Record(r bench.Result) { c.rs = append(c.rs, r) }

// fleetSpec is a gateway in front of one service with a Poisson load and a
// zero-latency network: the shape of the queueing-theory tests.
func fleetSpec(replicas, workers int, serviceMean time.Duration, rate float64, dur time.Duration, lb string) *spec {
	return &spec{
		seed:     1,
		duration: dur,
		gateway: gatewaySpec{routes: []routeSpec{{
			name: "all", match: mustMatch(scenarios.Match{PathPrefix: "/"}), service: "svc",
		}}},
		services: []serviceSpec{{
			name: "svc", replicas: replicas, concurrency: workers, queue: 1 << 30,
			serviceTime: expDist{serviceMean},
		}},
		loads: []loadSpec{{
			name: "load", path: "/", poisson: true,
			shape: rateShape{kind: shapeConstant, rate: rate},
		}},
		policy: scenarios.Policy{Balancer: scenarios.Balancer{Type: lb}, Timeouts: scenarios.Timeouts{Request: time.Hour}},
	}
}

func runSpec(t testing.TB, s *spec) []bench.Result {
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
	return c.rs
}

// latencyStats returns the mean and the 99th percentile, in seconds, of the
// latencies of results that started at or after from.
func latencyStats(rs []bench.Result, from time.Duration) (mean, p99 float64, n int) {
	var lat []float64
	for _, r := range rs {
		if r.Start >= from {
			lat = append(lat, r.Latency.Seconds())
		}
	}
	sort.Float64s(lat)
	var sum float64
	for _, x := range lat {
		sum += x
	}
	if len(lat) == 0 {
		return 0, 0, 0
	}
	return sum / float64(len(lat)), lat[int(math.Ceil(0.99*float64(len(lat))))-1], len(lat)
}

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

// mustMatch compiles a route match for specs built by hand.
func mustMatch(m scenarios.Match) *scenarios.Matcher {
	mt, err := m.Compile()
	if err != nil {
		panic(err)
	}
	return mt
}

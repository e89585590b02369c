package measure

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/meshbench/meshbench/bench"
	loadgen "github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/scenarios"
)

// The client phase is sent by the load generator itself (bench/load, as a
// run's open-loop workload sends): its pacer, its hand-off to workers, its
// requests built per send with the run's headers, and vegeta's client. Each
// request's latency is recorded from its actual send (latency − lag, so
// that `client` stays a service latency, as every phase's is), and its
// schedule lag beside it: how late after its intended send time a worker
// began sending it, which a real backend's latency includes (it counts
// from the intended time) and no other phase measures.

// generatorPlan is a one-workload plan that offers n requests' worth of the
// risk call at rate per second (Poisson arrivals, the scenarios' default)
// to a gateway route of one service, which is all load.Run needs to send.
func generatorPlan(rate, n int) (*scenarios.Plan, error) {
	d := time.Duration(float64(n) / float64(rate) * float64(time.Second)).Round(time.Millisecond)
	yaml := `apiVersion: meshbench/v1
kind: Scenario
name: calibrate-client
duration: ` + max(d, time.Millisecond).String() + `
topology:
  gateway:
    routes:
      - {name: risk, service: risk}
  services:
    - {name: risk, replicas: 1, serviceTime: 1ms}
load:
  - name: client
    target:
      method: POST
      path: ` + reqPath + `
      headers: {Content-Type: application/json}
      body: '` + reqBody + `'
    rate: ` + strconv.Itoa(rate) + `/s
`
	return scenarios.LoadBytes("calibrate-client.yaml", []byte(yaml))
}

// generatorSink keeps a phase's latencies (from the actual send) and lags.
type generatorSink struct {
	mu       sync.Mutex
	lat, lag *hdrhistogram.Histogram // nil: not kept (warm-up)
	n, bad   int
	kind     bench.Kind // of the first failure
}

func (s *generatorSink) Record(r bench.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if !r.OK() {
		if s.bad == 0 {
			s.kind = r.Kind
		}
		s.bad++
		return
	}
	if s.lat != nil {
		record(s.lat, r.Latency-r.Lag)
		record(s.lag, r.Lag)
	}
}

// generatorLoad sends about n requests to addr with the load generator at
// rate per second, recording each latency from its actual send in lat and
// its schedule lag in lag (both nil: recorded nowhere, a warm-up). It
// returns how many requests it sent and how many failed.
func generatorLoad(ctx context.Context, addr string, rate, n int, lat, lag *hdrhistogram.Histogram) (sent, bad int, err error) {
	plan, err := generatorPlan(rate, n)
	if err != nil {
		return 0, 0, fmt.Errorf("load generator plan: %w", err)
	}
	sink := &generatorSink{lat: lat, lag: lag}
	if _, err := loadgen.Run(ctx, loadgen.Config{
		Target:  "http://" + addr,
		Plan:    plan,
		Seed:    uint64(n),
		Attack:  "calibrate/client",
		Timeout: 10 * time.Second,
		Sink:    sink,
	}); err != nil {
		return sink.n, sink.bad, err
	}
	if sink.bad*100 > sink.n {
		return sink.n, sink.bad, fmt.Errorf("%d of %d requests failed (the first: %s)", sink.bad, sink.n, sink.kind)
	}
	return sink.n, sink.bad, nil
}

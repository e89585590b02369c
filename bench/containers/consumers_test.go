package containers

import (
	"context"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// consumersScenario sends two workloads of JWT consumers through the
// gateway (bench/local's, on the host) to the fleet in containers: quiet
// with a share of bad tokens, noisy with one valid token, under a limit
// per client address.
const consumersScenario = `apiVersion: meshbench/v1
kind: Scenario
name: containers-consumers
description: Do consumers' tokens and addresses reach the gateway in front of containers?
seed: 5
duration: 4s
backends: [containers]
topology:
  gateway:
    routes:
      - {name: pay, match: {method: POST, path: /v1/payments}, service: payments, auth: {type: jwt, issuer: https://issuer.test, audience: payments}}
  services:
    - {name: payments, replicas: 1, concurrency: 16, serviceTime: 1ms,
       calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]}
    - {name: risk, replicas: 1, concurrency: 16, serviceTime: 1ms}
    - {name: fraud, replicas: 1, concurrency: 16, serviceTime: 1ms}
    - {name: ledger, replicas: 1, concurrency: 16, serviceTime: 1ms}
load:
  - name: quiet
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 40/s
    consumers: {count: 4, identity: jwt, badCredentials: {expired: 20%, unsigned: 20%}}
  - name: noisy
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 60/s
    consumers: {count: 1, identity: jwt}
policy:
  timeouts: {request: 5s}
  rateLimit: {type: token_bucket, rate: 20/s, burst: 5, key: client_ip}
`

// TestConsumersOnContainers: the run's bad tokens are refused 401 and the
// per-address limit counts each consumer's own address, so the noisy one
// is limited and the quiet ones are not; the 401s and 429s are all the
// refusals there are.
func TestConsumersOnContainers(t *testing.T) {
	requireDocker(t)
	t.Parallel()
	plan, err := scenarios.LoadBytes("containers-consumers.yaml", []byte(consumersScenario))
	if err != nil {
		t.Fatal(err)
	}
	b := Backend{runID: "test-" + NewRunID(), image: testImage(t)}
	var got results
	if _, err := b.Run(context.Background(), bench.Job{Plan: plan, Seed: plan.Seed}, &got); err != nil {
		t.Fatal(err)
	}
	kinds := map[bench.Kind]int{}
	for _, r := range got.all {
		kinds[r.Kind]++
	}
	t.Logf("%d results: %v", len(got.all), kinds)
	// Quiet: 40% of 160 bad → ~64 refused 401. Noisy: 240 at 60/s under
	// 20/s → ~150 limited; quiet's 6/s per address never is.
	n401, n429 := kinds[bench.KindStatus4xx], kinds[bench.KindStatus429]
	if n401 < 35 || n401 > 100 {
		t.Errorf("%d refused 401, want about 64", n401)
	}
	if n429 < 90 || n429 > 200 {
		t.Errorf("%d limited, want about 150 (the noisy consumer's excess)", n429)
	}
	if kinds[bench.KindOK] < 150 {
		t.Errorf("%d ok, want quiet's good tokens and noisy's 20/s", kinds[bench.KindOK])
	}
}

package local

import (
	"sync"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// collect is a sink that keeps every result.
type collect struct {
	mu sync.Mutex
	rs []bench.Result
}

func (c *collect) Record(r bench.Result) {
	c.mu.Lock()
	c.rs = append(c.rs, r)
	c.mu.Unlock()
}

func (c *collect) kinds() map[bench.Kind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[bench.Kind]int{}
	for _, r := range c.rs {
		m[r.Kind]++
	}
	return m
}

func loadPlan(t *testing.T, src string) *scenarios.Plan {
	t.Helper()
	p, err := scenarios.LoadBytes(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// paymentFleet is the topology most tests use: payments calling risk and
// fraud in parallel, then ledger.
const paymentFleet = `
    - name: payments
      replicas: 3
      concurrency: 16
      serviceTime: 2ms
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms}
    - {name: fraud, replicas: 2, concurrency: 16, serviceTime: 1ms}
    - {name: ledger, replicas: 2, concurrency: 16, serviceTime: 1ms}
`

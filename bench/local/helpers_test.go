package local

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// eachResult decodes the run folder's results.bin (one vegeta stream for
// every run) and calls f for each result in order.
func eachResult(t *testing.T, dir string, f func(vegeta.Result)) {
	t.Helper()
	file, err := os.Open(filepath.Join(dir, bench.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	dec := vegeta.NewDecoder(file)
	for {
		var r vegeta.Result
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("decode results.bin: %v", err)
		}
		f(r)
	}
}

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

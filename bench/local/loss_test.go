package local

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
)

// echoes dials the hop, sends one line and reports whether it came back
// before the deadline, then sends a second one on the same connection and
// reports whether that came back too.
func echoes(t *testing.T, addr string, wait time.Duration) (first, second bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return false, false
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	try := func(line string) bool {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			return false
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		got, err := rd.ReadString('\n')
		return err == nil && got == line+"\n"
	}
	first = try("first")
	second = try("second")
	return first, second
}

// TestDelayToxicLoses: a hop with loss loses about that share of the
// messages crossing it, and a connection that lost one carries nothing
// after it (its caller finds out by its timeout, as in the simulator).
func TestDelayToxicLoses(t *testing.T) {
	n := newNetwork()
	defer n.close()
	lossy, err := n.add("gw", "", &replica{name: "echo[0]", addr: echoServer(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	const loss = 0.3
	for _, tx := range []toxic{delayToxicFor("hop_up", "upstream", nil, loss), delayToxicFor("hop_down", "downstream", nil, 0)} {
		if err := lossy.addToxic(tx); err != nil {
			t.Fatal(err)
		}
	}
	const conns = 200
	var (
		mu              sync.Mutex
		arrived, second int
		wg              sync.WaitGroup
	)
	for range conns {
		wg.Go(func() {
			f, s := echoes(t, lossy.addr, time.Second)
			mu.Lock()
			defer mu.Unlock()
			if f {
				arrived++
			} else if s {
				t.Error("a connection carried a message after losing one")
			}
			if s {
				second++
			}
		})
	}
	wg.Wait()
	// Each message is lost with probability 0.3: 70% of the first ones
	// arrive, 49% of the second ones (3.5 standard deviations of slack).
	if got := float64(arrived) / conns; got < 0.7-0.12 || got > 0.7+0.12 {
		t.Errorf("%d of %d first messages arrived (%.2f), want about 0.70", arrived, conns, got)
	}
	if got := float64(second) / conns; got < 0.49-0.13 || got > 0.49+0.13 {
		t.Errorf("%d of %d second messages arrived (%.2f), want about 0.49", second, conns, got)
	}
}

// weightsAndLoss is the payment fleet with a canary: payments' third
// replica weighs 1 of 10. The loss variant loses 2% of the messages on
// every hop of the mesh.
const weightsAndLoss = `apiVersion: meshbench/v1
kind: Scenario
name: weights-and-loss
seed: 5
duration: 3s
backends: [local]
topology:
  gateway:
    routes:
      - {name: create-payment, match: {method: POST, path: /v1/payments}, service: payments}
  services:
    - name: payments
      replicas: 3
      concurrency: 16
      serviceTime: 2ms
      weights: [6, 3, 1]
      calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]
    - {name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms}
    - {name: fraud, replicas: 2, concurrency: 16, serviceTime: 1ms}
    - {name: ledger, replicas: 2, concurrency: 16, serviceTime: 1ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 100/s
policy:
  balancer: {type: weighted_round_robin}
  timeouts: {request: 1s}
`

// TestReplicaWeightsLocal: the gateway sends payments' replicas their
// weights' shares of the load.
func TestReplicaWeightsLocal(t *testing.T) {
	// A generous timeout: a busy machine shows as latency, not errors.
	plan := loadPlan(t, strings.Replace(weightsAndLoss, "request: 1s", "request: 10s", 1))
	sink := &collect{}
	if _, err := (Backend{}).Run(context.Background(), bench.Job{Plan: plan.ForVariant(0), Seed: 1}, sink); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range sink.rs {
		count[r.Instance]++
	}
	t.Logf("%d requests, per instance %v, kinds %v", len(sink.rs), count, sink.kinds())
	for i, want := range []float64{0.6, 0.3, 0.1} {
		name := []string{"payments[0]", "payments[1]", "payments[2]"}[i]
		if got := float64(count[name]) / float64(len(sink.rs)); got < want-0.05 || got > want+0.05 {
			t.Errorf("%s answered %.3f of the requests, want %.2f", name, got, want)
		}
	}
}

// TestNetworkLossLocal: with loss on every hop of the mesh, some requests
// time out (their request or answer was lost on a hop, and no retry was
// allowed), as in the simulator; without it, none does.
func TestNetworkLossLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("toxiproxy network test: several seconds")
	}
	plan := loadPlan(t, weightsAndLoss+"network: {loss: 0.02}\n")
	sink := &collect{}
	out, err := (Backend{}).Run(context.Background(), bench.Job{Plan: plan, Seed: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	kinds := sink.kinds()
	t.Logf("%d requests, kinds %v, audit %+v", len(sink.rs), kinds, out.Audit)
	// Four hops a checkout (gateway→payments, payments→risk, fraud,
	// ledger), each lost either way with p=0.02: about 15% of the
	// requests lose a message, and more time out as the stuck ones hold
	// payments' workers for the timeout (TestDelayToxicLoses measures the
	// loss itself).
	timeouts := float64(kinds[bench.KindTimeout]) / float64(len(sink.rs))
	if timeouts < 0.05 {
		t.Errorf("%.3f of the requests timed out, want at least the 15%% that lose a message", timeouts)
	}
	if kinds[bench.KindOK] == 0 {
		t.Error("no request succeeded")
	}
}

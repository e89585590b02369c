package measure

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshbench/meshbench/bench/calibration"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// TestLocalTiny runs every phase on a tiny bounded load and checks that
// it measured something and makes a valid profile. It asserts no speed:
// only that latencies and CPU are positive where they must be.
func TestLocalTiny(t *testing.T) {
	cfg := Config{Rate: 200, Requests: 40, Rounds: 2, Workers: 2, Warmup: 5, ServiceTime: 200 * time.Microsecond}
	res, err := Local(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, ph := range res.Phases {
		if ph.Requests != 40 || ph.Hist.TotalCount() != 40 || len(ph.Rounds) != 2 {
			t.Errorf("%s: %d requests, %d recorded, %d rounds", name, ph.Requests, ph.Hist.TotalCount(), len(ph.Rounds))
		}
		if quantile(ph.Hist, 0.5) <= 0 {
			t.Errorf("%s: no latency", name)
		}
	}
	if q := quantile(res.Phases["direct"].Hist, 0.5); q < cfg.ServiceTime {
		t.Errorf("direct p50 %v below the service time %v", q, cfg.ServiceTime)
	}
	if res.Local.Replica.Mean.D() <= 0 || res.Local.Replica.P99.D() <= 0 {
		t.Errorf("replica beyond its service time: %+v", res.Local.Replica.Quantiles())
	}
	if res.Phases["direct"].CPU <= 0 {
		t.Error("no CPU measured")
	}
	p := &calibration.Profile{
		Schema:   calibration.Schema,
		Machine:  calibration.ThisMachine(),
		Measured: calibration.Measured{Requests: 40, Rate: 200, ServiceTime: *calibration.D(cfg.ServiceTime)},
		Backends: calibration.Backends{Local: res.Local},
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calibration.Parse("measured.yaml", b); err != nil {
		t.Fatalf("the measured profile does not load: %v\n%s", err, b)
	}
}
